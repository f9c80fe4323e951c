// The Workers build in real workerd, through Miniflare: the esbuild bundle of server/worker/index.ts with an
// R2 bucket seeded from media/.
import type { Readable } from 'node:stream';
import { Miniflare, type RequestInit as MiniflareRequestInit } from 'miniflare';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { testEnv, type StartTarget } from './targets.ts';
import { RSA_KEY_PAIR_ID, fixtureKey } from './fixtures.ts';

import { buildWorker } from '../../scripts/build-worker.mjs';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

/**
 * The Worker in workerd with its R2 bucket seeded from `mediaDir` (the demo media by default); `assets`: the player
 * page as Workers static assets, as wrangler.toml binds it (player/dist, built by `npm run build`).
 */
export async function startWorkerd(
  bindings: Record<string, string>,
  mediaDir = join(REPO_ROOT, 'media'),
  options: { assets?: boolean } = {},
): Promise<Miniflare> {
  const scriptPath = await buildWorker(join(mkdtempSync(join(tmpdir(), 'hls-gate-worker-')), 'index.js'));
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: dirname(scriptPath),
    compatibilityDate: '2026-04-01',
    r2Buckets: ['MEDIA'],
    bindings,
    ...(options.assets
      ? {
          assets: {
            directory: join(REPO_ROOT, 'player/dist'),
            binding: 'ASSETS',
            routerConfig: { has_user_worker: true },
          },
        }
      : {}),
    handleRuntimeStdio: (out: Readable, err: Readable) => {
      out.resume();
      err.pipe(process.stderr);
    },
  });
  await mf.ready;
  const bucket = await mf.getR2Bucket('MEDIA');
  for (const file of files(mediaDir)) {
    const b = readFileSync(file);
    await bucket.put(relative(mediaDir, file), b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }
  return mf;
}

export const workerdTarget: StartTarget = async (extraEnv = {}) => {
  const env = testEnv(extraEnv);
  const bindings = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const mf = await startWorkerd(bindings);
  const baseUrl = 'http://localhost:8787';
  return {
    baseUrl,
    fetch: async (path, init) =>
      (await mf.dispatchFetch(
        new URL(path, baseUrl).href,
        init as MiniflareRequestInit | undefined,
      )) as unknown as Response,
    privateKeyPem: fixtureKey('rsa-pkcs8.pem'),
    keyPairId: RSA_KEY_PAIR_ID,
    close: () => mf.dispose(),
  };
};

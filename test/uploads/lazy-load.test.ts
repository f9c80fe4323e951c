// `hls-gate/node` loads the packager (and with it aws4fetch and m3u8-parser) only when uploads are on: the compiled
// package is started in a plain `node` with a module resolve hook that lists every module loaded.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { testEnv } from '../helpers/targets.ts';

function modulesLoaded(extraEnv: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-lazy-'));
  try {
    const list = join(dir, 'loaded.txt');
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  const r = await next(specifier, context);\n  appendFileSync(${JSON.stringify(list)}, r.url + '\\n');\n  return r;\n}\n`,
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
    );
    const media = join(dir, 'media');
    execFileSync('cp', ['-r', join(REPO_ROOT, 'media'), media]);
    const env = Object.fromEntries(
      Object.entries(testEnv({ PORT: '0', MEDIA_DIR: media, ...extraEnv })).filter(
        (e): e is [string, string] => e[1] !== undefined,
      ),
    );
    const script = `const { startNodeGateway } = await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist/server/node/index.js')).href)});\nconst gw = await startNodeGateway(JSON.parse(process.env.GW_ENV), { log: () => {} });\nawait gw.close();\n`;
    writeFileSync(join(dir, 'main.mjs'), script);
    execFileSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(dir, 'main.mjs')], {
      env: { PATH: process.env.PATH!, GW_ENV: JSON.stringify(env) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return readFileSync(list, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const heavy = (urls: string[]) =>
  urls.filter((u) => /\/packager\/|\/aws4fetch\/|\/m3u8-parser\/|\/fetch-segments\//.test(u));

describe('hls-gate/node loads the packager only with uploads on', () => {
  it('without uploads: no packager, aws4fetch or m3u8-parser', () => {
    const loaded = modulesLoaded({});
    expect(loaded.some((u) => u.includes('/dist/server/node/start.js'))).toBe(true); // the hook saw the gateway load
    expect(heavy(loaded)).toEqual([]);
  }, 30_000);

  it('with uploads: the packager and its dependencies', () => {
    const loaded = heavy(modulesLoaded({ UPLOADS: 'true' }));
    expect(loaded.some((u) => u.includes('/dist/packager/index.js'))).toBe(true);
    expect(loaded.some((u) => u.includes('/aws4fetch/'))).toBe(true);
  }, 30_000);
});

// The same tokenizer in workerd (Miniflare, the Workers build, R2): a long playlist is streamed slice by slice and
// comes out whole; one over the bounds is refused with playlist-too-large (over 4 MiB by R2's metadata, before
// reading it); a hostile URI never gets the token. Run with the project's compatibility date (MessageChannel between
// slices) and with one from before Workers had MessageChannel (a timer between slices).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Readable } from 'node:stream';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Miniflare } from 'miniflare';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';

import { buildWorker } from '../../scripts/build-worker.mjs';

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
const BASE = 'http://localhost:8787';

const LONG = `#EXTM3U\n#EXT-X-TARGETDURATION:2\n${Array.from({ length: 20_000 }, (_, i) => `#EXTINF:2.0,\nseg_${i}.ts\n`).join('')}#EXT-X-ENDLIST\n`;
const OVER_LINES = `#EXTM3U\n${'a.ts\n'.repeat(100_000)}`;
const OVER_BYTES = `#EXTM3U\n${'#'.repeat(4 * 1024 * 1024)}\n`;
const HOSTILE = `#EXTM3U\n#EXT-X-MAP:URI="http://localhost:8787\\@evil.test/../videos/ladder/init.mp4"\n#EXTINF:2,\nhttp://localhost:8787\\@evil.test/../videos/ladder/a.ts\n#EXTINF:2,\nok.ts\n`;

let scriptPath: string;
beforeAll(async () => {
  scriptPath = await buildWorker(join(mkdtempSync(join(tmpdir(), 'hls-gate-worker-')), 'index.js'));
}, 60_000);

describe.each(['2026-04-01', '2024-09-23'])(
  'tokenized playlists in workerd (compatibility date %s)',
  (compatibilityDate) => {
    let mf: Miniflare;
    beforeAll(async () => {
      const bindings = Object.fromEntries(
        Object.entries(testEnv()).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
      mf = new Miniflare({
        modules: true,
        scriptPath,
        modulesRoot: dirname(scriptPath),
        compatibilityDate,
        r2Buckets: ['MEDIA'],
        bindings,
        handleRuntimeStdio: (out: Readable, err: Readable) => {
          out.resume();
          err.pipe(process.stderr);
        },
      });
      await mf.ready;
      const bucket = await mf.getR2Bucket('MEDIA');
      const media = join(REPO_ROOT, 'media');
      for (const file of files(media)) {
        const b = readFileSync(file);
        await bucket.put(relative(media, file), b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      }
      for (const [name, text] of Object.entries({
        'long.m3u8': LONG,
        'over-lines.m3u8': OVER_LINES,
        'over-bytes.m3u8': OVER_BYTES,
        'hostile.m3u8': HOSTILE,
      }))
        await bucket.put(`ladder/${name}`, text);
    }, 60_000);
    afterAll(() => mf?.dispose());

    it('streams a long playlist whole, refuses the oversized ones, never tokenizes a hostile URI', async () => {
      const res = (await mf.dispatchFetch(`${BASE}/api/videos/ladder/device-link`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      })) as unknown as Response;
      expect(res.status).toBe(200);
      const link = ((await res.json()) as { url: string }).url;
      const query = new URL(link).search.slice(1);
      const get = async (name: string) =>
        (await mf.dispatchFetch(link.replace('/master.m3u8?', `/${name}?`))) as unknown as Response;

      const long = await get('long.m3u8');
      expect(long.status).toBe(200);
      expect(await long.text()).toBe(LONG.replace(/^(seg_\d+\.ts)$/gm, `$1?${query}`));
      for (const name of ['over-lines.m3u8', 'over-bytes.m3u8']) {
        const refused = await get(name);
        expect(refused.status, name).toBe(500);
        expect(await refused.json(), name).toMatchObject({ code: 'playlist-too-large' });
      }
      const hostile = await get('hostile.m3u8');
      expect(await hostile.text()).toBe(HOSTILE.replace('ok.ts', `ok.ts?${query}`));
    }, 60_000);
  },
);

// On Workers the media is in R2, which cannot say when an object changes: the Worker cannot hold a blocking
// playlist reload. It serves a low-latency stream for polling instead (hls.js then reloads the playlist every part
// target): CAN-BLOCK-RELOAD=YES is struck from the server-control line, delivery directives are answered at once
// with the current playlist, delta updates still work (they need no waiting), and a preload-hinted part that is
// not in the bucket yet is 404 at once. Real workerd with R2, a rendition written by hls-gate's own writer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Miniflare } from 'miniflare';
import { llState } from '../../server/app/ll-hls.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { startWorkerd } from '../helpers/workerd.ts';
import { SteppedEncoder } from '../helpers/ll-encoder.ts';

describe('a low-latency stream on Workers with R2', () => {
  let dir: string;
  let mf: Miniflare;
  let cookie: string;
  const get = async (path: string) =>
    (await mf.dispatchFetch(`http://localhost:8787${path}`, { headers: { Cookie: cookie } })) as unknown as Response;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-ll-worker-'));
    const enc = new SteppedEncoder(dir, 'll/360p', 30);
    await enc.write(70);
    writeFileSync(join(dir, 'll', 'master.m3u8'), '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000\n360p/index.m3u8\n');
    const bindings = Object.fromEntries(
      Object.entries(testEnv()).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    mf = await startWorkerd(bindings, dir);
    const grant = (await mf.dispatchFetch('http://localhost:8787/api/videos/ll/access', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*', { sub: 'viewer' })}` },
    })) as unknown as Response;
    expect(grant.status).toBe(200);
    cookie = cookieHeader(cookiesFrom(grant));
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the playlist for polling: parts and hints kept, blocking reload not offered', async () => {
    const res = await get('/videos/ll/360p/index.m3u8');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private, no-cache');
    const text = await res.text();
    const written = readFileSync(join(dir, 'll/360p/index.m3u8'), 'utf8');
    expect(text).toBe(written.replace('CAN-BLOCK-RELOAD=YES,', ''));
    expect(text).toMatch(/^#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=[\d.]+,CAN-SKIP-UNTIL=12$/m);
    expect(text).toMatch(/^#EXT-X-PART:/m);
    expect(llState(text).canBlockReload).toBe(false);
  });

  it('answers delivery directives at once with what it has, and delta updates as the Node gateway does', async () => {
    const s = llState(await (await get('/videos/ll/360p/index.m3u8')).text());
    const started = Date.now();
    const res = await get(`/videos/ll/360p/index.m3u8?_HLS_msn=${s.lastMsn + 1}&_HLS_part=${s.openParts}`);
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(llState(await res.text()).lastMsn).toBe(s.lastMsn);
    const delta = await (await get('/videos/ll/360p/index.m3u8?_HLS_skip=YES')).text();
    expect(delta).toMatch(/^#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+$/m);
    const bad = await get('/videos/ll/360p/index.m3u8?_HLS_part=2');
    expect(bad.status).toBe(400);
  });

  it('answers a hinted part that is not written yet with 404 at once', async () => {
    const s = llState(await (await get('/videos/ll/360p/index.m3u8')).text());
    const res = await get(`/videos/ll/360p/${s.hint}`);
    expect(res.status).toBe(404);
  });
});

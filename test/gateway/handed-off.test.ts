// The Node fast path is decided once, by the disk storage, and carried as typed values on the app's answer: the body
// is a FileSpan exactly when the storage's threshold says so, and the viewer's max-age rides along as a number (what
// nginx's verdict cache is kept for). A span the server failed to recognise would still be served, only slowly, so
// the carrying itself is checked here.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cpSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { NGINX_HAND_OFF, NODE_HAND_OFF, createFsStorage } from '../../server/node/fs-storage.ts';
import { startNodeGateway } from '../../server/node/start.ts';
import { FileSpan } from '../../server/node/file-spans.ts';
import { buildGateway } from '../../server/app/build.ts';
import { parseConfig } from '../../server/app/config.ts';
import { storedFileOf } from '../../server/app/http-file.ts';
import { keepPrivately } from '../../server/app/freshness.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';

const LARGE = NODE_HAND_OFF.minBytes; // the smallest file the Node server sends itself

describe('the hand-off carried on the answer', () => {
  let dir: string;
  beforeAll(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'hls-gate-handoff-'))); // the span names the real path
    cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
    writeFileSync(join(dir, 'cmaf/large.m4s'), new Uint8Array(LARGE + 1));
    writeFileSync(join(dir, 'cmaf/below.m4s'), new Uint8Array(LARGE - 1));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function gateway(handOff: { minBytes: number }, env: Record<string, string> = {}) {
    const app = await buildGateway(
      parseConfig(testEnv({ MEDIA_DIR: dir, ...env })),
      createFsStorage(dir, { handOff }),
      { log: () => {} },
    );
    const access = await app.request('http://localhost/api/videos/cmaf/access', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    const cookie = cookieHeader(cookiesFrom(access));
    return (path: string, headers: Record<string, string> = {}) =>
      app.request(`http://localhost/videos/cmaf/${path}`, { headers: { Cookie: cookie, ...headers } });
  }

  it("makes a span of a file from the storage's threshold on, with the max-age the viewer got as a number", async () => {
    const get = await gateway(NODE_HAND_OFF);
    const large = await get('large.m4s');
    const stored = storedFileOf(large);
    expect(stored?.body).toBeInstanceOf(FileSpan);
    const span = stored!.body as FileSpan;
    expect([span.offset, span.length, span.path]).toEqual([0, LARGE + 1, join(dir, 'cmaf/large.m4s')]);
    expect(stored!.keepFor).toBeGreaterThan(0);
    expect(large.headers.get('cache-control')).toBe(keepPrivately(stored!.keepFor));
    await span.cancel();

    const range = await get('large.m4s', { Range: 'bytes=1-' });
    expect(range.status).toBe(206);
    const ranged = storedFileOf(range)!.body as FileSpan;
    expect([ranged.offset, ranged.length]).toEqual([1, LARGE]);
    await ranged.cancel();

    // Below the threshold (one file, or a short range of a large one) the app's body is bytes or a plain stream.
    for (const res of [await get('below.m4s'), await get('large.m4s', { Range: 'bytes=2-' })]) {
      expect(storedFileOf(res)?.body).not.toBeInstanceOf(FileSpan);
      await res.arrayBuffer();
    }
    // No body, nothing carried.
    for (const res of [
      await get('large.m4s', { 'If-None-Match': large.headers.get('etag')! }),
      await get('nothing.m4s'),
    ])
      expect(storedFileOf(res)).toBeUndefined();
  });

  it('hands every file off for nginx, kept for nothing under session control', async () => {
    const get = await gateway(NGINX_HAND_OFF, { SESSION_SECRET: 'session-secret-that-is-long-enough-0123456789' });
    const res = await get('seg_000.m4s');
    expect(res.headers.get('cache-control')).toBe('private, no-cache');
    const stored = storedFileOf(res);
    expect(stored?.body).toBeInstanceOf(FileSpan);
    expect(stored!.keepFor).toBe(0);
    await (stored!.body as FileSpan).cancel();
    // A playlist is read whole (its freshness follows its text): its bytes are carried for nginx's copy.
    const playlist = storedFileOf(await get('media.m3u8'));
    expect(playlist?.body).toBeInstanceOf(Uint8Array);
    expect(playlist!.keepFor).toBe(0);
  });

  it('reaches the Node server intact: a span leaves by the fast route, never read as a web stream', async () => {
    // Watched, not replaced: a span the server did not recognise is read through getReader as before.
    const read = vi.spyOn(FileSpan.prototype, 'getReader');
    const gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir }), { log: () => {} });
    try {
      const access = await fetch(`${gw.url}/api/videos/cmaf/access`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      const res = await fetch(`${gw.url}/videos/cmaf/large.m4s`, {
        headers: { Cookie: cookieHeader(cookiesFrom(access)) },
      });
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(LARGE + 1);
      expect(read).not.toHaveBeenCalled();
    } finally {
      read.mockRestore();
      await gw.close();
    }
  });
});

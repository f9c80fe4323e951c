// Media storage never leaves its folder, and a file that changes under a request fails cleanly: tried on a copy of
// the demo media with hostile symlinks, a FIFO, a file deleted between check and read, and one truncated mid-send.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  ftruncateSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  unlinkSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { createFsStorage } from '../../server/node/fs-storage.ts';
import { buildGateway } from '../../server/app/build.ts';
import { parseConfig } from '../../server/app/config.ts';
import type { MediaStorage } from '../../server/app/storage.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';

const BIG = 64 * 1024 * 1024; // sparse: costs no disk

function mediaCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-media-'));
  cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
  const outside = mkdtempSync(join(tmpdir(), 'hls-gate-outside-'));
  writeFileSync(join(outside, 'secret.txt'), 'host secret');
  mkdirSync(join(outside, 'video'));
  writeFileSync(join(outside, 'video/master.m3u8'), '#EXTM3U\n');
  symlinkSync('../aes', join(dir, 'cmaf/x')); // into another video's folder
  symlinkSync('../aes/key.key', join(dir, 'cmaf/aes.key')); // another video's key
  symlinkSync('/etc/passwd', join(dir, 'cmaf/passwd')); // the host
  symlinkSync(join(outside, 'secret.txt'), join(dir, 'cmaf/secret.txt'));
  symlinkSync('media.m3u8', join(dir, 'cmaf/alias.m3u8')); // inside its own folder: allowed
  symlinkSync('cmaf', join(dir, 'linked')); // a video folder that is a symlink
  symlinkSync(join(outside, 'video'), join(dir, 'outside')); // a video folder outside MEDIA_DIR
  symlinkSync('loop', join(dir, 'cmaf/loop'));
  execFileSync('mkfifo', [join(dir, 'cmaf/fifo.ts')]);
  const fd = openSync(join(dir, 'cmaf/big.ts'), 'w');
  ftruncateSync(fd, BIG);
  closeSync(fd);
  writeFileSync(join(dir, 'cmaf/medium.ts'), new Uint8Array(200 * 1024));
  return dir;
}

describe('media storage on disk', () => {
  let dir: string;
  let gw: RunningGateway;
  let cookie: string;
  beforeAll(async () => {
    dir = mediaCopy();
    gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir }), { log: () => {} });
    const res = await fetch(`${gw.url}/api/videos/cmaf/access`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    cookie = cookieHeader(cookiesFrom(res));
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${gw.url}${path}`, { ...init, headers: { Cookie: cookie, ...(init.headers as Record<string, string>) } });

  it.each([
    ['a symlinked folder into another video', '/videos/cmaf/x/key.key'],
    ["a symlink to another video's key", '/videos/cmaf/aes.key'],
    ['a symlink to /etc/passwd', '/videos/cmaf/passwd'],
    ['a symlink to a file outside MEDIA_DIR', '/videos/cmaf/secret.txt'],
    ['a symlink loop', '/videos/cmaf/loop'],
    ['a FIFO (never opened for reading)', '/videos/cmaf/fifo.ts'],
  ])('a cmaf grant cannot read through %s: 404, GET and HEAD', async (_name, path) => {
    for (const method of ['GET', 'HEAD']) {
      const res = await get(path, { method, signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(404);
      const body = await res.text();
      expect(body).not.toContain('root:');
      expect(body).not.toContain('host secret');
    }
  });

  it("a symlink inside the video's own folder is followed", async () => {
    const res = await get('/videos/cmaf/alias.m3u8');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('#EXTM3U');
  });

  it('a video folder that is itself a symlink is not served, inside or outside MEDIA_DIR', async () => {
    for (const id of ['linked', 'outside']) {
      const res = await fetch(`${gw.url}/api/videos/${id}/access`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      expect(res.status).toBe(404);
    }
  });

  it('a file truncated while it is being sent aborts the connection: the client sees an error at once', async () => {
    const res = await get('/videos/cmaf/big.ts');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Length')).toBe(String(BIG));
    const reader = res.body!.getReader();
    let received = (await reader.read()).value!.length;
    truncateSync(join(dir, 'cmaf/big.ts'), 1024 * 1024);
    const started = Date.now();
    const drained = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'ended';
        received += value.length;
      }
    })();
    await expect(drained).rejects.toThrow();
    expect(received).toBeLessThan(BIG);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('a file deleted between the check and the read', () => {
  it('answers 404, not 500', async () => {
    const dir = mediaCopy();
    try {
      const real = createFsStorage(dir);
      // The real adapter, with the file removed right after head() looked at it.
      const storage: MediaStorage = {
        head: async (key) => {
          const meta = await real.head(key);
          if (key === 'cmaf/medium.ts') unlinkSync(join(dir, key));
          return meta;
        },
        get: (key, range) => real.get(key, range),
      };
      const app = await buildGateway(parseConfig(testEnv({ MEDIA_DIR: dir })), storage, { log: () => {} });
      const access = await app.request('http://localhost/api/videos/cmaf/access', {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      const res = await app.request('http://localhost/videos/cmaf/medium.ts', {
        headers: { Cookie: cookieHeader(cookiesFrom(access)) },
      });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'not-found' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

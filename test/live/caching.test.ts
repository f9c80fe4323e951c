// How long each kind of file may be reused, live and on demand, in every deployment: the Node gateway alone, behind
// nginx (with a long verdict cache, so what bounds nginx's copy of a live playlist is the playlist itself), and the
// Worker in workerd with R2. A live media playlist (no EXT-X-ENDLIST) is kept at most half its target duration and
// a changed one is served as soon as that has passed; it revalidates to 304 while unchanged; once it ends it is kept
// like any finished playlist; the master briefly; segments until the grant ends (app/freshness.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Miniflare, RequestInit as MiniflareRequestInit } from 'miniflare';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway } from '../../server/node/start.ts';
import { behindNginx as nginxTarget, cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { NGINX_TEST_SECRET } from '../helpers/nginx.ts';
import { startWorkerd } from '../helpers/workerd.ts';

/** A live rendition: target duration 4 s, so a copy may be 2 s old at most. */
const TARGET = 4;
const livePlaylist = (first: number, count: number, ended = false) =>
  [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${TARGET}`,
    `#EXT-X-MEDIA-SEQUENCE:${first}`,
    ...Array.from({ length: count }, (_, i) => `#EXTINF:2.000000,\nseg_${String(first + i).padStart(3, '0')}.ts`),
    ...(ended ? ['#EXT-X-ENDLIST'] : []),
    '',
  ].join('\n');

interface Deployment {
  url: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Replaces a file of the media, as a live packager does (a whole new version). */
  write(path: string, text: string): Promise<void>;
  close(): Promise<void>;
}

function mediaDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-live-media-'));
  cpSync(join(REPO_ROOT, 'media/ladder'), join(dir, 'live'), { recursive: true });
  cpSync(join(REPO_ROOT, 'media/ladder'), join(dir, 'vod'), { recursive: true });
  for (const r of ['240p', '360p']) writeFileSync(join(dir, 'live', r, 'index.m3u8'), livePlaylist(0, 3));
  return dir;
}

async function nodeAlone(dir: string): Promise<Deployment> {
  const gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir }), { log: () => {} });
  return {
    url: gw.url,
    fetch: (path, init) => fetch(new URL(path, gw.url), init),
    write: async (path, text) => writeFileSync(join(dir, path), text),
    close: () => gw.close(),
  };
}

async function behindNginx(dir: string): Promise<Deployment> {
  // A long verdict cache: what bounds nginx's copy of a playlist must be the playlist itself.
  const t = await nginxTarget({ MEDIA_DIR: dir, NGINX_PROXY_SECRET: NGINX_TEST_SECRET, VERDICT_CACHE: '30' });
  return {
    url: t.baseUrl,
    fetch: (path, init) => t.fetch(path, init),
    write: async (path, text) => writeFileSync(join(dir, path), text),
    close: () => t.close(),
  };
}

async function workerd(dir: string): Promise<Deployment> {
  const bindings = Object.fromEntries(
    Object.entries(testEnv()).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const mf: Miniflare = await startWorkerd(bindings, dir);
  const bucket = await mf.getR2Bucket('MEDIA');
  const url = 'http://localhost:8787';
  return {
    url,
    fetch: async (path, init) =>
      (await mf.dispatchFetch(
        new URL(path, url).href,
        init as MiniflareRequestInit | undefined,
      )) as unknown as Response,
    write: async (path, text) => {
      await bucket.put(path, text);
    },
    close: () => mf.dispose(),
  };
}

/** The seconds a copy may be reused: max-age, 0 for no-cache. */
function maxAge(res: Response): number {
  const cc = res.headers.get('Cache-Control') ?? '';
  expect(cc).toMatch(/^private, /);
  if (/no-cache/.test(cc)) return 0;
  const m = /max-age=(\d+)/.exec(cc);
  expect(m, cc).not.toBeNull();
  return Number(m![1]);
}

const DEPLOYMENTS: [string, (dir: string) => Promise<Deployment>][] = [
  ['the Node gateway alone', nodeAlone],
  ['nginx in front', behindNginx],
  ['workerd with R2', workerd],
];

describe.each(DEPLOYMENTS)('live and on-demand caching: %s', (_name, start) => {
  let dir: string;
  let d: Deployment;
  let cookie: string;
  const get = (path: string, headers: Record<string, string> = {}) =>
    d.fetch(path, { headers: { Cookie: cookie, ...headers } });

  beforeAll(async () => {
    dir = mediaDir();
    d = await start(dir);
    const grant = await d.fetch('/api/videos/live/access', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*', { sub: 'viewer' })}` },
    });
    expect(grant.status).toBe(200);
    cookie = cookieHeader(cookiesFrom(grant));
    // The same cookies do for the on-demand copy: the demo grant is for one video, so ask for that one too.
    const vod = await d.fetch('/api/videos/vod/access', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*', { sub: 'viewer' })}` },
    });
    expect(vod.status).toBe(200);
    cookie = `${cookie}; ${cookieHeader(cookiesFrom(vod))}`;
  }, 60_000);
  afterAll(async () => {
    await d?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps segments and finished playlists until the grant ends, the master briefly, a live playlist half a target', async () => {
    const grantLeft = (res: Response) => maxAge(res);
    for (const path of ['/videos/vod/240p/seg_000.ts', '/videos/live/240p/seg_000.ts', '/videos/vod/240p/index.m3u8']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      // A default grant lasts an hour (its end rounded up to the grant window): far more than any playlist rule.
      expect(grantLeft(res), path).toBeGreaterThan(600);
      expect(grantLeft(res), path).toBeLessThanOrEqual(3600 + 300);
      await res.arrayBuffer();
    }
    for (const video of ['vod', 'live']) {
      const master = await get(`/videos/${video}/master.m3u8`);
      expect(master.status).toBe(200);
      expect(maxAge(master)).toBeLessThanOrEqual(5);
      await master.arrayBuffer();
    }
    const live = await get('/videos/live/240p/index.m3u8');
    expect(live.status).toBe(200);
    expect(maxAge(live)).toBeLessThanOrEqual(TARGET / 2);
    expect(await live.text()).toBe(livePlaylist(0, 3));
  });

  it('serves a live playlist that moved within half a target duration, and 304 while it has not', async () => {
    const path = '/videos/live/360p/index.m3u8';
    const first = await get(path);
    expect(await first.text()).toBe(livePlaylist(0, 3));
    const etag = first.headers.get('ETag');
    expect(etag).toBeTruthy();
    const again = await get(path, { 'If-None-Match': etag! });
    expect(again.status).toBe(304);
    expect(maxAge(again)).toBeLessThanOrEqual(TARGET / 2);

    // The stream moves on: a new segment, the oldest one gone (a sliding window).
    await new Promise((r) => setTimeout(r, 1100)); // a new modification second: the ETag changes with the file
    await d.write('live/360p/index.m3u8', livePlaylist(1, 3));
    const deadline = Date.now() + (TARGET / 2) * 1000 + 1500;
    let text = '';
    while (Date.now() < deadline) {
      text = await (await get(path)).text();
      if (text === livePlaylist(1, 3)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(text).toBe(livePlaylist(1, 3));
    const moved = await get(path, { 'If-None-Match': etag! });
    expect(moved.status).toBe(200);
    await moved.arrayBuffer();
  });

  it('refuses a live playlist that has grown past 4 MiB instead of reading on (500 playlist-too-large)', async () => {
    const huge = livePlaylist(0, 3) + `#${'x'.repeat(4 * 1024 * 1024)}\n`;
    await d.write('live/huge.m3u8', huge);
    const res = await get('/videos/live/huge.m3u8');
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(((await res.json()) as { code: string }).code).toBe('playlist-too-large');
  });

  it('keeps a live playlist like a finished one once it ends', async () => {
    await d.write('live/240p/index.m3u8', livePlaylist(0, 4, true));
    const path = '/videos/live/240p/index.m3u8';
    const deadline = Date.now() + (TARGET / 2) * 1000 + 1500;
    let res = await get(path);
    while (!(await res.clone().text()).includes('#EXT-X-ENDLIST') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      res = await get(path);
    }
    expect(await res.text()).toBe(livePlaylist(0, 4, true));
    expect(maxAge(res)).toBeGreaterThan(600);
  });
});

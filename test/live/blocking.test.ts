// Blocking playlist reload and delta updates at the gate (RFC 8216bis sections 6.2.5 and 6.2.6), on a
// low-latency rendition written part by part by hls-gate's own writer from real encoder output. Node gateway alone
// and behind nginx; what the Worker with R2 does instead is in low-latency-workers.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeGateway } from '../../server/node/start.ts';
import { llState } from '../../server/app/ll-hls.ts';
import { behindNginx as nginxTarget, cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { NGINX_TEST_SECRET } from '../helpers/nginx.ts';
import { SteppedEncoder } from '../helpers/ll-encoder.ts';

const PLAYLIST = '/videos/ll/360p/index.m3u8';

interface Deployment {
  url: string;
  close(): Promise<void>;
}

function mediaDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-ll-'));
  const master = '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-STREAM-INF:BANDWIDTH=900000\n360p/index.m3u8\n';
  const encoder = new SteppedEncoder(dir, 'll/360p', 40);
  writeFileSync(join(dir, 'll', 'master.m3u8'), master);
  encoders.set(dir, encoder);
  return dir;
}
const encoders = new Map<string, SteppedEncoder>();

async function alone(dir: string, env: Record<string, string> = {}): Promise<Deployment> {
  const gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir, ...env }), { log: () => {} });
  return { url: gw.url, close: () => gw.close() };
}

async function behindNginx(dir: string): Promise<Deployment> {
  // A long verdict cache: what bounds nginx's copy of a playlist must be the playlist itself.
  const t = await nginxTarget({ MEDIA_DIR: dir, NGINX_PROXY_SECRET: NGINX_TEST_SECRET, VERDICT_CACHE: '30' });
  return {
    url: t.baseUrl,
    close: () => t.close(),
  };
}

async function grantCookie(url: string): Promise<string> {
  const res = await fetch(`${url}/api/videos/ll/access`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${await viewerToken('*', { sub: 'viewer' })}` },
  });
  expect(res.status).toBe(200);
  return cookieHeader(cookiesFrom(res));
}

describe.each([
  ['the Node gateway alone', alone],
  ['nginx in front', behindNginx],
])('blocking playlist reload: %s', (_name, start) => {
  let dir: string;
  let enc: SteppedEncoder;
  let d: Deployment;
  let cookie: string;
  const get = (query: string, headers: Record<string, string> = {}) =>
    fetch(`${d.url}${PLAYLIST}${query}`, { headers: { Cookie: cookie, ...headers } });
  const current = async () => llState(await (await get('')).text());

  beforeAll(async () => {
    dir = mediaDir();
    enc = encoders.get(dir)!;
    await enc.write(9); // a segment and a half
    d = await start(dir);
    cookie = await grantCookie(d.url);
  }, 60_000);
  afterAll(async () => {
    await d?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the playlist as written: parts, a preload hint, blocking reload offered, never kept', async () => {
    const res = await get('');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private, no-cache');
    const text = await res.text();
    expect(text).toBe(readFileSync(join(dir, 'll/360p/index.m3u8'), 'utf8'));
    expect(text).toMatch(/^#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.001,CAN-SKIP-UNTIL=12$/m);
    expect(text).toMatch(/^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_00001\.\d\.m4s"$/m);
  });

  it('holds a request for the next part and answers it within 100 ms of that part being written', async () => {
    for (let round = 0; round < 5; round++) {
      const s = await current();
      const msn = s.lastMsn + 1;
      let answeredAt = 0;
      const pending = get(`?_HLS_msn=${msn}&_HLS_part=${s.openParts}`).then((r) => {
        answeredAt = Date.now();
        return r;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(answeredAt, 'answered before the part existed').toBe(0);
      const writtenAt = await enc.write();
      const res = await pending;
      expect(res.status).toBe(200);
      expect(res.headers.get('x-accel-buffering')).toBeNull(); // nginx's instruction, never the viewer's
      const after = llState(await res.text());
      // The part asked for is there (a part past a segment's last one is part 0 of the next: 6.2.5.2).
      expect(after.lastMsn + 1 > msn || after.openParts > s.openParts).toBe(true);
      expect(answeredAt - writtenAt, `round ${round}`).toBeLessThan(100);
    }
  });

  it('answers a request for a part already there at once, and never reuses a held answer', async () => {
    const s = await current();
    const query = `?_HLS_msn=${s.lastMsn}`;
    const first = await (await get(query)).text();
    await enc.write();
    const second = await (await get(query)).text();
    expect(second).not.toBe(first); // the newer playlist: nothing cached the first answer
    const progress = (x: { lastMsn: number; openParts: number }) => (x.lastMsn + 1) * 1000 + x.openParts;
    expect(progress(llState(second))).toBeGreaterThan(progress(s));
  });

  it('refuses at once what is too far ahead or unreadable (400), per RFC 8216bis 6.2.5.2', async () => {
    const s = await current();
    const cases: [string, string][] = [
      [`?_HLS_msn=${s.lastMsn + 3}`, 'directive-too-far'],
      [`?_HLS_msn=${s.lastMsn + 1}&_HLS_part=${s.openParts + 10}`, 'directive-too-far'],
      ['?_HLS_part=1', 'bad-delivery-directive'],
      ['?_HLS_msn=1e3', 'bad-delivery-directive'],
      ['?_HLS_msn=1&_HLS_msn=2', 'bad-delivery-directive'],
      ['?_HLS_skip=NO', 'bad-delivery-directive'],
    ];
    for (const [query, code] of cases) {
      const started = Date.now();
      const res = await get(query);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { code: string }).code, query).toBe(code);
      expect(Date.now() - started).toBeLessThan(1000);
    }
    // Two segments ahead is still waited for (and times out here, since nothing is written).
    const wait = await get(`?_HLS_msn=${s.lastMsn + 2}`);
    expect(wait.status).toBe(503);
    expect(((await wait.json()) as { code: string }).code).toBe('playlist-not-updated');
  }, 15_000);

  it('answers _HLS_skip=YES with a delta update that is smaller and merges back into the full playlist', async () => {
    await enc.write(60); // more than CAN-SKIP-UNTIL (12 s) of segments
    const full = await (await get('')).text();
    const res = await get('?_HLS_skip=YES');
    expect(res.status).toBe(200);
    const delta = await res.text();
    expect(delta.length).toBeLessThan(full.length);
    const skipped = Number(/^#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)$/m.exec(delta)?.[1]);
    expect(skipped).toBeGreaterThan(0);
    // The same header and media sequence, the segments after the skipped ones exactly as in the full playlist.
    const uris = (t: string) => t.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(uris(delta)).toEqual(uris(full).slice(skipped));
    expect(/^#EXT-X-MEDIA-SEQUENCE:\d+$/m.exec(delta)?.[0]).toBe(/^#EXT-X-MEDIA-SEQUENCE:\d+$/m.exec(full)?.[0]);
    // What the skipped segments leave out is only theirs: 6 s of segments stay (CAN-SKIP-UNTIL=12 of a 24 s window).
    const durations = (t: string) => [...t.matchAll(/^#EXTINF:([\d.]+),$/gm)].map((m) => Number(m[1]));
    const kept = durations(delta).reduce((a, b) => a + b, 0);
    expect(kept).toBeGreaterThanOrEqual(12);
    expect(delta).toMatch(/^#EXT-X-MAP:URI="init_0\.mp4"$/m); // what applies to the first segment kept
    // A delta update asked for while blocking: held, then a delta.
    const s = llState(full);
    const pending = get(`?_HLS_msn=${s.lastMsn + 1}&_HLS_part=${s.openParts}&_HLS_skip=YES`);
    await enc.write();
    const held = await pending;
    expect(held.status).toBe(200);
    expect(await held.text()).toMatch(/^#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+$/m);
  });

  it('holds a request for the preload-hinted part and answers it with the part once written', async () => {
    const text = await (await get('')).text();
    const hint = llState(text).hint!;
    const pending = fetch(`${d.url}/videos/ll/360p/${hint}`, { headers: { Cookie: cookie } });
    await new Promise((r) => setTimeout(r, 200));
    await enc.write();
    const res = await pending;
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(readFileSync(join(dir, 'll/360p', hint)))).toBe(true);
    // A part nobody announced is 404 at once.
    const started = Date.now();
    const absent = await fetch(`${d.url}/videos/ll/360p/seg_09999.0.m4s`, { headers: { Cookie: cookie } });
    expect(absent.status).toBe(404);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('waits only on a playlist that offers blocking reload, and never on a name that does not exist', async () => {
    const started = Date.now();
    const master = await fetch(`${d.url}/videos/ll/master.m3u8?_HLS_msn=99`, { headers: { Cookie: cookie } });
    expect(master.status).toBe(200);
    const absent = await fetch(`${d.url}/videos/ll/360p/nothing.m3u8?_HLS_msn=99`, { headers: { Cookie: cookie } });
    expect(absent.status).toBe(404);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('judges the grant before holding: no cookie is refused at once', async () => {
    const s = await current();
    const res = await fetch(`${d.url}${PLAYLIST}?_HLS_msn=${s.lastMsn + 1}&_HLS_part=${s.openParts}`);
    expect(res.status).toBe(403);
  });
});

describe('a grant that runs out while its request is held', () => {
  let dir: string;
  let d: Deployment;
  beforeAll(async () => {
    dir = mediaDir();
    await encoders.get(dir)!.write(4);
    d = await alone(dir, { ACCESS_TTL: '2', GRANT_WINDOW: '0' });
  }, 60_000);
  afterAll(async () => {
    await d?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is refused as expired when the part comes, not answered with it', async () => {
    const cookie = await grantCookie(d.url);
    const s = llState(await (await fetch(`${d.url}${PLAYLIST}`, { headers: { Cookie: cookie } })).text());
    const pending = fetch(`${d.url}${PLAYLIST}?_HLS_msn=${s.lastMsn + 1}&_HLS_part=${s.openParts}`, {
      headers: { Cookie: cookie },
    });
    await new Promise((r) => setTimeout(r, 2500));
    await encoders.get(dir)!.write();
    const res = await pending;
    expect(res.status).toBe(403);
    expect(res.headers.get('x-hls-gate-reason')).toBe('expired');
  });
});

describe('a device link with delivery directives', () => {
  let dir: string;
  let d: Deployment;
  beforeAll(async () => {
    dir = mediaDir();
    await encoders.get(dir)!.write(4);
    d = await alone(dir);
  }, 60_000);
  afterAll(async () => {
    await d?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('blocks beside the signed query, and hands the grant (not the directives) on to parts and the hint', async () => {
    const res = await fetch(`${d.url}/api/videos/ll/device-link`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    expect(res.status).toBe(200);
    const link = new URL(((await res.json()) as { url: string }).url);
    const playlist = new URL(link.href.replace('/master.m3u8', '/360p/index.m3u8'));
    const s = llState(await (await fetch(playlist)).text());
    const pending = fetch(`${playlist.href}&_HLS_msn=${s.lastMsn + 1}&_HLS_part=${s.openParts}`);
    await new Promise((r) => setTimeout(r, 200));
    await encoders.get(dir)!.write();
    const held = await pending;
    expect(held.status).toBe(200);
    const text = await held.text();
    const partUris = [...text.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]!);
    expect(partUris.length).toBeGreaterThan(3);
    for (const uri of partUris) {
      expect(uri).toContain('Signature=');
      expect(uri).not.toContain('_HLS_');
    }
    const part = partUris.find((u) => /seg_\d+\.\d+\.m4s/.test(u))!;
    expect((await fetch(new URL(part, playlist))).status).toBe(200);
  });
});

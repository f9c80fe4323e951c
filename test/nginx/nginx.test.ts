// What nginx in front must never change or open up: the same headers as the gateway alone, no way around the
// check (internal locations, traversal, symlinks swapped in after a verdict), and a reused verdict that never
// outlives its grant or reaches another viewer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPrivateKey, signCookies } from '../../server/core/index.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { ALLOWED_ORIGIN, cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { fixtureKey, RSA_KEY_PAIR_ID } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/ports.ts';
import { NGINX_TEST_SECRET, startNginx, type RunningNginx } from '../helpers/nginx.ts';

const SEGMENT = '/videos/ladder/240p/seg_000.ts';
const now = () => Math.floor(Date.now() / 1000);

describe('nginx in front of hls-gate', () => {
  let dir: string;
  let alone: RunningGateway;
  let judged: RunningGateway;
  let nginx: RunningNginx;
  const sign = async (base: string, over: { expires?: number; ipAddress?: string; video?: string } = {}) =>
    cookieHeader({
      ...(await signCookies(
        {
          resource: `${base}/videos/${over.video ?? 'ladder'}/*`,
          expires: over.expires ?? now() + 600,
          ...(over.ipAddress ? { ipAddress: over.ipAddress } : {}),
        },
        { keyPairId: RSA_KEY_PAIR_ID, privateKey: await importPrivateKey(fixtureKey('rsa-pkcs8.pem')) },
      )),
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-nginx-media-'));
    cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
    alone = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir }), { log: () => {} });
    const port = await freePort();
    // A long verdict cache: what bounds a reused verdict must be the grant, not this setting.
    judged = await startNodeGateway(
      testEnv({
        PORT: String(port),
        MEDIA_DIR: dir,
        SERVE_VIA_NGINX: 'true',
        NGINX_PROXY_SECRET: NGINX_TEST_SECRET,
        VERDICT_CACHE: '30',
      }),
      { log: () => {} },
    );
    nginx = await startNginx({ upstream: `127.0.0.1:${port}`, mediaDir: dir, verdictCache: 30 });
  });
  afterAll(async () => {
    await nginx?.stop();
    await judged?.close();
    await alone?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a granted segment with the headers the gateway alone sends, first and from a reused verdict', async () => {
    const pick = (res: Response) => {
      const names = [
        'content-type',
        'content-length',
        'etag',
        'last-modified',
        'accept-ranges',
        'vary',
        'access-control-allow-origin',
        'access-control-allow-credentials',
        'access-control-expose-headers',
      ];
      return Object.fromEntries(names.map((n) => [n, res.headers.get(n)]));
    };
    const maxAge = (res: Response) => Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1]);
    const expires = now() + 300;
    const direct = await fetch(`${alone.url}${SEGMENT}`, {
      headers: { Cookie: await sign(alone.url, { expires }), Origin: ALLOWED_ORIGIN },
    });
    const directBytes = Buffer.from(await direct.arrayBuffer());
    const cookie = await sign(nginx.url, { expires });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${nginx.url}${SEGMENT}`, { headers: { Cookie: cookie, Origin: ALLOWED_ORIGIN } });
      expect(res.status).toBe(200);
      expect(pick(res)).toEqual(pick(direct));
      expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
      expect(maxAge(res)).toBeLessThanOrEqual(maxAge(direct));
      expect(maxAge(res)).toBeGreaterThan(maxAge(direct) - 35);
      expect(Buffer.from(await res.arrayBuffer()).equals(directBytes)).toBe(true);
    }
    expect(
      (
        await fetch(`${nginx.url}${SEGMENT}`, {
          headers: { Cookie: cookie, 'If-None-Match': direct.headers.get('etag')! },
        })
      ).status,
    ).toBe(304);
    // A playlist, answered whole by hls-gate and then from nginx's cache: the same headers and bytes.
    const playlist = '/videos/ladder/240p/index.m3u8';
    const directList = await fetch(`${alone.url}${playlist}`, {
      headers: { Cookie: await sign(alone.url, { expires }), Origin: ALLOWED_ORIGIN },
    });
    const listText = await directList.text();
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${nginx.url}${playlist}`, { headers: { Cookie: cookie, Origin: ALLOWED_ORIGIN } });
      expect(pick(res)).toEqual(pick(directList));
      expect(maxAge(res)).toBeLessThanOrEqual(maxAge(directList));
      expect(await res.text()).toBe(listText);
    }
    const ranged = await fetch(`${nginx.url}${playlist}`, {
      headers: { Cookie: cookie, Origin: ALLOWED_ORIGIN, Range: 'bytes=0-6' },
    });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe(listText.slice(0, 7));
  });

  it('never serves its internal locations, however they are spelled', async () => {
    const cookie = await sign(nginx.url);
    for (const path of [
      '/_hls-gate/files/ladder/240p/seg_000.ts',
      '/_hls-gate/%66iles/ladder/240p/seg_000.ts',
      '/_hls-gate/verdict',
      '/videos/ladder/../../_hls-gate/files/ladder/master.m3u8',
      '/videos/ladder/%2e%2e/%2e%2e/_hls-gate/files/ladder/master.m3u8',
      '/videos/ladder%2F..%2F..%2F_hls-gate/files/ladder/master.m3u8',
    ]) {
      const status = await rawStatus(nginx.url, path, { Cookie: cookie });
      expect([400, 403, 404], path).toContain(status);
    }
    // Other methods get the gateway's own answer, never a file: a CORS preflight, a POST (after a GET was granted).
    expect(
      (await fetch(`${nginx.url}${SEGMENT}`, { headers: { Cookie: cookie, Origin: ALLOWED_ORIGIN } })).status,
    ).toBe(200);
    const preflight = await fetch(`${nginx.url}${SEGMENT}`, {
      method: 'OPTIONS',
      headers: { Cookie: cookie, Origin: ALLOWED_ORIGIN, 'Access-Control-Request-Method': 'GET' },
    });
    const preflightAlone = await fetch(`${alone.url}${SEGMENT}`, {
      method: 'OPTIONS',
      headers: { Origin: ALLOWED_ORIGIN, 'Access-Control-Request-Method': 'GET' },
    });
    expect(preflight.status).toBe(preflightAlone.status);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(await preflight.text()).toBe('');
    const post = await fetch(`${nginx.url}${SEGMENT}`, { method: 'POST', headers: { Cookie: cookie }, body: 'x' });
    expect(post.status).toBe(
      (await fetch(`${alone.url}${SEGMENT}`, { method: 'POST', headers: { Cookie: await sign(alone.url) }, body: 'x' }))
        .status,
    );
    expect(post.status).not.toBe(200);
    // The verdict header from a client changes nothing: it gets hls-gate's refusal.
    const res = await fetch(`${nginx.url}${SEGMENT}`, { headers: { 'X-Hls-Gate-Verdict': '1' } });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-hls-gate-reason')).toBe('no-credentials');
  });

  it('a reused verdict ends with its grant, even with VERDICT_CACHE longer', async () => {
    const cookie = await sign(nginx.url, { expires: now() + 2 });
    // A segment (a reused verdict) and a playlist (a reused whole answer).
    const paths = ['/videos/ladder/240p/seg_001.ts', '/videos/ladder/240p/index.m3u8'];
    for (const path of paths)
      expect((await fetch(`${nginx.url}${path}`, { headers: { Cookie: cookie } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 3100));
    for (const path of paths) {
      const res = await fetch(`${nginx.url}${path}`, { headers: { Cookie: cookie } });
      expect(res.status, path).toBe(403);
      expect(res.headers.get('x-hls-gate-reason')).toBe('expired');
    }
  });

  it('a reused verdict reaches nobody else: another address (IP-bound grant) or another cookie is judged again', async () => {
    const cookie = await sign(nginx.url, { ipAddress: '127.0.0.1/32' });
    expect(await rawStatus(nginx.url, SEGMENT, { Cookie: cookie })).toBe(200);
    expect(await rawStatus(nginx.url, SEGMENT, { Cookie: cookie }, '127.0.0.2')).toBe(403);
    const other = await sign(nginx.url, { video: 'cmaf' });
    expect(await rawStatus(nginx.url, SEGMENT, { Cookie: other })).toBe(403);
    const playlist = '/videos/ladder/240p/index.m3u8';
    expect(await rawStatus(nginx.url, playlist, { Cookie: cookie })).toBe(200);
    expect(await rawStatus(nginx.url, playlist, { Cookie: cookie }, '127.0.0.2')).toBe(403);
    expect(await rawStatus(nginx.url, playlist, { Cookie: other })).toBe(403);
  });

  it('serves only the file hls-gate checked: a symlink swapped in after the verdict is not followed', async () => {
    const cookie = await sign(nginx.url);
    const path = '/videos/ladder/240p/seg_002.ts';
    expect((await fetch(`${nginx.url}${path}`, { headers: { Cookie: cookie } })).status).toBe(200);
    const file = join(dir, 'ladder/240p/seg_002.ts');
    unlinkSync(file);
    symlinkSync('/etc/passwd', file);
    const res = await fetch(`${nginx.url}${path}`, { headers: { Cookie: cookie } }); // the verdict is still cached
    expect(res.status).not.toBe(200);
    expect(await res.text()).not.toContain('root:');
  });

  it('under session control no verdict is reused: a revocation refuses the very next request after one poll', async () => {
    const port = await freePort();
    const admin = 'admin-secret-that-is-long-enough-0123456789ab';
    const gw = await startNodeGateway(
      testEnv({
        PORT: String(port),
        MEDIA_DIR: dir,
        SERVE_VIA_NGINX: 'true',
        NGINX_PROXY_SECRET: NGINX_TEST_SECRET,
        VERDICT_CACHE: '30',
        SESSION_SECRET: 'session-secret-that-is-long-enough-0123456789',
        ADMIN_SECRET: admin,
      }),
      { log: () => {}, events: () => {} },
    );
    const front = await startNginx({ upstream: `127.0.0.1:${port}`, mediaDir: dir, verdictCache: 30 });
    try {
      const granted = await fetch(`${front.url}/api/videos/ladder/access`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      expect(granted.status).toBe(200);
      const cookie = cookieHeader(cookiesFrom(granted));
      for (let i = 0; i < 2; i++)
        expect((await fetch(`${front.url}${SEGMENT}`, { headers: { Cookie: cookie } })).status).toBe(200);
      const revoke = await fetch(`${front.url}/api/admin/revocations`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ sub: 'viewer-1', ttl: 600 }),
      });
      expect(revoke.status).toBe(201);
      await new Promise((r) => setTimeout(r, 1100)); // one SESSION_POLL
      const refused = await fetch(`${front.url}${SEGMENT}`, { headers: { Cookie: cookie } });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('x-hls-gate-reason')).toBe('revoked');
    } finally {
      await front.stop();
      await gw.close();
    }
  });
});

/** A request sent exactly as written (no URL normalisation), optionally from another loopback address. */
function rawStatus(
  base: string,
  path: string,
  headers: Record<string, string>,
  localAddress?: string,
): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: hostname, port, path, headers, ...(localAddress ? { localAddress } : {}) },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

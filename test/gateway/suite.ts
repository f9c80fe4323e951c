// The gateway's HTTP behaviour, written once and run against every runtime (in-process, Node, workerd).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getSignedCookies } from '@aws-sdk/cloudfront-signer';
import {
  buildCustomPolicy,
  encodeCloudFrontBase64,
  importPrivateKey,
  signCookies,
  signUrl,
} from '../../server/core/index.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import {
  ALLOWED_ORIGIN,
  cookieHeader,
  cookiesFrom,
  viewerToken,
  type StartTarget,
  type Target,
} from '../helpers/targets.ts';
import { walkStream } from '../helpers/walk.ts';
import { RSA2_KEY_PAIR_ID, fixtureKey } from '../helpers/fixtures.ts';

const MEDIA = join(REPO_ROOT, 'media');
const VIDEOS = ['ladder', 'cmaf', 'aes'];
const TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  key: 'application/octet-stream',
};
const now = () => Math.floor(Date.now() / 1000);

export function defineGatewaySuite(label: string, start: StartTarget): void {
  describe(`gateway over ${label}`, () => {
    let t: Target;
    let token: string;
    const access = async (videoId: string, tok = token, init: RequestInit = {}) =>
      t.fetch(`/api/videos/${videoId}/access`, {
        method: 'POST',
        ...init,
        headers: { Authorization: `Bearer ${tok}`, ...(init.headers as Record<string, string>) },
      });
    const grantCookies = async (videoId: string) => cookieHeader(cookiesFrom(await access(videoId)));
    const media = (path: string, cookie?: string, headers: Record<string, string> = {}) =>
      t.fetch(path, { headers: { ...(cookie ? { Cookie: cookie } : {}), ...headers } });
    const signAs = async (over: {
      resource?: string;
      expires?: number;
      notBefore?: number;
      ipAddress?: string;
      key?: string;
      keyPairId?: string;
    }) => {
      const key = await importPrivateKey(over.key ?? t.privateKeyPem);
      return cookieHeader({
        ...(await signCookies(
          {
            resource: over.resource ?? `${t.baseUrl}/videos/ladder/*`,
            expires: over.expires ?? now() + 600,
            ...(over.notBefore ? { notBefore: over.notBefore } : {}),
            ...(over.ipAddress ? { ipAddress: over.ipAddress } : {}),
          },
          { keyPairId: over.keyPairId ?? t.keyPairId, privateKey: key },
        )),
      });
    };

    beforeAll(async () => {
      t = await start();
      token = await viewerToken('*');
    });
    afterAll(async () => t?.close());

    it('answers /healthz', async () => {
      const res = await t.fetch('/healthz');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    });

    describe('viewer access', () => {
      it('issues CloudFront cookies for the whole video tree', async () => {
        const res = await access('ladder');
        expect(res.status).toBe(200);
        const body = (await res.json()) as {
          videoId: string;
          playlistUrl: string;
          expiresAt: string;
          refreshAt: string;
        };
        expect(body.videoId).toBe('ladder');
        expect(body.playlistUrl).toBe(`${t.baseUrl}/videos/ladder/master.m3u8`);
        const expires = Date.parse(body.expiresAt) / 1000;
        expect(expires).toBeGreaterThanOrEqual(now() + 3600 - 2);
        expect(expires % 60).toBe(0); // rounded up to the grant window
        expect(Date.parse(body.refreshAt) / 1000).toBeLessThan(expires);
        const setCookies = res.headers.getSetCookie();
        expect(setCookies.map((c) => c.split('=')[0]).sort()).toEqual([
          'CloudFront-Key-Pair-Id',
          'CloudFront-Policy',
          'CloudFront-Signature',
        ]);
        for (const c of setCookies) {
          expect(c).toContain('; Path=/videos/ladder/');
          expect(c).toContain('; HttpOnly');
          expect(c).toContain('; SameSite=Lax');
          expect(c).toMatch(/; Max-Age=(\d+)/);
          expect(c).not.toContain('Secure'); // http media base
        }
        const policy = JSON.parse(
          Buffer.from(
            cookiesFrom(res)['CloudFront-Policy']!.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'),
            'base64',
          ).toString(),
        );
        expect(policy.Statement[0].Resource).toBe(`${t.baseUrl}/videos/ladder/*`);
      });

      it('gives viewers in the same window the identical policy and signature', async () => {
        const other = await viewerToken(['cmaf']);
        // Two tries: the pair may straddle a window boundary (then the expiries, and signatures, differ).
        for (let attempt = 0; attempt < 2; attempt++) {
          const [ra, rb] = [await access('cmaf'), await access('cmaf', other)];
          const [ja, jb] = [(await ra.json()) as { expiresAt: string }, (await rb.json()) as { expiresAt: string }];
          if (ja.expiresAt !== jb.expiresAt) continue;
          expect(cookiesFrom(ra)['CloudFront-Signature']).toBe(cookiesFrom(rb)['CloudFront-Signature']);
          return;
        }
        throw new Error('two grants a moment apart never shared a window');
      });

      it.each([
        ['no token', undefined, 401, 'token-missing'],
        ['garbage', 'Bearer not.a.jwt', 401, 'token-invalid'],
        ['not a bearer', 'Basic dXNlcjpwYXNz', 401, 'token-missing'],
      ])('refuses %s with 401', async (_n, authorization, status, code) => {
        const res = await t.fetch('/api/videos/ladder/access', {
          method: 'POST',
          headers: authorization ? { Authorization: authorization } : {},
        });
        expect(res.status).toBe(status);
        expect(res.headers.get('Content-Type')).toBe('application/problem+json');
        expect(await res.json()).toMatchObject({ status, code });
        expect(res.headers.getSetCookie()).toEqual([]);
      });

      it('refuses an expired token, a token signed with another secret, a token without "videos"', async () => {
        expect(await (await access('ladder', await viewerToken('*', { expSeconds: -10 }))).json()).toMatchObject({
          status: 401,
          code: 'token-expired',
        });
        expect(
          await (
            await access('ladder', await viewerToken('*', { secret: 'another-secret-that-is-long-enough-for-hs256' }))
          ).json(),
        ).toMatchObject({ status: 401, code: 'token-invalid' });
      });

      it('403 when not entitled, 404 for an unknown video, 400 for a malformed ID', async () => {
        const onlyCmaf = await viewerToken(['cmaf']);
        const res = await access('ladder', onlyCmaf);
        expect(res.status).toBe(403);
        expect(await res.json()).toMatchObject({ code: 'not-entitled' });
        expect(res.headers.getSetCookie()).toEqual([]);
        expect((await access('nope')).status).toBe(404);
        expect((await access('bad.id')).status).toBe(400);
        expect((await access('x'.repeat(65))).status).toBe(400);
      });

      it('lists the catalog the viewer may see', async () => {
        const res = await t.fetch('/api/videos', {
          headers: { Authorization: `Bearer ${await viewerToken(['cmaf', 'aes'])}` },
        });
        const body = (await res.json()) as { videos: { id: string; title: string; durationSeconds?: number }[] };
        expect(body.videos.map((v) => v.id)).toEqual(['cmaf', 'aes']);
        expect(body.videos[0]).toMatchObject({ title: expect.any(String), durationSeconds: 12 });
        expect((await t.fetch('/api/videos')).status).toBe(401);
      });

      it('lists the whole catalog gzipped when asked, the same JSON as without, and not when gzip is refused', async () => {
        const auth = { Authorization: `Bearer ${await viewerToken('*')}` };
        const plain = await t.fetch('/api/videos', { headers: { ...auth, 'Accept-Encoding': 'identity' } });
        const text = await plain.text();
        expect(JSON.parse(text).videos.map((v: { id: string }) => v.id)).toEqual(['ladder', 'cmaf', 'aes']);
        expect(plain.headers.get('content-encoding')).toBeNull();
        for (let i = 0; i < 2; i++) {
          const res = await t.fetch('/api/videos', { headers: { ...auth, 'Accept-Encoding': 'gzip, br;q=0' } });
          expect(res.headers.get('vary')).toMatch(/Accept-Encoding/);
          // fetch() over HTTP has decoded it already; in-process the gzip bytes arrive as sent (decoded once here:
          // anything compressed twice would fail the comparison). Workers compress at the edge themselves.
          const bytes = new Uint8Array(await res.arrayBuffer());
          const decoded =
            bytes[0] === 0x1f && bytes[1] === 0x8b
              ? await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
              : new TextDecoder().decode(bytes);
          expect(decoded).toBe(text);
        }
        const refused = await t.fetch('/api/videos', { headers: { ...auth, 'Accept-Encoding': 'gzip;q=0' } });
        expect(refused.headers.get('content-encoding')).toBeNull();
        expect(await refused.text()).toBe(text);
      });

      it('DELETE clears the cookies with the same Path', async () => {
        const res = await t.fetch('/api/videos/ladder/access', { method: 'DELETE' });
        expect(res.status).toBe(204);
        const sc = res.headers.getSetCookie();
        expect(sc.length).toBeGreaterThanOrEqual(3);
        for (const c of sc) {
          expect(c).toMatch(/^CloudFront-[A-Za-z-]+=;/);
          expect(c).toContain('; Path=/videos/ladder/');
          expect(c).toContain('; Max-Age=0');
        }
      });
    });

    describe('gated media', () => {
      it.each(VIDEOS)('serves every playlist, segment, init segment and key of %s with the grant', async (videoId) => {
        const cookie = await grantCookies(videoId);
        const results = await walkStream(
          (url) => t.fetch(url, { headers: { Cookie: cookie } }),
          `${t.baseUrl}/videos/${videoId}/master.m3u8`,
        );
        expect(results.length).toBeGreaterThan(videoId === 'ladder' ? 30 : 6);
        for (const { req, res, body } of results) {
          expect(res.status, req.url).toBe(200);
          const path = new URL(req.url).pathname.replace('/videos/', '');
          expect(res.headers.get('Content-Type')).toBe(TYPES[path.split('.').pop()!]);
          expect(Buffer.from(body).equals(readFileSync(join(MEDIA, path))), req.url).toBe(true);
          expect(res.headers.get('Cache-Control')).toMatch(/^private, max-age=\d+$/);
        }
        const kinds = new Set(results.map((r) => r.req.kind));
        if (videoId === 'cmaf') expect(kinds).toContain('init');
        if (videoId === 'aes') expect(kinds).toContain('key');
      });

      it('never lets the cache outlive the grant', async () => {
        const cookie = await signAs({ expires: now() + 30 });
        const res = await media('/videos/ladder/master.m3u8', cookie);
        expect(Number(/max-age=(\d+)/.exec(res.headers.get('Cache-Control')!)![1])).toBeLessThanOrEqual(30);
      });

      const otherVideoPolicy = () =>
        encodeCloudFrontBase64(buildCustomPolicy({ resource: `${t.baseUrl}/videos/cmaf/*`, expires: now() + 600 }));
      const denials: [string, () => Promise<{ path: string; cookie?: string }>, string, string][] = [
        ['no cookie', async () => ({ path: '/videos/ladder/master.m3u8' }), 'MissingKey', 'no-credentials'],
        [
          'expired',
          async () => ({ path: '/videos/ladder/master.m3u8', cookie: await signAs({ expires: now() - 5 }) }),
          'AccessDenied',
          'expired',
        ],
        [
          'not yet valid',
          async () => ({ path: '/videos/ladder/master.m3u8', cookie: await signAs({ notBefore: now() + 300 }) }),
          'AccessDenied',
          'not-yet-valid',
        ],
        [
          'tampered policy',
          async () => ({
            path: '/videos/cmaf/master.m3u8',
            cookie: (await grantCookies('ladder')).replace(
              /CloudFront-Policy=[^;]+/,
              `CloudFront-Policy=${otherVideoPolicy()}`,
            ),
          }),
          'AccessDenied',
          'bad-signature',
        ],
        [
          'tampered signature',
          async () => ({
            path: '/videos/ladder/master.m3u8',
            cookie: (await grantCookies('ladder')).replace(
              /CloudFront-Signature=(.{20})(.)/,
              (_m, p: string, c: string) => `CloudFront-Signature=${p}${c === 'A' ? 'B' : 'A'}`,
            ),
          }),
          'AccessDenied',
          'bad-signature',
        ],
        [
          'unknown key',
          async () => ({ path: '/videos/ladder/master.m3u8', cookie: await signAs({ keyPairId: 'KUNKNOWNKEY' }) }),
          'InvalidKey',
          'unknown-key',
        ],
        [
          'malformed policy',
          async () => ({
            path: '/videos/ladder/master.m3u8',
            cookie: (await grantCookies('ladder')).replace(/CloudFront-Policy=[^;]+/, 'CloudFront-Policy=%%%'),
          }),
          'MalformedPolicy',
          'malformed-policy',
        ],
        [
          "another video's cookies",
          async () => ({ path: '/videos/cmaf/master.m3u8', cookie: await grantCookies('ladder') }),
          'AccessDenied',
          'resource-mismatch',
        ],
        [
          'wrong IP',
          async () => ({ path: '/videos/ladder/master.m3u8', cookie: await signAs({ ipAddress: '203.0.113.0/24' }) }),
          'AccessDenied',
          'ip-mismatch',
        ],
        [
          'signed URL for one file used on another',
          async () => {
            const url = await signUrl(
              `${t.baseUrl}/videos/ladder/240p/seg_000.ts`,
              { expires: now() + 60 },
              { keyPairId: t.keyPairId, privateKey: await importPrivateKey(t.privateKeyPem) },
            );
            return { path: new URL(url).pathname.replace('seg_000', 'seg_001') + new URL(url).search };
          },
          'AccessDenied',
          'bad-signature',
        ],
      ];
      it.each(denials)('refuses %s: 403, CloudFront XML, X-Hls-Gate-Reason', async (_n, make, code, reason) => {
        const { path, cookie } = await make();
        const res = await media(path, cookie);
        expect(res.status).toBe(403);
        expect(res.headers.get('Content-Type')).toBe('text/xml');
        expect(res.headers.get('X-Hls-Gate-Reason')).toBe(reason);
        const body = await res.text();
        expect(body).toMatch(
          new RegExp(
            `^<\\?xml version="1.0" encoding="UTF-8"\\?><Error><Code>${code}</Code><Message>[^<]+</Message></Error>$`,
          ),
        );
      });

      it('accepts a signed URL, and a rotated key from CLOUDFRONT_PUBLIC_KEYS', async () => {
        const url = await signUrl(
          `${t.baseUrl}/videos/ladder/240p/seg_000.ts`,
          { expires: now() + 60 },
          { keyPairId: t.keyPairId, privateKey: await importPrivateKey(t.privateKeyPem) },
        );
        expect((await t.fetch(new URL(url).pathname + new URL(url).search)).status).toBe(200);
        const rotated = await signAs({ key: fixtureKey('rsa2-pkcs8.pem'), keyPairId: RSA2_KEY_PAIR_ID });
        expect((await media('/videos/ladder/master.m3u8', rotated)).status).toBe(200);
      });

      it('accepts cookies minted by @aws-sdk/cloudfront-signer with the same key', async () => {
        const policy = JSON.stringify({
          Statement: [
            { Resource: `${t.baseUrl}/videos/aes/*`, Condition: { DateLessThan: { 'AWS:EpochTime': now() + 300 } } },
          ],
        });
        const cookies = getSignedCookies({ policy, keyPairId: t.keyPairId, privateKey: t.privateKeyPem });
        const cookie = cookieHeader(cookies as unknown as Record<string, string>);
        expect((await media('/videos/aes/key.key', cookie)).status).toBe(200);
        const sha256 = getSignedCookies({
          policy,
          keyPairId: t.keyPairId,
          privateKey: t.privateKeyPem,
          algorithm: 'SHA256',
        });
        expect(
          (await media('/videos/aes/media.m3u8', cookieHeader(sha256 as unknown as Record<string, string>))).status,
        ).toBe(200);
      });

      it('404 for a missing file behind a valid grant', async () => {
        const res = await media('/videos/ladder/240p/seg_999.ts', await grantCookies('ladder'));
        expect(res.status).toBe(404);
      });

      it.each([
        '/videos/ladder/%2e%2e/cmaf/master.m3u8',
        '/videos/ladder/240p%2f..%2f..%2fcatalog.json',
        '/videos/ladder/..%5c..%5ccatalog.json',
        '/videos/ladder/%252e%252e/%252e%252e/catalog.json',
        '/videos/ladder/240p//index.m3u8',
        '/videos/ladder/a%00b',
        '/videos/ladder/..\\..\\catalog.json',
      ])('refuses traversal %s without serving a byte', async (path) => {
        const res = await media(path, await grantCookies('ladder'));
        expect([400, 403, 404]).toContain(res.status);
        const body = await res.text();
        expect(body).not.toContain('"videos"');
        expect(body).not.toContain('#EXTM3U');
      });
    });

    describe('HTTP semantics', () => {
      let cookie: string;
      beforeAll(async () => {
        cookie = await grantCookies('ladder');
      });
      const seg = '/videos/ladder/240p/seg_001.ts';
      const file = () => readFileSync(join(MEDIA, 'ladder/240p/seg_001.ts'));

      it('single Range: 206 with Content-Range; suffix and open ranges; 416 when unsatisfiable', async () => {
        const size = file().length;
        let res = await media(seg, cookie, { Range: 'bytes=0-187' });
        expect(res.status).toBe(206);
        expect(res.headers.get('Content-Range')).toBe(`bytes 0-187/${size}`);
        expect(Buffer.from(await res.arrayBuffer()).equals(file().subarray(0, 188))).toBe(true);
        res = await media(seg, cookie, { Range: 'bytes=-100' });
        expect(Buffer.from(await res.arrayBuffer()).equals(file().subarray(size - 100))).toBe(true);
        res = await media(seg, cookie, { Range: `bytes=${size - 10}-` });
        expect(res.headers.get('Content-Length')).toBe('10');
        await res.arrayBuffer();
        res = await media(seg, cookie, { Range: `bytes=${size}-` });
        expect(res.status).toBe(416);
        expect(res.headers.get('Content-Range')).toBe(`bytes */${size}`);
      });

      it('ETag and If-None-Match give 304; Last-Modified is set', async () => {
        const first = await media(seg, cookie);
        await first.arrayBuffer();
        const etag = first.headers.get('ETag')!;
        expect(etag).toMatch(/^"[^"]+"$/);
        expect(first.headers.get('Last-Modified')).toMatch(/GMT$/);
        const again = await media(seg, cookie, { 'If-None-Match': etag });
        expect(again.status).toBe(304);
        expect(await again.text()).toBe('');
      });

      it('a 304 still needs the grant', async () => {
        const first = await media(seg, cookie);
        await first.arrayBuffer();
        expect((await media(seg, undefined, { 'If-None-Match': first.headers.get('ETag')! })).status).toBe(403);
      });

      it('HEAD answers headers without a body', async () => {
        const res = await t.fetch(seg, { method: 'HEAD', headers: { Cookie: cookie } });
        expect(res.status).toBe(200);
        expect(res.headers.get('Content-Length')).toBe(String(file().length));
        expect((await res.arrayBuffer()).byteLength).toBe(0);
      });

      it('CORS for an allowed origin: exact origin, credentials, Vary, exposed headers, preflight with Range', async () => {
        const res = await media(seg, cookie, { Origin: ALLOWED_ORIGIN });
        await res.arrayBuffer();
        expect(res.headers.get('Access-Control-Allow-Origin')).toBe(ALLOWED_ORIGIN);
        expect(res.headers.get('Access-Control-Allow-Credentials')).toBe('true');
        expect(res.headers.get('Vary')).toContain('Origin');
        expect(res.headers.get('Access-Control-Expose-Headers')).toMatch(
          /Content-Range.*Content-Length|X-Hls-Gate-Reason/,
        );
        const denied = await media(seg, undefined, { Origin: ALLOWED_ORIGIN });
        expect(denied.headers.get('Access-Control-Expose-Headers')).toContain('X-Hls-Gate-Reason');
        await denied.text();
        const pre = await t.fetch(seg, {
          method: 'OPTIONS',
          headers: {
            Origin: ALLOWED_ORIGIN,
            'Access-Control-Request-Method': 'GET',
            'Access-Control-Request-Headers': 'range',
          },
        });
        expect(pre.status).toBe(204);
        expect(pre.headers.get('Access-Control-Allow-Headers')).toContain('Range');
        expect(pre.headers.get('Access-Control-Allow-Origin')).toBe(ALLOWED_ORIGIN);
        const api = await t.fetch('/api/videos/ladder/access', {
          method: 'OPTIONS',
          headers: {
            Origin: ALLOWED_ORIGIN,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'authorization',
          },
        });
        expect(api.headers.get('Access-Control-Allow-Headers')).toContain('Authorization');
      });

      it('CORS for an origin not listed: no CORS headers at all', async () => {
        const res = await media(seg, cookie, { Origin: 'https://evil.example' });
        await res.arrayBuffer();
        expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
        expect(res.headers.get('Access-Control-Allow-Credentials')).toBeNull();
        const pre = await t.fetch(seg, {
          method: 'OPTIONS',
          headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' },
        });
        expect(pre.headers.get('Access-Control-Allow-Origin')).toBeNull();
      });
    });
  });
}

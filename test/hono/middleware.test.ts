// hls-gate/hono for hosts that want pieces: options checked when the middleware is made, typed context variables,
// grants issued after the host's own auth, the host's own routes gated with CloudFront cookies, and the gateway
// mounted under a prefix beside the host's routes (in-process; the packaged version is in test/package).
import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { join } from 'node:path';
import {
  OptionsError,
  accessGrants,
  cloudFrontGate,
  createGateway,
  type CloudFrontGateEnv,
} from '../../server/hono/index.ts';
import { HlsGateError } from '../../server/index.ts';
import { createFsStorage } from '../../server/node/fs-storage.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { signCookies, importPrivateKey } from '../../server/core/index.ts';
import { RSA_KEY_PAIR_ID as KID, fixtureKey } from '../helpers/fixtures.ts';
import { JWT_SECRET, cookieHeader, cookiesFrom, viewerToken } from '../helpers/targets.ts';

const PEM = fixtureKey('rsa-pkcs8.pem');
const PUB = fixtureKey('rsa-spki.pem');

describe('options are checked when the middleware is made', () => {
  it.each([
    ['no keys', () => cloudFrontGate({ publicKeys: {}, mediaBaseUrl: 'https://example.com' }), /at least one/],
    [
      'a bad key pair ID',
      () => cloudFrontGate({ publicKeys: { 'not an id': PUB }, mediaBaseUrl: 'https://example.com' }),
      /is not a key pair ID/,
    ],
    [
      'a key that is not PEM',
      () => cloudFrontGate({ publicKeys: { [KID]: 'abc' }, mediaBaseUrl: 'https://example.com' }),
      /must be a PEM public key/,
    ],
    // The types refuse these too (mediaBaseUrl XOR hosts); the checks are for JavaScript callers.
    // @ts-expect-error neither mediaBaseUrl nor hosts
    ['no origin', () => cloudFrontGate({ publicKeys: { [KID]: PUB } }), /set mediaBaseUrl, or hosts/],
    [
      'both an origin and hosts',
      // @ts-expect-error both mediaBaseUrl and hosts
      () => cloudFrontGate({ publicKeys: { [KID]: PUB }, mediaBaseUrl: 'https://example.com', hosts: ['example.com'] }),
      /set mediaBaseUrl or hosts, not both/,
    ],
    [
      'a wildcard host',
      () => cloudFrontGate({ publicKeys: { [KID]: PUB }, hosts: ['*.example.com'] }),
      /hosts: "\*\.example\.com" is not a host name/,
    ],
    [
      'a media base with a path',
      () => cloudFrontGate({ publicKeys: { [KID]: PUB }, mediaBaseUrl: 'https://example.com/x' }),
      /must be an origin/,
    ],
    [
      'grants: a bad key pair ID',
      () => accessGrants({ keyPairId: 'x y', privateKey: PEM, mediaBaseUrl: 'https://example.com' }),
      /^accessGrants: keyPairId: "x y" is not a key pair ID/,
    ],
    [
      'grants: a wildcard media base',
      () => accessGrants({ keyPairId: KID, privateKey: PEM, mediaBaseUrl: 'https://*.example.com' }),
      /must name one host: no wildcards/,
    ],
    [
      'grants: a public-suffix cookie domain',
      () => accessGrants({ keyPairId: KID, privateKey: PEM, mediaBaseUrl: 'https://a.co.uk', cookieDomain: 'co.uk' }),
      /public suffix/,
    ],
    [
      'grants: a zero ttl',
      () => accessGrants({ keyPairId: KID, privateKey: PEM, mediaBaseUrl: 'https://example.com', ttl: 0 }),
      /ttl must be/,
    ],
    // Issue #24: two drifts from the gateway's own configuration rules, refused now by the same checks.
    [
      'a wildcard media base (a policy for it would be valid on every matching host)',
      () => cloudFrontGate({ publicKeys: { [KID]: PUB }, mediaBaseUrl: 'https://*.example.com' }),
      /mediaBaseUrl: "https:\/\/\*\.example\.com" must name one host: no wildcards.*like https:\/\/media\.example\.com/,
    ],
    [
      'grants: a cookie domain that does not cover the media host',
      () =>
        accessGrants({
          keyPairId: KID,
          privateKey: PEM,
          mediaBaseUrl: 'https://media.example.com',
          cookieDomain: 'example.org',
        }),
      /cookieDomain="example.org" does not cover the media host "media.example.com"/,
    ],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(message);
    expect(make).toThrow(OptionsError);
    try {
      make();
    } catch (err) {
      expect(err).toBeInstanceOf(HlsGateError);
      expect(err).toMatchObject({ name: 'OptionsError', code: 'ERR_OPTIONS' });
    }
  });

  it('createGateway refuses bad settings with the fix, and a bad claim name', async () => {
    await expect(
      createGateway({ settings: { CLOUDFRONT_KEY_PAIR_ID: KID }, storage: createFsStorage(join(REPO_ROOT, 'media')) }),
    ).rejects.toThrow(/incomplete: set AUTH_JWT_SECRET.*set DEMO=true instead/);
    await expect(
      createGateway({
        settings: {
          CLOUDFRONT_KEY_PAIR_ID: KID,
          CLOUDFRONT_PRIVATE_KEY: PEM,
          AUTH_JWT_SECRET: JWT_SECRET,
          MEDIA_HOSTS: 'localhost',
        },
        storage: createFsStorage(join(REPO_ROOT, 'media')),
        viewerToken: { videosClaim: 'bad claim' },
      }),
    ).rejects.toThrow(/videosClaim/);
  });
});

describe('a host app: its own auth, the gateway at /media, its own routes gated', () => {
  const settings = {
    CLOUDFRONT_KEY_PAIR_ID: KID,
    CLOUDFRONT_PRIVATE_KEY: PEM,
    AUTH_JWT_SECRET: JWT_SECRET,
    MEDIA_HOSTS: 'example.test',
  };

  async function hostApp() {
    const app = new Hono<CloudFrontGateEnv>();
    app.get('/', (c) => c.text('home'));
    app.route(
      '/media',
      await createGateway({
        settings,
        storage: createFsStorage(join(REPO_ROOT, 'media')),
        log: () => {},
        viewerToken: { videosClaim: 'films' },
      }),
    );
    const grants = accessGrants({ keyPairId: KID, privateKey: PEM, mediaBaseUrl: 'http://example.test/media' });
    // The host's own session check stands in for a JWT.
    app.post('/watch/:id', async (c) =>
      c.req.header('X-Session') === 'alice'
        ? c.json(await grants.grant(c, c.req.param('id')))
        : c.text('log in first', 401),
    );
    app.use('/downloads/*', cloudFrontGate({ publicKeys: { [KID]: PUB }, mediaBaseUrl: 'http://example.test' }));
    app.get('/downloads/:file', (c) => c.text(`ok until ${c.var.cloudFrontGrant.expiresAt}`));
    app.get('/about', (c) => c.text('about'));
    return app;
  }

  it("a grant from the host's own auth opens the video under /media, and nothing else", async () => {
    const app = await hostApp();
    expect((await app.request('http://example.test/watch/ladder', { method: 'POST' })).status).toBe(401);
    const res = await app.request('http://example.test/watch/ladder', {
      method: 'POST',
      headers: { 'X-Session': 'alice' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      videoId: 'ladder',
      folderUrl: 'http://example.test/media/videos/ladder/',
    });
    for (const c of res.headers.getSetCookie())
      expect(c).toMatch(/Path=\/media\/videos\/ladder\/;.*HttpOnly.*SameSite=Lax/);
    const cookie = cookieHeader(cookiesFrom(res));
    expect(
      (await app.request('http://example.test/media/videos/ladder/master.m3u8', { headers: { Cookie: cookie } }))
        .status,
    ).toBe(200);
    expect(
      (await app.request('http://example.test/media/videos/cmaf/master.m3u8', { headers: { Cookie: cookie } })).status,
    ).toBe(403);
    expect(await (await app.request('http://example.test/about')).text()).toBe('about');
    expect(await (await app.request('http://example.test/')).text()).toBe('home');
  });

  it('the mounted gateway takes the configured claim name and hands out prefixed URLs', async () => {
    const app = await hostApp();
    const { SignJWT } = await import('jose');
    const now = Math.floor(Date.now() / 1000);
    const films = await new SignJWT({ films: ['cmaf'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const res = await app.request('http://example.test/media/api/videos/cmaf/access', {
      method: 'POST',
      headers: { Authorization: `Bearer ${films}` },
    });
    expect(await res.json()).toMatchObject({ playlistUrl: 'http://example.test/media/videos/cmaf/master.m3u8' });
    const videos = await app.request('http://example.test/media/api/videos/cmaf/access', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    expect(await videos.json()).toMatchObject({
      status: 403,
      code: 'no-entitlement',
      detail: expect.stringContaining('"films"'),
    });
    expect((await app.request('http://example.test/media/nothing')).status).toBe(404);
  });

  it('cloudFrontGate lets a CloudFront grant through with a typed c.var.cloudFrontGrant, and refuses as CloudFront does', async () => {
    const app = await hostApp();
    const key = await importPrivateKey(PEM);
    const expires = Math.floor(Date.now() / 1000) + 60;
    const cookie = cookieHeader({
      ...(await signCookies(
        { resource: 'http://example.test/downloads/*', expires },
        { keyPairId: KID, privateKey: key },
      )),
    });
    const ok = await app.request('http://example.test/downloads/report.pdf', { headers: { Cookie: cookie } });
    expect(await ok.text()).toBe(`ok until ${expires}`);
    const denied = await app.request('http://example.test/downloads/report.pdf');
    expect(denied.status).toBe(403);
    expect(denied.headers.get('Content-Type')).toBe('text/xml');
    expect(denied.headers.get('X-Hls-Gate-Reason')).toBe('no-credentials');
    expect(await denied.text()).toContain('<Code>MissingKey</Code>');
  });
});

// Grant sharing: one signature per video and GRANT_WINDOW, none shared when the window is 0 or the grant is IP-bound;
// the cookies a grant is sent in.
import { describe, expect, it } from 'vitest';
import { importPrivateKey } from '../../server/core/index.ts';
import { Hono } from 'hono';
import { clearGrantCookies, createGrantIssuer, setGrantCookies } from '../../server/app/grants.ts';
import { fixtureKey } from '../helpers/fixtures.ts';

describe('grant issuer', () => {
  const at = Date.UTC(2026, 10, 23, 12, 0, 0, 250);
  const issuer = async (window: number) =>
    createGrantIssuer({
      keyPairId: 'K2JCJMDEHXQW5F',
      signingKey: await importPrivateKey(fixtureKey('ec-pkcs8.pem')),
      ttl: 600,
      window,
    });

  it('shares one signature per video and window', async () => {
    const g = await issuer(60);
    const a = await g.issue('https://m.example.com/videos/a/*', at);
    const b = await g.issue('https://m.example.com/videos/a/*', at + 500);
    expect(b.cookies).toEqual(a.cookies);
    expect(g.stats()).toEqual({ signatures: 1, reused: 1 });
  });

  it('GRANT_WINDOW=0 shares nothing, even within one second', async () => {
    const g = await issuer(0);
    await g.issue('https://m.example.com/videos/a/*', at);
    await g.issue('https://m.example.com/videos/a/*', at + 500);
    expect(g.stats()).toEqual({ signatures: 2, reused: 0 });
  });

  it('never shares an IP-bound grant', async () => {
    const g = await issuer(60);
    await g.issue('https://m.example.com/videos/a/*', at, '192.0.2.1');
    await g.issue('https://m.example.com/videos/a/*', at, '192.0.2.1');
    expect(g.stats()).toEqual({ signatures: 2, reused: 0 });
  });
});

describe('grant cookies', () => {
  it('are written with the attributes of their scope, and cleared with the same Path and Domain', async () => {
    const g = createGrantIssuer({
      keyPairId: 'K2JCJMDEHXQW5F',
      signingKey: await importPrivateKey(fixtureKey('ec-pkcs8.pem')),
      ttl: 600,
      window: 60,
    });
    const at = Date.UTC(2026, 10, 23, 12, 0, 30);
    const grant = await g.issue('https://media.example.com/videos/a/*', at);
    const app = new Hono();
    app.post(
      '/',
      (c) => (
        setGrantCookies(c, grant, { path: '/videos/a/', domain: 'example.com', secure: true }, at),
        c.body(null, 204)
      ),
    );
    app.delete('/', (c) => (clearGrantCookies(c, { path: '/videos/a/', secure: false }, true), c.body(null, 204)));
    const set = (await app.request('/', { method: 'POST' })).headers.getSetCookie();
    expect(set).toEqual(
      Object.entries(grant.cookies).map(
        ([name, value]) =>
          `${name}=${value}; Max-Age=630; Domain=example.com; Path=/videos/a/; HttpOnly; Secure; SameSite=Lax`,
      ),
    );
    const cleared = (await app.request('/', { method: 'DELETE' })).headers.getSetCookie();
    expect(cleared.map((c) => c.split('=')[0])).toEqual([
      'CloudFront-Policy',
      'CloudFront-Signature',
      'CloudFront-Key-Pair-Id',
      'CloudFront-Hash-Algorithm',
      'HlsGate-Session',
    ]);
    for (const c of cleared) expect(c).toMatch(/^[A-Za-z-]+=; Max-Age=0; Path=\/videos\/a\/; HttpOnly; SameSite=Lax$/);
  });
});

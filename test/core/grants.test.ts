// Grant sharing: one signature per video and GRANT_WINDOW, none shared when the window is 0 or the grant is IP-bound.
import { describe, expect, it } from 'vitest';
import { importPrivateKey } from '../../server/core/index.ts';
import { createGrantIssuer } from '../../server/app/grants.ts';
import { fixtureKey } from '../helpers/fixtures.ts';

describe('grant issuer', () => {
  const at = Date.UTC(2026, 10, 23, 12, 0, 0, 250);
  const issuer = async (window: number) => createGrantIssuer({ keyPairId: 'K2JCJMDEHXQW5F', signingKey: await importPrivateKey(fixtureKey('ec-pkcs8.pem')), ttl: 600, window });

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

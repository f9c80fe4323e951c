// Viewer tokens: a token jose accepted is remembered, but never past its own time claims or for another token.
import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { createViewerAuth } from '../../server/app/auth.ts';

const SECRET = 'viewer-auth-test-secret-that-is-long-enough';
const sign = (claims: Record<string, unknown>, exp: number, nbf?: number, secret = SECRET) => {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp);
  if (nbf !== undefined) jwt = jwt.setNotBefore(nbf);
  return jwt.sign(new TextEncoder().encode(secret));
};

describe('viewer token check', () => {
  it('a remembered token is refused once it has expired, with the same code as a fresh check', async () => {
    const auth = await createViewerAuth({ secret: SECRET }, false);
    const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);
    const token = await sign({ videos: ['a'] }, t0 / 1000 + 10);
    expect(await auth.authenticate(`Bearer ${token}`, t0)).toMatchObject({ ok: true, viewer: { videos: ['a'] } });
    expect(await auth.authenticate(`Bearer ${token}`, t0 + 9_000)).toMatchObject({ ok: true });
    expect(await auth.authenticate(`Bearer ${token}`, t0 + 10_000)).toMatchObject({ ok: false, code: 'token-expired' });
  });

  it('a remembered token is not valid before its nbf, and a token with another signature is judged on its own', async () => {
    const auth = await createViewerAuth({ secret: SECRET }, false);
    const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);
    const token = await sign({ videos: '*' }, t0 / 1000 + 100, t0 / 1000);
    expect(await auth.authenticate(`Bearer ${token}`, t0)).toMatchObject({ ok: true });
    expect(await auth.authenticate(`Bearer ${token}`, t0 - 5_000)).toMatchObject({ ok: false, code: 'token-claims' });
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${(await sign({ videos: '*' }, t0 / 1000 + 100, t0 / 1000, 'another-secret-that-is-long-enough-too')).split('.')[2]}`;
    expect(await auth.authenticate(`Bearer ${forged}`, t0)).toMatchObject({ ok: false, code: 'token-invalid' });
  });
});

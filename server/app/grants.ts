import type { Context } from 'hono';
import {
  buildCustomPolicy,
  signPolicyCookies,
  type HashAlgorithm,
  type SignedCookies,
  type SigningKey,
} from '../core/index.ts';
import { COOKIE, SESSION_COOKIE } from '../core/cookies.ts';
import { Lru } from '../core/lru.ts';

// Issues the CloudFront cookies of one video. Expiries are rounded up to a multiple of the grant window, so every
// viewer of a video within one window gets the same policy, and its signature is reused from a bounded cache:
// a burst of viewers costs one RSA signature per video and window instead of one per viewer.
// IP-bound grants differ per viewer and are never shared.

/** A grant as the gateway issues it (signed cookies for one folder); `Grant` of hls-gate is one as a verifier judged it. */
export interface IssuedGrant {
  resource: string;
  cookies: SignedCookies;
  /** epoch seconds */
  expiresAt: number;
  refreshAt: number;
}

export interface GrantIssuerOptions {
  keyPairId: string;
  signingKey: SigningKey;
  ttl: number;
  window: number;
  hashAlgorithm?: HashAlgorithm;
  cacheSize?: number;
}

export function createGrantIssuer(opts: GrantIssuerOptions) {
  const cache = new Lru<Promise<SignedCookies>>(opts.cacheSize ?? 1000);
  const counters = { signatures: 0, reused: 0 };
  const signer = {
    keyPairId: opts.keyPairId,
    privateKey: opts.signingKey,
    ...(opts.hashAlgorithm ? { hashAlgorithm: opts.hashAlgorithm } : {}),
  };

  /** A grant for `resource` (a folder pattern such as `https://media.example.com/videos/abc/*`). */
  async function issue(resource: string, nowMs: number, ip?: string): Promise<IssuedGrant> {
    const now = Math.floor(nowMs / 1000);
    const minEnd = now + opts.ttl;
    const expiresAt = opts.window > 0 ? Math.ceil(minEnd / opts.window) * opts.window : minEnd;
    const policy = buildCustomPolicy({ resource, expires: expiresAt, ...(ip ? { ipAddress: ip } : {}) });
    // GRANT_WINDOW=0 turns sharing off entirely (grants within one second would otherwise share a policy); an
    // IP-bound grant is never shared.
    const share = !ip && opts.window > 0;
    let cookies: Promise<SignedCookies> | undefined = share ? cache.get(policy) : undefined;
    if (cookies) counters.reused++;
    else {
      counters.signatures++;
      const signing = signPolicyCookies(policy, signer);
      cookies = signing;
      if (share) {
        // Viewers arriving while it is signed share the one signature. A signer that fails (a key service, an HSM)
        // costs the grants waiting on it, nothing more: the failure is dropped from the cache so the next viewer
        // signs afresh, and nothing is left rejected without a handler (which would end a Node process).
        cache.set(policy, signing);
        signing.catch(() => {
          if (cache.get(policy) === signing) cache.delete(policy);
        });
      }
    }
    // Renew well before the end: 20% of the grant (at least 5 s), but never more than half of it.
    const life = expiresAt - now;
    const margin = Math.min(Math.max(Math.ceil(opts.ttl * 0.2), 5), Math.floor(life / 2));
    return { resource, cookies: await cookies, expiresAt, refreshAt: expiresAt - margin };
  }

  return { issue, stats: () => ({ ...counters }) };
}

export type GrantIssuer = ReturnType<typeof createGrantIssuer>;

export interface GrantCookieScope {
  /** The folder the grant covers: the cookies' Path, so grants for several videos coexist (aws-sdk-go #505). */
  path: string;
  domain?: string;
  secure: boolean;
}

/** The cookies a grant may set (custom policy), cleared together. */
const GRANT_COOKIES = [COOKIE.policy, COOKIE.signature, COOKIE.keyPairId, COOKIE.hash];

/** The header a player sends its device session id back in, on refresh and on stop. */
export { SESSION_HEADER } from '../core/headers.ts';

/**
 * The attributes of every cookie of one grant (RFC 6265 section 4.1.1), in the order hono/cookie writes them:
 * HttpOnly, SameSite=Lax, Secure for https media, the folder as Path, Max-Age matching the grant.
 */
function cookieAttributes(scope: GrantCookieScope, maxAge: number): string {
  return `; Max-Age=${maxAge}${scope.domain ? `; Domain=${scope.domain}` : ''}; Path=${scope.path}; HttpOnly${scope.secure ? '; Secure' : ''}; SameSite=Lax`;
}

/** Grant cookie values are CloudFront base64, key pair IDs and session proofs: cookie octets needing no encoding. */
const COOKIE_VALUE = /^[A-Za-z0-9_~.-]*$/;

function appendCookie(c: Context, name: string, value: string, attributes: string): void {
  if (!COOKIE_VALUE.test(value)) throw new Error(`the ${name} cookie value is not a plain cookie value`);
  c.header('Set-Cookie', `${name}=${value}${attributes}`, { append: true });
}

/** The session control's companion cookie: same scope and lifetime as the grant it is bound to. */
export function setSessionCookie(
  c: Context,
  value: string,
  scope: GrantCookieScope,
  expiresAt: number,
  nowMs: number,
): void {
  appendCookie(c, SESSION_COOKIE, value, cookieAttributes(scope, Math.max(0, expiresAt - Math.floor(nowMs / 1000))));
}

/** Sets a grant's cookies: HttpOnly, SameSite=Lax, Secure for https media, Max-Age matching the grant. */
export function setGrantCookies(c: Context, grant: IssuedGrant, scope: GrantCookieScope, nowMs: number): void {
  const attributes = cookieAttributes(scope, Math.max(0, grant.expiresAt - Math.floor(nowMs / 1000)));
  for (const [name, value] of Object.entries(grant.cookies)) appendCookie(c, name, String(value), attributes);
}

/** Clears every grant cookie of one folder (same Path and Domain as when set). */
export function clearGrantCookies(c: Context, scope: GrantCookieScope, withSession = false): void {
  const attributes = cookieAttributes(scope, 0);
  for (const name of withSession ? [...GRANT_COOKIES, SESSION_COOKIE] : GRANT_COOKIES)
    appendCookie(c, name, '', attributes);
}

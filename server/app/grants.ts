import { buildCustomPolicy, signPolicyCookies, type SignedCookies, type SigningKey } from '../core/index.ts';
import { Lru } from '../core/lru.ts';

// Issues the CloudFront cookies of one video. Expiries are rounded up to a multiple of the grant window, so every
// viewer of a video within one window gets the same policy, and its signature is reused from a bounded cache:
// a burst of viewers costs one RSA signature per video and window instead of one per viewer.
// IP-bound grants differ per viewer and are never shared.

export interface Grant {
  videoId: string;
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
  cacheSize?: number;
}

export function createGrantIssuer(opts: GrantIssuerOptions) {
  const cache = new Lru<Promise<SignedCookies>>(opts.cacheSize ?? 1000);
  const counters = { signatures: 0, reused: 0 };

  async function issue(mediaBase: string, videoId: string, nowMs: number, ip?: string): Promise<Grant> {
    const now = Math.floor(nowMs / 1000);
    const minEnd = now + opts.ttl;
    const expiresAt = opts.window > 0 ? Math.ceil(minEnd / opts.window) * opts.window : minEnd;
    const resource = `${mediaBase}/videos/${videoId}/*`;
    const policy = buildCustomPolicy({ resource, expires: expiresAt, ...(ip ? { ipAddress: ip } : {}) });
    let cookies: Promise<SignedCookies> | undefined = ip ? undefined : cache.get(policy);
    if (cookies) counters.reused++;
    else {
      counters.signatures++;
      cookies = signPolicyCookies(policy, { keyPairId: opts.keyPairId, privateKey: opts.signingKey });
      if (!ip) {
        cache.set(policy, cookies);
        cookies.catch(() => cache.set(policy, Promise.reject(new Error('signing failed'))));
      }
    }
    // Renew well before the end: 20% of the grant (at least 5 s), but never more than half of it.
    const life = expiresAt - now;
    const margin = Math.min(Math.max(Math.ceil(opts.ttl * 0.2), 5), Math.floor(life / 2));
    return { videoId, resource, cookies: await cookies, expiresAt, refreshAt: expiresAt - margin };
  }

  return { issue, stats: () => ({ ...counters }) };
}

export type GrantIssuer = ReturnType<typeof createGrantIssuer>;

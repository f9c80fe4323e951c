import type { Context } from 'hono';
import { importPrivateKey, type HashAlgorithm, type SigningKey } from '../core/index.ts';
import { KEY_PAIR_ID } from '../core/cookies.ts';
import { createGrantIssuer, setGrantCookies } from '../app/grants.ts';
import { VIDEO_ID, videoFolder } from '../app/layout.ts';
import { checkCookieDomain, isPlainHost } from '../app/hosts.ts';

/** Options of {@link accessGrants}. */
export interface AccessGrantsOptions {
  /** The public key ID CloudFront gave your key (e.g. K2JCJMDEHXQW5F). */
  keyPairId: string;
  /** The private key: PEM (PKCS#8, PKCS#1 or SEC1), or a key imported with `importPrivateKey`. */
  privateKey: string | SigningKey;
  /**
   * Where the gateway's `/videos/<id>/` folders are served, e.g. `https://media.example.com`, or with the path the
   * gateway is mounted at: `https://example.com/media`. Policies and cookie Paths are made from it.
   */
  mediaBaseUrl: string;
  /** Shared parent domain for the cookies (e.g. `example.com`). Default: host-only cookies. */
  cookieDomain?: string;
  /** Seconds a grant lasts at least. Default 3600. */
  ttl?: number;
  /** Expiries are rounded up to a multiple of this many seconds so viewers share a policy. Default 60; 0 turns it off. */
  grantWindow?: number;
  /** Default SHA1, as CloudFront. */
  hashAlgorithm?: HashAlgorithm;
  /** Milliseconds since the epoch; for tests. */
  now?: () => number;
}

/** What {@link AccessGrants.grant} answers, the same shape as `POST /api/videos/:id/access`. */
export interface AccessGrant {
  videoId: string;
  /** The video's folder URL; append its playlist's name (`master.m3u8`). */
  folderUrl: string;
  expiresAt: string;
  refreshAt: string;
}

export interface AccessGrants {
  /**
   * Sets the CloudFront cookies of one video's folder on the response, for a viewer your app has already
   * authenticated and entitled (hls-gate does not look at who it is).
   */
  grant(c: Context, videoId: string, options?: { ip?: string }): Promise<AccessGrant>;
}

/**
 * Grants for a host app with its own sessions (no viewer JWT): after your auth, call `grant(c, videoId)`.
 *
 * ```ts
 * const grants = accessGrants({ keyPairId, privateKey: pem, mediaBaseUrl: 'https://example.com/media' });
 * app.post('/watch/:id', requireLogin, async (c) => c.json(await grants.grant(c, c.req.param('id'))));
 * ```
 */
export function accessGrants(options: AccessGrantsOptions): AccessGrants {
  if (!KEY_PAIR_ID.test(options.keyPairId)) throw new TypeError('accessGrants: keyPairId must be letters and digits, like K2JCJMDEHXQW5F');
  let base: URL;
  try {
    base = new URL(options.mediaBaseUrl);
  } catch {
    throw new TypeError('accessGrants: mediaBaseUrl must be a URL, like https://media.example.com');
  }
  if ((base.protocol !== 'https:' && base.protocol !== 'http:') || !isPlainHost(base.host) || base.search || base.hash) {
    throw new TypeError('accessGrants: mediaBaseUrl must be http(s)://one-host[/prefix], with no wildcard or query');
  }
  if (options.cookieDomain !== undefined) checkCookieDomain(options.cookieDomain.replace(/^\./, '').toLowerCase());
  const ttl = options.ttl ?? 3600;
  const window = options.grantWindow ?? 60;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 86400) throw new TypeError('accessGrants: ttl must be whole seconds, 1 to 7 days');
  if (!Number.isInteger(window) || window < 0 || window > 3600) throw new TypeError('accessGrants: grantWindow must be 0 to 3600 seconds');
  const origin = base.origin;
  const prefix = base.pathname.replace(/\/+$/, '');
  const now = options.now ?? (() => Date.now());
  const key = typeof options.privateKey === 'string' ? importPrivateKey(options.privateKey) : Promise.resolve(options.privateKey);
  key.catch(() => {});
  const issuer = key.then((signingKey) => createGrantIssuer({ keyPairId: options.keyPairId, signingKey, ttl, window, ...(options.hashAlgorithm ? { hashAlgorithm: options.hashAlgorithm } : {}) }));
  issuer.catch(() => {});

  return {
    async grant(c, videoId, grantOptions = {}) {
      if (!VIDEO_ID.test(videoId)) throw new TypeError('video IDs are 1 to 64 letters, digits, "-" or "_"');
      const folder = videoFolder(prefix, videoId);
      const nowMs = now();
      const grant = await (await issuer).issue(`${origin}${folder}*`, nowMs, grantOptions.ip);
      setGrantCookies(c, grant, { path: folder, secure: origin.startsWith('https:'), ...(options.cookieDomain ? { domain: options.cookieDomain.replace(/^\./, '') } : {}) }, nowMs);
      return {
        videoId,
        folderUrl: `${origin}${folder}`,
        expiresAt: new Date(grant.expiresAt * 1000).toISOString(),
        refreshAt: new Date(grant.refreshAt * 1000).toISOString(),
      };
    },
  };
}

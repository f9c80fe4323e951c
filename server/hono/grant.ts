import type { Context } from 'hono';
import { importPrivateKey, type HashAlgorithm, type SigningKey } from '../core/index.ts';
import { createGrantIssuer, setGrantCookies } from '../app/grants.ts';
import { VIDEO_ID, videoFolder } from '../app/layout.ts';
import {
  ACCESS_TTL,
  GRANT_WINDOW,
  checkCookieDomain,
  checkKeyPairId,
  checkMountUrl,
  checkSeconds,
  type Refuse,
} from '../app/option-checks.ts';
import { refuseOptions } from './options-error.ts';

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
  /** Shared parent domain for the cookies (e.g. `example.com`), covering mediaBaseUrl's host. Default: host-only cookies. */
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
  const refuse: Refuse = refuseOptions('accessGrants');
  checkKeyPairId(options.keyPairId, 'keyPairId', refuse);
  const { origin, prefix } = checkMountUrl(options.mediaBaseUrl, 'mediaBaseUrl', refuse);
  const names = { domain: 'cookieDomain', base: 'mediaBaseUrl' };
  const cookieDomain =
    options.cookieDomain === undefined
      ? undefined
      : checkCookieDomain(options.cookieDomain, new URL(origin).hostname, names, refuse);
  const ttl = checkSeconds(options.ttl ?? 3600, 'ttl', ACCESS_TTL, refuse);
  const window = checkSeconds(options.grantWindow ?? 60, 'grantWindow', GRANT_WINDOW, refuse);
  const now = options.now ?? (() => Date.now());
  const key =
    typeof options.privateKey === 'string' ? importPrivateKey(options.privateKey) : Promise.resolve(options.privateKey);
  key.catch(() => {});
  const issuer = key.then((signingKey) =>
    createGrantIssuer({
      keyPairId: options.keyPairId,
      signingKey,
      ttl,
      window,
      ...(options.hashAlgorithm ? { hashAlgorithm: options.hashAlgorithm } : {}),
    }),
  );
  issuer.catch(() => {});

  return {
    async grant(c, videoId, grantOptions = {}) {
      if (!VIDEO_ID.test(videoId)) refuse('grant: video IDs are 1 to 64 letters, digits, "-" or "_"');
      const folder = videoFolder(prefix, videoId);
      const nowMs = now();
      const grant = await (await issuer).issue(`${origin}${folder}*`, nowMs, grantOptions.ip);
      setGrantCookies(
        c,
        grant,
        { path: folder, secure: origin.startsWith('https:'), ...(cookieDomain ? { domain: cookieDomain } : {}) },
        nowMs,
      );
      return {
        videoId,
        folderUrl: `${origin}${folder}`,
        expiresAt: new Date(grant.expiresAt * 1000).toISOString(),
        refreshAt: new Date(grant.refreshAt * 1000).toISOString(),
      };
    },
  };
}

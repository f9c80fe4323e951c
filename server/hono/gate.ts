import type { Context, MiddlewareHandler } from 'hono';
import { createVerifier, importPublicKey, type Grant, type Verifier, type VerifyKey } from '../core/index.ts';
import { badHost, cloudFrontDenial } from '../app/responses.ts';
import { createMediaOrigin } from '../app/hosts.ts';
import { checkHosts, checkKeyPairId, checkOneOriginRule, checkOrigin, type Refuse } from '../app/option-checks.ts';
import { refuseOptions } from './options-error.ts';

interface CloudFrontGateCommon {
  /** The trusted public keys: key pair ID → SPKI or PKCS#1 PEM (your CloudFront key group). At least one. */
  publicKeys: Record<string, string>;
  /** The viewer's IP address, for IP-bound policies. */
  clientIp?: (c: Context) => string | null;
  /** Milliseconds since the epoch; for tests. */
  now?: () => number;
}

/**
 * Options of {@link cloudFrontGate}: the trusted keys, and where the policies are valid: `mediaBaseUrl` or `hosts`,
 * never both.
 */
export type CloudFrontGateOptions = CloudFrontGateCommon &
  (
    | {
        /** The public origin the viewer uses, e.g. `https://media.example.com`: policies name it. One host, no wildcard. */
        mediaBaseUrl: string;
        hosts?: never;
      }
    | {
        /** Host names (any port) or `host:port` this gate answers for: the request's own origin is then the public one. */
        hosts: readonly string[];
        mediaBaseUrl?: never;
      }
  );

/** The context variables {@link cloudFrontGate} sets. */
export interface CloudFrontGateEnv {
  Variables: {
    /** The grant that let this request through: resource, expiry, key pair ID, source (cookie or URL). */
    cloudFrontGrant: Grant;
  };
}

/**
 * Gates the host's own routes exactly as CloudFront gates a distribution: signed cookies or a signed URL, checked
 * against `publicKeys`; a refusal is CloudFront's 403 XML with `X-Hls-Gate-Reason`. On success `c.var.cloudFrontGrant`
 * holds the grant. Options are checked when the middleware is made.
 *
 * ```ts
 * app.use('/private/*', cloudFrontGate({ publicKeys: { K2JCJMDEHXQW5F: pem }, mediaBaseUrl: 'https://example.com' }));
 * ```
 */
export function cloudFrontGate(options: CloudFrontGateOptions): MiddlewareHandler<CloudFrontGateEnv> {
  const refuse: Refuse = refuseOptions('cloudFrontGate');
  const entries = Object.entries(options.publicKeys ?? {});
  if (entries.length === 0) refuse('publicKeys needs at least one KEY_PAIR_ID: PEM entry');
  for (const [id, pem] of entries) {
    checkKeyPairId(id, 'publicKeys', refuse);
    if (typeof pem !== 'string' || !pem.includes('-----BEGIN')) refuse(`the key of ${id} must be a PEM public key`);
  }
  // One trailing slash is forgiven, as in MEDIA_BASE_URL.
  const base = options.mediaBaseUrl
    ? checkOrigin(options.mediaBaseUrl.replace(/\/$/, ''), 'mediaBaseUrl', refuse)
    : undefined;
  const hosts = checkHosts(options.hosts ?? [], 'hosts', refuse);
  checkOneOriginRule(base, hosts, { base: 'mediaBaseUrl', hosts: 'hosts' }, refuse);
  if (!base && hosts.length === 0) refuse("set mediaBaseUrl, or hosts when the request's own origin is the public one");
  const origin = createMediaOrigin(base ? { mediaBaseUrl: base, mediaHosts: [] } : { mediaHosts: hosts });
  const now = options.now ?? (() => Date.now());
  // Keys are imported once; an unreadable key fails every request with that message, never a grant.
  const verifier: Promise<Verifier> = (async () => {
    const keys = new Map<string, VerifyKey>();
    for (const [id, pem] of entries) keys.set(id, await importPublicKey(pem));
    return createVerifier({ keys: keys });
  })();
  verifier.catch(() => {});

  return async function cloudFrontGateMiddleware(c, next) {
    const url = new URL(c.req.url);
    const publicOrigin = origin(c.req.url);
    if (!publicOrigin) return badHost();
    const verdict = await (
      await verifier
    ).verify({
      url: publicOrigin + url.pathname + url.search,
      cookie: c.req.raw.headers.get('Cookie'),
      clientIp: options.clientIp?.(c) ?? null,
      now: now() / 1000,
    });
    if (!verdict.ok) return cloudFrontDenial(verdict.denial);
    c.set('cloudFrontGrant', verdict.grant);
    await next();
  };
}

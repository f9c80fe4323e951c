import type { Context, MiddlewareHandler } from 'hono';
import { createVerifier, importPublicKey, type Grant, type KeyGroup, type Verifier, type VerifyKey } from '../core/index.ts';
import { KEY_PAIR_ID } from '../core/cookies.ts';
import { badHost, cloudFrontDenial } from '../app/responses.ts';
import { createMediaOrigin } from '../app/hosts.ts';

/** Options of {@link cloudFrontGate}. */
export interface CloudFrontGateOptions {
  /** The trusted public keys: key pair ID → SPKI or PKCS#1 PEM (your CloudFront key group). At least one. */
  publicKeys: Record<string, string>;
  /**
   * The public origin the viewer uses, e.g. `https://media.example.com`: policies name it. Without it the request's
   * own origin is used, when its host is one of `hosts` (required then).
   */
  mediaBaseUrl?: string;
  /** Without `mediaBaseUrl`: host names (any port) or `host:port` this gate answers for. */
  hosts?: string[];
  /** The viewer's IP address, for IP-bound policies. */
  clientIp?: (c: Context) => string | null;
  /** Milliseconds since the epoch; for tests. */
  now?: () => number;
}

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
  const entries = Object.entries(options.publicKeys ?? {});
  if (entries.length === 0) throw new TypeError('cloudFrontGate: publicKeys needs at least one KEY_PAIR_ID: PEM entry');
  for (const [id, pem] of entries) {
    if (!KEY_PAIR_ID.test(id)) throw new TypeError(`cloudFrontGate: "${id}" is not a key pair ID (letters and digits, like K2JCJMDEHXQW5F)`);
    if (typeof pem !== 'string' || !pem.includes('-----BEGIN')) throw new TypeError(`cloudFrontGate: the key of ${id} must be a PEM public key`);
  }
  if (!options.mediaBaseUrl && !options.hosts?.length) throw new TypeError('cloudFrontGate: set mediaBaseUrl, or hosts when the request\'s own origin is the public one');
  let base: string | undefined;
  if (options.mediaBaseUrl) {
    const u = new URL(options.mediaBaseUrl);
    if (u.pathname !== '/' || u.search) throw new TypeError('cloudFrontGate: mediaBaseUrl must be an origin, like https://media.example.com');
    base = u.origin;
  }
  const origin = createMediaOrigin({ ...(base ? { mediaBaseUrl: base } : {}), mediaHosts: (options.hosts ?? []).map((h) => h.toLowerCase()) });
  const now = options.now ?? (() => Date.now());
  // Keys are imported once; an unreadable key fails every request with that message, never a grant.
  const verifier: Promise<Verifier> = (async () => {
    const keys = new Map<string, VerifyKey>();
    for (const [id, pem] of entries) keys.set(id, await importPublicKey(pem));
    return createVerifier({ keys: keys as KeyGroup });
  })();
  verifier.catch(() => {});

  return async function cloudFrontGateMiddleware(c, next) {
    const url = new URL(c.req.url);
    const publicOrigin = origin(c.req.url);
    if (!publicOrigin) return badHost();
    const verdict = await (await verifier).verify({
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

// Gateway configuration from environment variables (Node's process.env or a Worker's env), validated once at
// start-up. Every refusal says what to set. Web-standard only: files are read by the Node entry beforehand.

import { ConfigError, type Env } from './config-error.ts';
import { parseBool, resolveMode } from './mode.ts';
import { checkCookieDomain, isPlainHost, parseMediaHosts } from './hosts.ts';
import { KEY_PAIR_ID } from '../core/cookies.ts';

export { ConfigError, type Env };

export interface TrustedKeyConfig {
  keyPairId: string;
  pem: string;
}

export interface AuthConfig {
  /** The claim listing the viewer's videos (an array of IDs, or "*"). Default `videos`. */
  videosClaim?: string;
  /** Refuse tokens without `exp`. Default true: a token that never expires is a grant that cannot end. */
  requireExp?: boolean;
  secret?: string;
  publicKeyPem?: string;
  jwksUrl?: string;
  audience?: string;
  issuer?: string;
}

export interface GatewayConfig {
  /** Public origin of the media routes (no trailing slash); undefined = each request's own origin. */
  mediaBaseUrl?: string;
  /** Without mediaBaseUrl: the hosts a request may name (entries without a port allow any); empty = any plain host (demo only). */
  mediaHosts: string[];
  cookieDomain?: string;
  allowedOrigins: string[];
  /** Seconds a grant lasts at least. */
  accessTtl: number;
  /** Seconds a device link (a signed playlist URL for cookie-less devices) lasts at most. */
  deviceLinkTtl: number;
  /**
   * Signed uploads (UPLOADS=true): the largest source accepted, how long an upload URL lasts, and per uploader the
   * most unfinished uploads and source bytes (the admin is not limited).
   */
  uploads?: { maxBytes: number; urlTtl: number; maxPending: number; maxPendingBytes: number };
  /** Expiries are rounded up to a multiple of this many seconds, so grants in one window share a policy. */
  grantWindow: number;
  bindIp: boolean;
  keyPairId: string;
  privateKeyPem: string;
  /** Extra trusted keys; the signing key's public key is always trusted under keyPairId. */
  publicKeys: TrustedKeyConfig[];
  auth: AuthConfig;
  demo: boolean;
  trustProxy: boolean;
  /** Session control: on when SESSION_SECRET is set. */
  sessions?: SessionConfig;
  /** Bearer secret of the admin API (revocations); the API is off without it. */
  adminSecret?: string;
}

export interface SessionConfig {
  secret: string;
  /** MAX_STREAMS_PER_VIEWER: live device sessions per viewer; undefined = no limit. */
  maxStreams?: number;
  /** `memory` (one instance) or a `redis://` / `rediss://` URL (several Node instances). */
  store: string;
  failMode: 'open' | 'closed';
  /** How often each instance checks for new revocations: the worst-case delay of a revocation. */
  pollMs: number;
}


function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** Accepts `3600`, `90s`, `30m`, `1h`, `1d`. */
export function parseDuration(text: string, name: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!m) throw new ConfigError(`${name}="${text}" is not a duration; use seconds (3600) or 30m, 1h, 1d`);
  const n = Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400 } as const)[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return n;
}


/** PEM from an env var: literal `\n` escapes are accepted, since many secret stores keep one line. */
export function pemFromEnv(text: string): string {
  return text.includes('-----BEGIN') ? text.replace(/\\n/g, '\n') : text;
}

function parseOrigin(text: string, name: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${name}: "${text}" is not a URL; write an origin like https://app.example.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${name}: "${text}" must be http or https`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || text.endsWith('/')) {
    throw new ConfigError(`${name}: "${text}" must be an origin only (scheme://host[:port], no path or trailing slash)`);
  }
  if (!isPlainHost(url.host)) throw new ConfigError(`${name}: "${text}" must name one host: no wildcards (a policy for it would be valid on every matching host)`);
  return url.origin;
}

const PUBLIC_KEYS_FORMAT = 'CLOUDFRONT_PUBLIC_KEYS must be KEY_PAIR_ID=PEM entries separated by commas or newlines (on Node, KEY_PAIR_ID=path/to/public_key.pem also works)';

/**
 * `K1=<pem>,K2=<pem>`, or one entry per line; a PEM may hold real newlines or literal `\n`. The one parser for every
 * runtime: on Node a value that is not PEM is a file path, read afterwards by the Node entry.
 */
export function parsePublicKeys(text: string | undefined): TrustedKeyConfig[] {
  if (!text) return [];
  const normalised = pemFromEnv(text);
  const entry = /\s*([A-Za-z0-9_-]+)\s*=\s*(-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----|[^,\n]+?)\s*(?:[,\n]|$)/y;
  const out: TrustedKeyConfig[] = [];
  while (entry.lastIndex < normalised.length) {
    if (/^[\s,]*$/.test(normalised.slice(entry.lastIndex))) break;
    const m = entry.exec(normalised);
    if (!m || !KEY_PAIR_ID.test(m[1]!)) throw new ConfigError(PUBLIC_KEYS_FORMAT);
    if (out.some((k) => k.keyPairId === m[1])) throw new ConfigError(`CLOUDFRONT_PUBLIC_KEYS names ${m[1]} twice: one public key per key pair ID`);
    out.push({ keyPairId: m[1]!, pem: m[2]!.trim() });
  }
  return out;
}

function parseSessions(env: Env, jwtSecret: string | undefined): SessionConfig | undefined {
  const secret = value(env, 'SESSION_SECRET');
  const max = value(env, 'MAX_STREAMS_PER_VIEWER');
  if (secret === undefined) {
    for (const name of ['MAX_STREAMS_PER_VIEWER', 'SESSION_STORE', 'SESSION_STORE_FAILURE', 'SESSION_POLL']) {
      if (value(env, name) !== undefined) throw new ConfigError(`${name} needs session control: set SESSION_SECRET (at least 32 characters; openssl rand -base64 32)`);
    }
    return undefined;
  }
  if (secret.length < 32) throw new ConfigError('SESSION_SECRET must be at least 32 characters; make one with: openssl rand -base64 32');
  if (secret === jwtSecret) throw new ConfigError('SESSION_SECRET must differ from AUTH_JWT_SECRET');
  const out: SessionConfig = { secret, store: value(env, 'SESSION_STORE') ?? 'memory', failMode: 'closed', pollMs: 1000 };
  if (max !== undefined) {
    if (!/^\d+$/.test(max) || Number(max) < 1 || Number(max) > 1000) throw new ConfigError(`MAX_STREAMS_PER_VIEWER="${max}" must be a whole number from 1 to 1000`);
    out.maxStreams = Number(max);
  }
  if (out.store !== 'memory' && !/^rediss?:\/\//.test(out.store)) throw new ConfigError(`SESSION_STORE must be memory or a redis:// URL, not "${out.store.replace(/\/\/[^@]*@/, '//…@')}"`);
  const fail = value(env, 'SESSION_STORE_FAILURE') ?? 'closed';
  if (fail !== 'open' && fail !== 'closed') throw new ConfigError('SESSION_STORE_FAILURE must be closed (refuse while the store is unreachable) or open (carry on without it)');
  out.failMode = fail;
  const poll = parseDuration(value(env, 'SESSION_POLL') ?? '1', 'SESSION_POLL');
  if (poll < 1 || poll > 60) throw new ConfigError('SESSION_POLL must be 1 to 60 seconds');
  out.pollMs = poll * 1000;
  return out;
}

/** Is `host` the cookie domain itself or below it (RFC 6265 section 5.1.3 domain-match)? */
export function domainCovers(domain: string, host: string): boolean {
  const d = domain.replace(/^\./, '').toLowerCase();
  const h = host.toLowerCase();
  return h === d || h.endsWith(`.${d}`);
}

export function parseConfig(env: Env): GatewayConfig {
  const { demo } = resolveMode(env);
  const mediaBase = value(env, 'MEDIA_BASE_URL');
  const mediaBaseUrl = mediaBase === undefined ? undefined : parseOrigin(mediaBase.replace(/\/$/, ''), 'MEDIA_BASE_URL');

  const cookieDomain = value(env, 'COOKIE_DOMAIN')?.replace(/^\./, '');
  if (cookieDomain !== undefined) {
    if (!/^[a-z0-9.-]+$/i.test(cookieDomain) || !cookieDomain.includes('.') && cookieDomain !== 'localhost') {
      throw new ConfigError(`COOKIE_DOMAIN="${cookieDomain}" is not a domain name; use the shared parent domain, e.g. example.com`);
    }
    checkCookieDomain(cookieDomain.toLowerCase());
    if (!mediaBaseUrl) throw new ConfigError('COOKIE_DOMAIN needs MEDIA_BASE_URL (the public media origin it must cover)');
    const host = new URL(mediaBaseUrl).hostname;
    if (!domainCovers(cookieDomain, host)) {
      throw new ConfigError(`COOKIE_DOMAIN="${cookieDomain}" does not cover the media host "${host}" of MEDIA_BASE_URL: browsers would never send the cookies; use a parent domain of both the player and the media host`);
    }
  }

  const allowedOrigins = (value(env, 'ALLOWED_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter(Boolean).map((o) => parseOrigin(o, 'ALLOWED_ORIGINS'));
  if (allowedOrigins.length > 0 && allowedOrigins.includes('*')) throw new ConfigError('ALLOWED_ORIGINS cannot be *: browsers refuse credentials with a wildcard origin');

  const accessTtl = parseDuration(value(env, 'ACCESS_TTL') ?? '3600', 'ACCESS_TTL');
  if (accessTtl < 1 || accessTtl > 7 * 86400) throw new ConfigError('ACCESS_TTL must be between 1 second and 7 days');
  const deviceLinkTtl = parseDuration(value(env, 'DEVICE_LINK_TTL') ?? '4h', 'DEVICE_LINK_TTL');
  if (deviceLinkTtl < 60 || deviceLinkTtl > 7 * 86400) throw new ConfigError('DEVICE_LINK_TTL must be between 1 minute and 7 days (a device link cannot be refreshed: make it last a film)');
  const grantWindow = parseDuration(value(env, 'GRANT_WINDOW') ?? '60', 'GRANT_WINDOW');
  if (grantWindow > 3600) throw new ConfigError('GRANT_WINDOW must be at most 3600 seconds (0 turns sharing off)');

  const keyPairId = value(env, 'CLOUDFRONT_KEY_PAIR_ID');
  const privateKey = value(env, 'CLOUDFRONT_PRIVATE_KEY');
  if (keyPairId && !privateKey) throw new ConfigError('CLOUDFRONT_KEY_PAIR_ID is set but no private key: set CLOUDFRONT_PRIVATE_KEY (PEM) or CLOUDFRONT_PRIVATE_KEY_FILE');
  if (privateKey && !keyPairId) throw new ConfigError('a private key is set but CLOUDFRONT_KEY_PAIR_ID is not: set it to the ID CloudFront gave the public key (e.g. K2JCJMDEHXQW5F)');
  if (!keyPairId || !privateKey) throw new ConfigError('no signing key: set CLOUDFRONT_KEY_PAIR_ID and CLOUDFRONT_PRIVATE_KEY (or CLOUDFRONT_PRIVATE_KEY_FILE); make a pair with: npx hls-gate keys generate');
  if (!KEY_PAIR_ID.test(keyPairId)) throw new ConfigError(`CLOUDFRONT_KEY_PAIR_ID="${keyPairId}" must be letters and digits, like K2JCJMDEHXQW5F`);

  const auth: AuthConfig = {};
  const secret = value(env, 'AUTH_JWT_SECRET');
  if (secret !== undefined) {
    if (secret.length < 32) throw new ConfigError('AUTH_JWT_SECRET must be at least 32 characters (HS256 needs a 256-bit secret); make one with: openssl rand -base64 32');
    auth.secret = secret;
  }
  const jwtPublicKey = value(env, 'AUTH_JWT_PUBLIC_KEY');
  if (jwtPublicKey !== undefined) auth.publicKeyPem = pemFromEnv(jwtPublicKey);
  const jwks = value(env, 'AUTH_JWKS_URL');
  if (jwks !== undefined) {
    try {
      auth.jwksUrl = new URL(jwks).href;
    } catch {
      throw new ConfigError(`AUTH_JWKS_URL="${jwks}" is not a URL`);
    }
  }
  const audience = value(env, 'AUTH_JWT_AUDIENCE');
  if (audience !== undefined) auth.audience = audience;
  const issuer = value(env, 'AUTH_JWT_ISSUER');
  if (issuer !== undefined) auth.issuer = issuer;

  const sessions = parseSessions(env, auth.secret);
  // The demo takes uploads by default (its page has an upload panel); a deployment turns them on explicitly.
  const uploads = parseBool(value(env, 'UPLOADS'), 'UPLOADS') ?? demo;
  const uploadMax = value(env, 'UPLOAD_MAX_BYTES');
  const uploadVars = ['UPLOAD_MAX_BYTES', 'UPLOAD_URL_TTL', 'UPLOAD_MAX_PENDING', 'UPLOAD_MAX_PENDING_BYTES'];
  const stray = uploadVars.find((name) => value(env, name) !== undefined);
  if (!uploads && stray) throw new ConfigError(`${stray} needs UPLOADS=true`);
  let uploadConfig: GatewayConfig['uploads'];
  if (uploads) {
    const maxBytes = uploadMax === undefined ? 2 * 1024 ** 3 : Number(uploadMax);
    if (!Number.isInteger(maxBytes) || maxBytes < 1024 || maxBytes > 100 * 1024 ** 3) throw new ConfigError('UPLOAD_MAX_BYTES must be a whole number of bytes from 1024 to 100 GiB');
    const urlTtl = parseDuration(value(env, 'UPLOAD_URL_TTL') ?? '1h', 'UPLOAD_URL_TTL');
    if (urlTtl < 60 || urlTtl > 86400) throw new ConfigError('UPLOAD_URL_TTL must be between 1 minute and 1 day');
    const maxPending = Number(value(env, 'UPLOAD_MAX_PENDING') ?? '5');
    if (!Number.isInteger(maxPending) || maxPending < 1 || maxPending > 1000) throw new ConfigError('UPLOAD_MAX_PENDING must be a whole number from 1 to 1000 (unfinished uploads per uploader)');
    const pendingBytes = value(env, 'UPLOAD_MAX_PENDING_BYTES');
    const maxPendingBytes = pendingBytes === undefined ? 2 * maxBytes : Number(pendingBytes);
    if (!Number.isInteger(maxPendingBytes) || maxPendingBytes < maxBytes) throw new ConfigError(`UPLOAD_MAX_PENDING_BYTES must be a whole number of bytes, at least UPLOAD_MAX_BYTES (${maxBytes})`);
    uploadConfig = { maxBytes, urlTtl, maxPending, maxPendingBytes };
  }
  const adminSecret = value(env, 'ADMIN_SECRET');
  if (adminSecret !== undefined) {
    if (adminSecret.length < 32) throw new ConfigError('ADMIN_SECRET must be at least 32 characters; make one with: openssl rand -base64 32');
    if (adminSecret === auth.secret || adminSecret === sessions?.secret) throw new ConfigError('ADMIN_SECRET must differ from AUTH_JWT_SECRET and SESSION_SECRET: whoever can mint viewer tokens must not be able to lift revocations');
  }

  const mediaHosts = parseMediaHosts(value(env, 'MEDIA_HOSTS'));
  if (mediaBaseUrl && mediaHosts.length > 0) throw new ConfigError('set MEDIA_BASE_URL or MEDIA_HOSTS, not both: with MEDIA_BASE_URL every grant names that origin');
  if (!demo && !mediaBaseUrl && mediaHosts.length === 0) {
    throw new ConfigError('set MEDIA_BASE_URL (the public media origin) or MEDIA_HOSTS (the host names the gateway answers for): grants must never name a host taken unchecked from a request');
  }

  return {
    ...(mediaBaseUrl ? { mediaBaseUrl } : {}),
    mediaHosts,
    ...(cookieDomain ? { cookieDomain } : {}),
    allowedOrigins,
    accessTtl,
    deviceLinkTtl,
    grantWindow,
    bindIp: parseBool(value(env, 'ACCESS_BIND_IP'), 'ACCESS_BIND_IP') ?? false,
    keyPairId,
    privateKeyPem: pemFromEnv(privateKey),
    publicKeys: parsePublicKeys(value(env, 'CLOUDFRONT_PUBLIC_KEYS')),
    auth,
    demo,
    trustProxy: parseBool(value(env, 'TRUST_PROXY'), 'TRUST_PROXY') ?? false,
    ...(sessions ? { sessions } : {}),
    ...(uploadConfig ? { uploads: uploadConfig } : {}),
    ...(adminSecret ? { adminSecret } : {}),
  };
}

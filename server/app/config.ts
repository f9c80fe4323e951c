// Gateway configuration from environment variables (Node's process.env or a Worker's env), validated once at
// start-up. Every refusal says what to set. Web-standard only: files are read by the Node entry beforehand.

import { ConfigError, type Env } from './config-error.ts';
import { NEEDS, parseBool, resolveMode, type Mode } from './mode.ts';
import {
  ACCESS_TTL,
  GRANT_WINDOW,
  checkCookieDomain,
  checkHosts,
  checkKeyPairId,
  checkOneOriginRule,
  checkOrigin,
  checkSeconds,
  type Refuse,
  type SecondsRange,
} from './option-checks.ts';
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

/**
 * Where grants are valid: one public origin (and then, optionally, a parent domain the cookies are shared with), or
 * each request's own origin when its host is allowed. Never both.
 */
export type MediaOriginConfig =
  | {
      /** Public origin of the media routes (no trailing slash). */
      mediaBaseUrl: string;
      mediaHosts: [];
      /** A parent domain of the media host, for cookies shared with the player's host. */
      cookieDomain?: string;
    }
  | {
      mediaBaseUrl?: never;
      /** The hosts a request may name (entries without a port allow any); empty = any plain host (demo only). */
      mediaHosts: string[];
      cookieDomain?: never;
    };

export type GatewayConfig = MediaOriginConfig & GatewayConfigBase;

export interface GatewayConfigBase {
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

/** How the variables refuse: a ConfigError, which the entries print as "configuration error: ..." at start-up. */
export const refuseConfig: Refuse = (message) => {
  throw new ConfigError(message);
};

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

/** A duration variable (or its default) within the range its rule allows. */
export function seconds(env: Env, name: string, fallback: string, range: SecondsRange): number {
  return checkSeconds(parseDuration(value(env, name) ?? fallback, name), name, range, refuseConfig);
}

/** MEDIA_BASE_URL (one trailing slash forgiven) or MEDIA_HOSTS, and COOKIE_DOMAIN, which needs MEDIA_BASE_URL to cover. */
function parseMediaOrigin(env: Env): MediaOriginConfig {
  const base = value(env, 'MEDIA_BASE_URL');
  const mediaBaseUrl =
    base === undefined ? undefined : checkOrigin(base.replace(/\/$/, ''), 'MEDIA_BASE_URL', refuseConfig);
  const cookie = value(env, 'COOKIE_DOMAIN');
  if (cookie !== undefined && !mediaBaseUrl)
    refuseConfig('COOKIE_DOMAIN needs MEDIA_BASE_URL (the public media origin it must cover)');
  const names = { domain: 'COOKIE_DOMAIN', base: 'MEDIA_BASE_URL' };
  const cookieDomain =
    cookie !== undefined && mediaBaseUrl
      ? checkCookieDomain(cookie, new URL(mediaBaseUrl).hostname, names, refuseConfig)
      : undefined;
  const hostList = value(env, 'MEDIA_HOSTS');
  const mediaHosts = checkHosts(
    (hostList ?? '').split(',').filter((h) => h.trim() !== ''),
    'MEDIA_HOSTS',
    refuseConfig,
  );
  if (hostList !== undefined && mediaHosts.length === 0)
    refuseConfig(`MEDIA_HOSTS="${hostList}" lists no host: ${NEEDS.mediaOrigin}`);
  checkOneOriginRule(mediaBaseUrl, mediaHosts, { base: 'MEDIA_BASE_URL', hosts: 'MEDIA_HOSTS' }, refuseConfig);
  if (!mediaBaseUrl) return { mediaHosts };
  return { mediaBaseUrl, mediaHosts: [], ...(cookieDomain ? { cookieDomain } : {}) };
}

function parseAllowedOrigins(env: Env): string[] {
  const list = (value(env, 'ALLOWED_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (list.includes('*'))
    refuseConfig('ALLOWED_ORIGINS cannot be *: browsers refuse credentials with a wildcard origin');
  return list.map((o) => checkOrigin(o, 'ALLOWED_ORIGINS', refuseConfig));
}

/** Both halves of the signing key, or neither (which only the demo may leave to its development key). */
function parseSigningKey(env: Env): { keyPairId: string; privateKeyPem: string } {
  const keyPairId = value(env, 'CLOUDFRONT_KEY_PAIR_ID');
  const privateKey = value(env, 'CLOUDFRONT_PRIVATE_KEY');
  if (keyPairId && !privateKey)
    refuseConfig(
      'CLOUDFRONT_KEY_PAIR_ID is set but no private key: set CLOUDFRONT_PRIVATE_KEY (PEM) or CLOUDFRONT_PRIVATE_KEY_FILE',
    );
  if (privateKey && !keyPairId)
    refuseConfig(
      'a private key is set but CLOUDFRONT_KEY_PAIR_ID is not: set it to the ID CloudFront gave the public key (e.g. K2JCJMDEHXQW5F)',
    );
  if (!keyPairId || !privateKey) return refuseConfig(`no signing key: ${NEEDS.signingKey}`);
  return {
    keyPairId: checkKeyPairId(keyPairId, 'CLOUDFRONT_KEY_PAIR_ID', refuseConfig),
    privateKeyPem: pemFromEnv(privateKey),
  };
}

function parseAuth(env: Env): AuthConfig {
  const auth: AuthConfig = {};
  const secret = value(env, 'AUTH_JWT_SECRET');
  if (secret !== undefined) {
    if (secret.length < 32)
      refuseConfig(
        'AUTH_JWT_SECRET must be at least 32 characters (HS256 needs a 256-bit secret); make one with: openssl rand -base64 32',
      );
    auth.secret = secret;
  }
  const jwtPublicKey = value(env, 'AUTH_JWT_PUBLIC_KEY');
  if (jwtPublicKey !== undefined) auth.publicKeyPem = pemFromEnv(jwtPublicKey);
  const jwks = value(env, 'AUTH_JWKS_URL');
  if (jwks !== undefined) {
    try {
      auth.jwksUrl = new URL(jwks).href;
    } catch {
      refuseConfig(`AUTH_JWKS_URL="${jwks}" is not a URL`);
    }
  }
  const audience = value(env, 'AUTH_JWT_AUDIENCE');
  if (audience !== undefined) auth.audience = audience;
  const issuer = value(env, 'AUTH_JWT_ISSUER');
  if (issuer !== undefined) auth.issuer = issuer;
  return auth;
}

const PUBLIC_KEYS_FORMAT =
  'CLOUDFRONT_PUBLIC_KEYS must be KEY_PAIR_ID=PEM entries separated by commas or newlines (on Node, KEY_PAIR_ID=path/to/public_key.pem also works)';

/**
 * `K1=<pem>,K2=<pem>`, or one entry per line; a PEM may hold real newlines or literal `\n`. The one parser for every
 * runtime: on Node a value that is not PEM is a file path, read afterwards by the Node entry.
 */
export function parsePublicKeys(text: string | undefined): TrustedKeyConfig[] {
  if (!text) return [];
  const normalised = pemFromEnv(text);
  const entry =
    /\s*([A-Za-z0-9_-]+)\s*=\s*(-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----|[^,\n]+?)\s*(?:[,\n]|$)/y;
  const out: TrustedKeyConfig[] = [];
  while (entry.lastIndex < normalised.length) {
    if (/^[\s,]*$/.test(normalised.slice(entry.lastIndex))) break;
    const m = entry.exec(normalised);
    if (!m || !KEY_PAIR_ID.test(m[1]!)) throw new ConfigError(PUBLIC_KEYS_FORMAT);
    if (out.some((k) => k.keyPairId === m[1]))
      throw new ConfigError(`CLOUDFRONT_PUBLIC_KEYS names ${m[1]} twice: one public key per key pair ID`);
    out.push({ keyPairId: m[1]!, pem: m[2]!.trim() });
  }
  return out;
}

function parseSessions(env: Env, jwtSecret: string | undefined): SessionConfig | undefined {
  const secret = value(env, 'SESSION_SECRET');
  const max = value(env, 'MAX_STREAMS_PER_VIEWER');
  if (secret === undefined) {
    for (const name of ['MAX_STREAMS_PER_VIEWER', 'SESSION_STORE', 'SESSION_STORE_FAILURE', 'SESSION_POLL']) {
      if (value(env, name) !== undefined)
        throw new ConfigError(
          `${name} needs session control: set SESSION_SECRET (at least 32 characters; openssl rand -base64 32)`,
        );
    }
    return undefined;
  }
  if (secret.length < 32)
    throw new ConfigError('SESSION_SECRET must be at least 32 characters; make one with: openssl rand -base64 32');
  if (secret === jwtSecret) throw new ConfigError('SESSION_SECRET must differ from AUTH_JWT_SECRET');
  const out: SessionConfig = {
    secret,
    store: value(env, 'SESSION_STORE') ?? 'memory',
    failMode: 'closed',
    pollMs: 1000,
  };
  if (max !== undefined) {
    if (!/^\d+$/.test(max) || Number(max) < 1 || Number(max) > 1000)
      throw new ConfigError(`MAX_STREAMS_PER_VIEWER="${max}" must be a whole number from 1 to 1000`);
    out.maxStreams = Number(max);
  }
  if (out.store !== 'memory' && !/^rediss?:\/\//.test(out.store))
    throw new ConfigError(
      `SESSION_STORE must be memory or a redis:// URL, not "${out.store.replace(/\/\/[^@]*@/, '//…@')}"`,
    );
  const fail = value(env, 'SESSION_STORE_FAILURE') ?? 'closed';
  if (fail !== 'open' && fail !== 'closed')
    throw new ConfigError(
      'SESSION_STORE_FAILURE must be closed (refuse while the store is unreachable) or open (carry on without it)',
    );
  out.failMode = fail;
  out.pollMs = seconds(env, 'SESSION_POLL', '1', { min: 1, max: 60 }) * 1000;
  return out;
}

const UPLOAD_VARS = ['UPLOAD_MAX_BYTES', 'UPLOAD_URL_TTL', 'UPLOAD_MAX_PENDING', 'UPLOAD_MAX_PENDING_BYTES'];

function parseUploads(env: Env, demo: boolean): GatewayConfig['uploads'] {
  // The demo takes uploads by default (its page has an upload panel); a deployment turns them on explicitly.
  const uploads = parseBool(value(env, 'UPLOADS'), 'UPLOADS') ?? demo;
  if (!uploads) {
    const stray = UPLOAD_VARS.find((name) => value(env, name) !== undefined);
    if (stray) refuseConfig(`${stray} needs UPLOADS=true`);
    return undefined;
  }
  const uploadMax = value(env, 'UPLOAD_MAX_BYTES');
  const maxBytes = uploadMax === undefined ? 2 * 1024 ** 3 : Number(uploadMax);
  if (!Number.isInteger(maxBytes) || maxBytes < 1024 || maxBytes > 100 * 1024 ** 3)
    refuseConfig('UPLOAD_MAX_BYTES must be a whole number of bytes from 1024 to 100 GiB');
  const urlTtl = seconds(env, 'UPLOAD_URL_TTL', '1h', { min: 60, max: 86400 });
  const maxPending = Number(value(env, 'UPLOAD_MAX_PENDING') ?? '5');
  if (!Number.isInteger(maxPending) || maxPending < 1 || maxPending > 1000)
    refuseConfig('UPLOAD_MAX_PENDING must be a whole number from 1 to 1000 (unfinished uploads per uploader)');
  const pendingBytes = value(env, 'UPLOAD_MAX_PENDING_BYTES');
  const maxPendingBytes = pendingBytes === undefined ? 2 * maxBytes : Number(pendingBytes);
  if (!Number.isInteger(maxPendingBytes) || maxPendingBytes < maxBytes)
    refuseConfig(`UPLOAD_MAX_PENDING_BYTES must be a whole number of bytes, at least UPLOAD_MAX_BYTES (${maxBytes})`);
  return { maxBytes, urlTtl, maxPending, maxPendingBytes };
}

function parseAdminSecret(env: Env, otherSecrets: (string | undefined)[]): string | undefined {
  const adminSecret = value(env, 'ADMIN_SECRET');
  if (adminSecret === undefined) return undefined;
  if (adminSecret.length < 32)
    refuseConfig('ADMIN_SECRET must be at least 32 characters; make one with: openssl rand -base64 32');
  if (otherSecrets.includes(adminSecret))
    refuseConfig(
      'ADMIN_SECRET must differ from AUTH_JWT_SECRET and SESSION_SECRET: whoever can mint viewer tokens must not be able to lift revocations',
    );
  return adminSecret;
}

/**
 * The gateway's settings from its variables. `mode` is the zero-configuration rule's answer (app/mode.ts): the entries
 * apply the rule once (applyMode) and pass it on; other callers let it be worked out here.
 */
export function parseConfig(env: Env, mode: Mode = resolveMode(env)): GatewayConfig {
  const origin = parseMediaOrigin(env);
  const allowedOrigins = parseAllowedOrigins(env);
  const accessTtl = seconds(env, 'ACCESS_TTL', '3600', ACCESS_TTL);
  const deviceLinkTtl = seconds(env, 'DEVICE_LINK_TTL', '4h', {
    min: 60,
    max: 7 * 86400,
    why: 'a device link cannot be refreshed: make it last a film',
  });
  const grantWindow = seconds(env, 'GRANT_WINDOW', '60', GRANT_WINDOW);
  const { keyPairId, privateKeyPem } = parseSigningKey(env);
  const auth = parseAuth(env);
  const sessions = parseSessions(env, auth.secret);
  const uploads = parseUploads(env, mode.demo);
  const adminSecret = parseAdminSecret(env, [auth.secret, sessions?.secret]);
  return {
    ...origin,
    allowedOrigins,
    accessTtl,
    deviceLinkTtl,
    grantWindow,
    bindIp: parseBool(value(env, 'ACCESS_BIND_IP'), 'ACCESS_BIND_IP') ?? false,
    keyPairId,
    privateKeyPem,
    publicKeys: parsePublicKeys(value(env, 'CLOUDFRONT_PUBLIC_KEYS')),
    auth,
    demo: mode.demo,
    trustProxy: parseBool(value(env, 'TRUST_PROXY'), 'TRUST_PROXY') ?? false,
    ...(sessions ? { sessions } : {}),
    ...(uploads ? { uploads } : {}),
    ...(adminSecret ? { adminSecret } : {}),
  };
}

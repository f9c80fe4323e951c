import { SignJWT, createRemoteJWKSet, importSPKI, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ConfigError, type AuthConfig } from './config.ts';
import { Lru } from '../core/lru.ts';
import { subjectProblem } from './subject.ts';
import { PROBLEMS } from './problems.ts';

// Viewer tokens are JWTs issued by the host application (HS256 shared secret, a public key, or a JWKS URL),
// verified with jose. Entitlement is the `videos` claim: a list of video IDs, or "*".

export interface Viewer {
  subject?: string;
  videos: '*' | string[];
  /** The token grants signed uploads (`"upload": true`). */
  canUpload?: boolean;
}

/** Why a viewer token was refused: an API problem code (its status is the catalogue's, app/problems.ts) and a detail. */
export type AuthFailure = { ok: false; code: AuthProblem; detail: string };
type TokenProblem = 'token-missing' | 'token-invalid' | 'token-expired' | 'token-claims';
type AuthProblem = TokenProblem | 'bad-subject' | 'no-entitlement';
export type AuthResult = { ok: true; viewer: Viewer } | AuthFailure;

export interface ViewerAuth {
  authenticate(authorization: string | null | undefined, nowMs: number): Promise<AuthResult>;
  /** Demo mode only: a short-lived token for a demo viewer. */
  issueDemoToken?(videos: '*' | string[], ttlSeconds: number, nowMs: number): Promise<string>;
}

/** The HS256 secret imported once (jose would otherwise import raw bytes on every verification). */
function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', secret as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}

async function publicKeyOf(pem: string): Promise<{ key: CryptoKey; alg: string }> {
  for (const alg of ['RS256', 'ES256', 'PS256', 'EdDSA']) {
    try {
      return { key: await importSPKI(pem, alg), alg };
    } catch {
      // try the next algorithm family
    }
  }
  throw new ConfigError(
    'AUTH_JWT_PUBLIC_KEY is not an SPKI PEM public key (RSA, EC P-256 or Ed25519): "-----BEGIN PUBLIC KEY-----"',
  );
}

function videosClaim(payload: JWTPayload, claim: string): '*' | string[] | null {
  const v = payload[claim];
  if (v === '*') return '*';
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  return null;
}

/** The viewer a verified token names, or why it names none. */
function viewerOf(payload: JWTPayload, claim: string): AuthResult {
  // One rule for a sub wherever it is used (grants, sessions, revocations, upload owners): a token whose sub breaks
  // it is refused here, before anything is issued under it.
  const subject = payload.sub === undefined ? null : subjectProblem(payload.sub);
  if (subject) return { ok: false, code: 'bad-subject', detail: `The viewer token's "sub" ${subject}.` };
  const videos = videosClaim(payload, claim);
  if (!videos)
    return {
      ok: false,
      code: 'no-entitlement',
      detail: `The token has no "${claim}" claim (a list of video IDs, or "*").`,
    };
  return {
    ok: true,
    viewer: {
      videos,
      ...(payload.sub ? { subject: payload.sub } : {}),
      ...(payload.upload === true ? { canUpload: true } : {}),
    },
  };
}

export async function createViewerAuth(config: AuthConfig, demo: boolean): Promise<ViewerAuth> {
  const verifiers: { key: CryptoKey | JWTVerifyGetKey; algorithms?: string[] }[] = [];
  const encoder = new TextEncoder();
  let demoSecret: CryptoKey | undefined;
  const secretKey = config.secret ? await hmacKey(encoder.encode(config.secret)) : undefined;
  if (secretKey) verifiers.push({ key: secretKey, algorithms: ['HS256'] });
  if (config.publicKeyPem) {
    const { key, alg } = await publicKeyOf(config.publicKeyPem);
    verifiers.push({ key, algorithms: [alg] });
  }
  if (config.jwksUrl) verifiers.push({ key: createRemoteJWKSet(new URL(config.jwksUrl)) });
  if (demo) {
    // Demo tokens are signed with a random secret of this process, never with a deployment's own token check
    // (app/mode.ts refuses DEMO=true beside AUTH_*; this is the second line of defence).
    if (verifiers.length > 0)
      throw new ConfigError('demo mode cannot be combined with AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL');
    demoSecret = await hmacKey(crypto.getRandomValues(new Uint8Array(32)));
    verifiers.push({ key: demoSecret, algorithms: ['HS256'] });
  }
  const claim = config.videosClaim ?? 'videos';
  const requireExp = config.requireExp ?? true;
  const options = {
    ...(config.audience ? { audience: config.audience } : {}),
    ...(config.issuer ? { issuer: config.issuer } : {}),
  };

  // Tokens jose accepted, by their exact text: a viewer's next request (another video, a refresh) skips the signature
  // check, which WebCrypto runs on the thread pool (a round trip costing more than the HMAC). Successes only; the
  // time claims are checked again on every use, and anything but a clean pass goes back to jose for its verdict.
  const accepted = new Lru<JWTPayload>(10_000, 10_000 * 1024);
  const stillValid = (p: JWTPayload, now: number) =>
    (p.exp === undefined || now < p.exp) && (p.nbf === undefined || now >= p.nbf);

  async function authenticate(authorization: string | null | undefined, nowMs: number): Promise<AuthResult> {
    const m = /^Bearer\s+([A-Za-z0-9_.-]+)\s*$/i.exec(authorization ?? '');
    if (!m) return { ok: false, code: 'token-missing', detail: PROBLEMS['token-missing'].detail };
    const known = accepted.get(m[1]!);
    if (known && stillValid(known, Math.floor(nowMs / 1000))) return viewerOf(known, claim);
    let lastCode: TokenProblem = 'token-invalid';
    for (const v of verifiers) {
      try {
        const { payload } = await jwtVerify(m[1]!, v.key as CryptoKey, {
          ...options,
          ...(v.algorithms ? { algorithms: v.algorithms } : {}),
          currentDate: new Date(nowMs),
          ...(requireExp ? { requiredClaims: ['exp'] } : {}),
        });
        // The JWKS can rotate: only tokens checked against fixed keys are remembered.
        if (typeof v.key !== 'function') accepted.set(m[1]!, payload);
        return viewerOf(payload, claim);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ERR_JWT_EXPIRED') lastCode = 'token-expired';
        else if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && lastCode !== 'token-expired') lastCode = 'token-claims';
      }
    }
    return { ok: false, code: lastCode, detail: PROBLEMS[lastCode].detail };
  }

  const auth: ViewerAuth = { authenticate };
  if (demoSecret) {
    const secret = demoSecret;
    auth.issueDemoToken = (videos, ttlSeconds, nowMs) =>
      new SignJWT({ videos, upload: true })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('demo-viewer')
        .setIssuedAt(Math.floor(nowMs / 1000))
        .setExpirationTime(Math.floor(nowMs / 1000) + ttlSeconds)
        .sign(secret);
  }
  return auth;
}

export function entitled(viewer: Viewer, videoId: string): boolean {
  return viewer.videos === '*' || viewer.videos.includes(videoId);
}

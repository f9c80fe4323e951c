import type {
  Denial,
  DenialReason,
  Grant,
  HashAlgorithm,
  ParsedPolicy,
  Verdict,
  Verifier,
  VerifierOptions,
  VerifyKey,
  VerifyRequest,
} from './types.ts';
import { decodeCloudFrontBase64 } from './base64.ts';
import { buildCannedPolicy, parsePolicy } from './policy.ts';
import { resourceMatches } from './resource-match.ts';
import { cidrContains, parseCidr } from './cidr.ts';
import { derToP1363 } from './ecdsa-der.ts';
import { webCryptoHash } from './keys.ts';
import { COOKIE, KEY_PAIR_ID, SIGNED_URL_PARAMS, readCloudFrontCookies, type SignedUrlParam } from './cookies.ts';
import { Lru } from './lru.ts';
import { MAX_SIGNATURE_CHARS, policyText, type Credentials } from './credentials.ts';
import { cookieCandidateFinder } from './cookie-candidates.ts';
import { DENIALS } from './denials.ts';

// Checks a request exactly as CloudFront checks signed URLs and signed cookies.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-choosing-signed-urls-cookies.html
// Order: credentials present, key pair ID, key known, policy well-formed, signature decodes, signature verifies;
// only then are the policy's fields trusted (time, resource, IP).

/** How far a candidate got: the denial of the candidate that got furthest is the most useful answer. */
type Judged = { verdict: Verdict; stage: number };

function deny(reason: DenialReason, stage: number, cred?: Credentials): Judged {
  const denial: Denial = { code: DENIALS[reason].code, reason, detail: DENIALS[reason].detail };
  if (cred) denial.source = cred.source;
  // The key pair ID reaches the request log: only a well-formed one, never an attacker's arbitrary string.
  if (cred?.keyPairId !== undefined && KEY_PAIR_ID.test(cred.keyPairId)) denial.keyPairId = cred.keyPairId;
  return { verdict: { ok: false, denial }, stage };
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** Splits a URL into its CloudFront parameters and the URL without them (what a canned policy names). */
function splitSignedUrl(url: string): {
  params: Partial<Record<SignedUrlParam, string>>;
  found: boolean;
  base: string;
} {
  const q = url.indexOf('?');
  if (q < 0) return { params: {}, found: false, base: url };
  const params: Partial<Record<SignedUrlParam, string>> = {};
  const kept: string[] = [];
  let found = false;
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if ((SIGNED_URL_PARAMS as readonly string[]).includes(name)) {
      found = true;
      const value = safeDecode(eq < 0 ? '' : pair.slice(eq + 1));
      if (params[name as SignedUrlParam] === undefined) params[name as SignedUrlParam] = value ?? '\u0000';
    } else if (pair.length > 0) {
      kept.push(pair);
    }
  }
  return { params, found, base: url.slice(0, q) + (kept.length > 0 ? `?${kept.join('&')}` : '') };
}

function toSeconds(now: VerifyRequest['now']): number {
  if (now === undefined) return Date.now() / 1000;
  return now instanceof Date ? now.getTime() / 1000 : now;
}

/** The credentials of a signed URL, as its parameters give them. */
function urlCredentials(p: Partial<Record<SignedUrlParam, string>>): Credentials {
  const cred: Credentials = { source: 'url' };
  if (p['Key-Pair-Id']) cred.keyPairId = p['Key-Pair-Id'];
  if (p.Signature !== undefined) cred.signature = p.Signature;
  if (p.Policy !== undefined) cred.policy = p.Policy;
  else if (p.Expires !== undefined) cred.expires = p.Expires;
  if (p['Hash-Algorithm'] !== undefined) cred.hash = p['Hash-Algorithm'];
  return cred;
}

/** The policy text a signature covers (a custom policy decoded, or a canned one rebuilt from the URL), well-formed. */
function readPolicy(cred: Credentials, url: string): { policy: string; parsed: ParsedPolicy | undefined } | Judged {
  let policy: string;
  let parsed: ParsedPolicy | undefined;
  if (cred.policy !== undefined) {
    const text = policyText(cred.policy);
    if (text === undefined) return deny('malformed-policy', 3, cred);
    try {
      parsed = parsePolicy(text);
    } catch {
      return deny('malformed-policy', 3, cred);
    }
    policy = text;
  } else if (cred.expires !== undefined) {
    if (!/^\d{1,10}$/.test(cred.expires)) return deny('malformed-expires', 3, cred);
    try {
      policy = buildCannedPolicy(url, Number(cred.expires));
    } catch {
      return deny('malformed-url', 3, cred);
    }
  } else {
    return deny('malformed-policy', 3, cred);
  }
  return { policy, parsed };
}

async function signatureValid(key: VerifyKey, hash: HashAlgorithm, policy: string, sig: Uint8Array): Promise<boolean> {
  try {
    const cryptoKey = await key.cryptoKey(hash);
    const data = new TextEncoder().encode(policy);
    if (key.type === 'rsa')
      return await crypto.subtle.verify('RSASSA-PKCS1-v1_5', cryptoKey, sig as BufferSource, data);
    const raw = derToP1363(sig);
    return (
      raw !== null &&
      (await crypto.subtle.verify({ name: 'ECDSA', hash: webCryptoHash(hash) }, cryptoKey, raw as BufferSource, data))
    );
  } catch {
    return false; // any crypto exception is a failed check, never a throw
  }
}

/** The signature holds: the policy's fields are trusted now, and checked on every request, cache or not. */
function trust(
  cred: Credentials,
  keyPairId: string,
  url: string,
  req: VerifyRequest,
  parsed: ParsedPolicy | undefined,
  hash: HashAlgorithm,
): Judged {
  const now = toSeconds(req.now);
  const expiresAt = parsed ? parsed.dateLessThan : Number(cred.expires);
  if (now >= expiresAt) return deny('expired', 6, cred); // DateLessThan == now counts as expired (strict reading)
  if (parsed?.dateGreaterThan !== undefined && now <= parsed.dateGreaterThan) return deny('not-yet-valid', 6, cred);
  if (parsed && !resourceMatches(parsed.resource, url)) return deny('resource-mismatch', 6, cred);
  if (parsed?.ipAddress !== undefined) {
    const cidr = parseCidr(parsed.ipAddress);
    if (!cidr || !req.clientIp || !cidrContains(cidr, req.clientIp)) return deny('ip-mismatch', 6, cred);
  }
  const grant: Grant = {
    resource: parsed ? parsed.resource : url,
    expiresAt,
    keyPairId,
    source: cred.source,
    hashAlgorithm: hash,
    policyKind: parsed ? 'custom' : 'canned',
  };
  if (parsed?.dateGreaterThan !== undefined) grant.notBefore = parsed.dateGreaterThan;
  if (parsed?.ipAddress !== undefined) grant.ipAddress = parsed.ipAddress;
  return { verdict: { ok: true, grant }, stage: 7 };
}

/**
 * A verifier that judges a request exactly as CloudFront would: signed-URL parameters, else every CloudFront
 * cookie in the Cookie header(s), against the trusted keys. `verify()` answers a Grant or a Denial with CloudFront's
 * code and a reason (see DENIALS); it never throws for bad input.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const keys = options.keys;
  const size = options.cacheSize ?? 10_000;
  // Only successes are cached, keyed by the exact credential strings (an absent hash cookie is not the same as an
  // empty one), and bounded in bytes as well as entries. A hit skips decoding and crypto only: time, resource and
  // IP are checked on every request, so the verdict is the same with a warm or a cold cache.
  const verified = new Lru<{ parsed?: ParsedPolicy; hash: HashAlgorithm }>(size, size * 1200);
  const counters = { verifications: 0, cacheHits: 0 };
  const cookieCandidates = cookieCandidateFinder(keys);

  async function judge(cred: Credentials, url: string, req: VerifyRequest): Promise<Judged> {
    if (!cred.keyPairId) return deny('missing-key-pair-id', 1, cred);
    const key = keys.get(cred.keyPairId);
    if (!key) return deny('unknown-key', 2, cred);

    // Fast path: a custom policy already verified with exactly these strings skips decoding, parsing and crypto.
    // Only successes are cached, so a hit is a tuple that passed every check below: the verdict is the same warm or
    // cold. An absent hash cookie and an empty one are different keys.
    const hashMark = cred.hash === undefined ? '-' : `=${cred.hash}`;
    const rawKey =
      cred.policy !== undefined && cred.signature
        ? `${cred.keyPairId}\n${hashMark}\n${cred.signature}\nP${cred.policy}`
        : undefined;
    const hit = rawKey !== undefined ? verified.get(rawKey) : undefined;
    if (hit) {
      counters.cacheHits++;
      return trust(cred, cred.keyPairId, url, req, hit.parsed, hit.hash);
    }

    // Well-formedness only: nothing in the policy is trusted until the signature verifies.
    const read = readPolicy(cred, url);
    if ('verdict' in read) return read;
    const { policy, parsed } = read;

    let hash: HashAlgorithm;
    if (cred.hash === undefined || cred.hash === 'SHA1') hash = 'SHA1';
    else if (cred.hash === 'SHA256') hash = 'SHA256';
    else return deny('malformed-hash-algorithm', 4, cred);
    if (!cred.signature || cred.signature.length > MAX_SIGNATURE_CHARS) return deny('malformed-signature', 4, cred);

    // A canned policy is rebuilt from the URL, so its key holds the rebuilt text.
    const cacheKey = rawKey ?? `${cred.keyPairId}\n${hashMark}\n${cred.signature}\nE${policy}`;
    const known = rawKey === undefined ? verified.get(cacheKey) : undefined;
    if (known) {
      counters.cacheHits++;
      return trust(cred, cred.keyPairId, url, req, known.parsed, known.hash);
    }
    let sig: Uint8Array;
    try {
      sig = decodeCloudFrontBase64(cred.signature);
    } catch {
      return deny('malformed-signature', 4, cred);
    }
    counters.verifications++;
    if (!(await signatureValid(key, hash, policy, sig))) return deny('bad-signature', 5, cred);
    verified.set(cacheKey, parsed ? { parsed, hash } : { hash });
    return trust(cred, cred.keyPairId, url, req, parsed, hash);
  }

  async function verify(req: VerifyRequest): Promise<Verdict> {
    const url = typeof req.url === 'string' ? req.url : req.url.href;
    const signed = splitSignedUrl(url);
    if (signed.found) {
      // A URL carrying any signed-URL parameter is judged by the URL alone; cookies are not looked at.
      const cred = urlCredentials(signed.params);
      return (await judge(cred, signed.base, req)).verdict;
    }
    const jar = readCloudFrontCookies(req.cookie);
    if (jar.size === 0 || (jar.size === 1 && jar.has(COOKIE.hash))) return deny('no-credentials', 0).verdict;
    let best: Judged | undefined;
    for (const cred of cookieCandidates(jar, url)) {
      const judged = await judge(cred, url, req);
      if (judged.verdict.ok) return judged.verdict;
      if (!best || judged.stage > best.stage) best = judged;
    }
    return (best ?? deny('no-credentials', 0)).verdict;
  }

  return { verify, stats: () => ({ ...counters }) };
}

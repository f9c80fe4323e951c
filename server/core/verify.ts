import type {
  Denial, DenialReason, Grant, HashAlgorithm, ParsedPolicy, Verdict, Verifier, VerifierOptions, VerifyKey, VerifyRequest,
} from './types.ts';
import { decodeCloudFrontBase64 } from './base64.ts';
import { buildCannedPolicy, parsePolicy } from './policy.ts';
import { resourceMatches } from './resource-match.ts';
import { cidrContains, parseCidr } from './cidr.ts';
import { derToP1363 } from './ecdsa-der.ts';
import { webCryptoHash } from './keys.ts';
import { COOKIE, readCloudFrontCookies } from './cookies.ts';
import { Lru } from './lru.ts';

// Checks a request exactly as CloudFront checks signed URLs and signed cookies.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-choosing-signed-urls-cookies.html
// Order: credentials present, key pair ID, key known, policy well-formed, signature decodes, signature verifies;
// only then are the policy's fields trusted (time, resource, IP).

/** The query parameters of a signed URL. Any of them makes the request a signed-URL request. */
const URL_PARAMS = ['Expires', 'Policy', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm'] as const;
type UrlParam = (typeof URL_PARAMS)[number];

interface Credentials {
  source: 'cookie' | 'url';
  keyPairId?: string;
  signature?: string;
  policy?: string; // CloudFront-base64 custom policy
  expires?: string; // canned policy expiry
  hash?: string;
}

/** How far a candidate got: the denial of the candidate that got furthest is the most useful answer. */
type Judged = { verdict: Verdict; stage: number };

const MESSAGES: Record<DenialReason, string> = {
  'no-credentials': 'The request carries no CloudFront signed cookies or signed-URL parameters.',
  'missing-key-pair-id': 'The Key-Pair-Id query parameter or CloudFront-Key-Pair-Id cookie is missing.',
  'unknown-key': 'The key pair ID is not one of the trusted public keys.',
  'malformed-policy': 'The policy cannot be decoded or is not a valid CloudFront policy.',
  'malformed-expires': 'Expires is not a whole number of epoch seconds.',
  'malformed-signature': 'The signature is missing or cannot be decoded.',
  'malformed-hash-algorithm': 'The hash algorithm is neither SHA1 nor SHA256.',
  'malformed-url': 'The URL cannot be checked against a canned policy.',
  'bad-signature': 'The signature does not match the policy and key.',
  expired: 'The grant has expired (DateLessThan is in the past).',
  'not-yet-valid': 'The grant is not valid yet (DateGreaterThan is in the future).',
  'resource-mismatch': "The policy's Resource does not cover this URL.",
  'ip-mismatch': "The viewer's IP address is outside the policy's IpAddress range.",
};

const CODES: Record<DenialReason, Denial['code']> = {
  'no-credentials': 'MissingKey',
  'missing-key-pair-id': 'MissingKey',
  'unknown-key': 'InvalidKey',
  'malformed-policy': 'MalformedPolicy',
  'malformed-expires': 'MalformedPolicy',
  'malformed-signature': 'AccessDenied',
  'malformed-hash-algorithm': 'AccessDenied',
  'malformed-url': 'AccessDenied',
  'bad-signature': 'AccessDenied',
  expired: 'AccessDenied',
  'not-yet-valid': 'AccessDenied',
  'resource-mismatch': 'AccessDenied',
  'ip-mismatch': 'AccessDenied',
};

function deny(reason: DenialReason, stage: number, cred?: Credentials): Judged {
  const denial: Denial = { code: CODES[reason], reason, detail: MESSAGES[reason] };
  if (cred) denial.source = cred.source;
  if (cred?.keyPairId !== undefined) denial.keyPairId = cred.keyPairId;
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
function splitSignedUrl(url: string): { params: Partial<Record<UrlParam, string>>; found: boolean; base: string } {
  const q = url.indexOf('?');
  if (q < 0) return { params: {}, found: false, base: url };
  const params: Partial<Record<UrlParam, string>> = {};
  const kept: string[] = [];
  let found = false;
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if ((URL_PARAMS as readonly string[]).includes(name)) {
      found = true;
      const value = safeDecode(eq < 0 ? '' : pair.slice(eq + 1));
      if (params[name as UrlParam] === undefined) params[name as UrlParam] = value ?? '\u0000';
    } else if (pair.length > 0) {
      kept.push(pair);
    }
  }
  return { params, found, base: url.slice(0, q) + (kept.length > 0 ? `?${kept.join('&')}` : '') };
}

function policyText(b64: string): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(decodeCloudFrontBase64(b64));
  } catch {
    return undefined;
  }
}

function toSeconds(now: VerifyRequest['now']): number {
  if (now === undefined) return Date.now() / 1000;
  return now instanceof Date ? now.getTime() / 1000 : now;
}

export function createVerifier(options: VerifierOptions): Verifier {
  const keys = options.keys;
  const cache = new Lru<boolean>(options.cacheSize ?? 10_000);
  const verified = new Lru<{ parsed: ParsedPolicy; hash: HashAlgorithm }>(options.cacheSize ?? 10_000);
  const counters = { verifications: 0, cacheHits: 0 };

  async function signatureValid(kid: string, key: VerifyKey, hash: HashAlgorithm, policy: string, sig: Uint8Array, sigText: string): Promise<boolean> {
    const cacheKey = `${kid}\n${hash}\n${sigText}\n${policy}`;
    const hit = cache.get(cacheKey);
    if (hit !== undefined) {
      counters.cacheHits++;
      return hit;
    }
    counters.verifications++;
    let ok = false;
    try {
      const cryptoKey = await key.cryptoKey(hash);
      const data = new TextEncoder().encode(policy);
      if (key.type === 'rsa') {
        ok = await crypto.subtle.verify('RSASSA-PKCS1-v1_5', cryptoKey, sig as BufferSource, data);
      } else {
        const raw = derToP1363(sig);
        ok = raw !== null && (await crypto.subtle.verify({ name: 'ECDSA', hash: webCryptoHash(hash) }, cryptoKey, raw as BufferSource, data));
      }
    } catch {
      ok = false; // any crypto exception is a failed check, never a throw
    }
    cache.set(cacheKey, ok);
    return ok;
  }

  async function judge(cred: Credentials, url: string, req: VerifyRequest): Promise<Judged> {
    if (!cred.keyPairId) return deny('missing-key-pair-id', 1, cred);
    const key = keys.get(cred.keyPairId);
    if (!key) return deny('unknown-key', 2, cred);

    // Fast path for a custom policy already verified with exactly these bytes: no decoding, no parsing, no
    // public-key operation. Only successes are kept, keyed by the raw credential strings.
    const rawKey = cred.policy !== undefined && cred.signature ? `${cred.keyPairId}\n${cred.hash ?? ''}\n${cred.signature}\n${cred.policy}` : undefined;
    const known = rawKey !== undefined ? verified.get(rawKey) : undefined;
    if (known) {
      counters.cacheHits++;
      return trust(cred, cred.keyPairId, url, req, known.parsed, known.hash);
    }

    // Well-formedness only: nothing in the policy is trusted until the signature verifies.
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

    let hash: HashAlgorithm;
    if (cred.hash === undefined || cred.hash === 'SHA1') hash = 'SHA1';
    else if (cred.hash === 'SHA256') hash = 'SHA256';
    else return deny('malformed-hash-algorithm', 4, cred);

    if (!cred.signature) return deny('malformed-signature', 4, cred);
    let sig: Uint8Array;
    try {
      sig = decodeCloudFrontBase64(cred.signature);
    } catch {
      return deny('malformed-signature', 4, cred);
    }
    if (!(await signatureValid(cred.keyPairId, key, hash, policy, sig, cred.signature))) return deny('bad-signature', 5, cred);
    if (rawKey !== undefined && parsed) verified.set(rawKey, { parsed, hash });
    return trust(cred, cred.keyPairId, url, req, parsed, hash);
  }

  function trust(cred: Credentials, keyPairId: string, url: string, req: VerifyRequest, parsed: ParsedPolicy | undefined, hash: HashAlgorithm): Judged {
    // The signature holds: the policy's fields can be trusted now. Checked on every request, cache or not.
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

  function cookieCandidates(jar: ReturnType<typeof readCloudFrontCookies>, url: string): Credentials[] {
    const list = (name: string): (string | undefined)[] => {
      const v = jar.get(name);
      return v && v.length > 0 ? v : [undefined];
    };
    const policies: { policy?: string; expires?: string }[] = [
      ...(jar.get(COOKIE.policy) ?? []).map((p) => ({ policy: p })),
      ...(jar.get(COOKIE.expires) ?? []).map((e) => ({ expires: e })),
    ];
    if (policies.length === 0) policies.push({});
    // A hint for ordering only (nothing is trusted from it): try policies naming this URL first.
    const rank = (c: { policy?: string }) => {
      const text = c.policy !== undefined ? policyText(c.policy) : undefined;
      try {
        return text !== undefined && resourceMatches(parsePolicy(text).resource, url) ? 0 : 1;
      } catch {
        return 1;
      }
    };
    if (policies.length > 1) policies.sort((a, b) => rank(a) - rank(b));
    const out: Credentials[] = [];
    for (const p of policies)
      for (const keyPairId of list(COOKIE.keyPairId))
        for (const signature of list(COOKIE.signature))
          for (const hash of list(COOKIE.hash)) {
            const c: Credentials = { source: 'cookie', ...p };
            if (keyPairId !== undefined) c.keyPairId = keyPairId;
            if (signature !== undefined) c.signature = signature;
            if (hash !== undefined) c.hash = hash;
            out.push(c);
          }
    return out.slice(0, 16);
  }

  async function verify(req: VerifyRequest): Promise<Verdict> {
    const url = typeof req.url === 'string' ? req.url : req.url.href;
    const signed = splitSignedUrl(url);
    if (signed.found) {
      // A URL carrying any signed-URL parameter is judged by the URL alone; cookies are not looked at.
      const p = signed.params;
      const cred: Credentials = { source: 'url' };
      if (p['Key-Pair-Id']) cred.keyPairId = p['Key-Pair-Id'];
      if (p.Signature !== undefined) cred.signature = p.Signature;
      if (p.Policy !== undefined) cred.policy = p.Policy;
      else if (p.Expires !== undefined) cred.expires = p.Expires;
      if (p['Hash-Algorithm'] !== undefined) cred.hash = p['Hash-Algorithm'];
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

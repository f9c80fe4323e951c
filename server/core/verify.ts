import type {
  Denial, DenialReason, Grant, HashAlgorithm, ParsedPolicy, Verdict, Verifier, VerifierOptions, VerifyKey, VerifyRequest,
} from './types.ts';
import { decodeCloudFrontBase64 } from './base64.ts';
import { buildCannedPolicy, parsePolicy } from './policy.ts';
import { resourceMatches } from './resource-match.ts';
import { cidrContains, parseCidr } from './cidr.ts';
import { derToP1363 } from './ecdsa-der.ts';
import { webCryptoHash } from './keys.ts';
import { COOKIE, KEY_PAIR_ID, SIGNED_URL_PARAMS, readCloudFrontCookies, type SignedUrlParam } from './cookies.ts';
import { Lru } from './lru.ts';
import { DENIALS } from './denials.ts';

// Checks a request exactly as CloudFront checks signed URLs and signed cookies.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-choosing-signed-urls-cookies.html
// Order: credentials present, key pair ID, key known, policy well-formed, signature decodes, signature verifies;
// only then are the policy's fields trusted (time, resource, IP).

/** The query parameters of a signed URL. Any of them makes the request a signed-URL request. */
const URL_PARAMS = SIGNED_URL_PARAMS;
type UrlParam = SignedUrlParam;

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

/** Longest credential values looked at: CloudFront's request line is at most 8,192 bytes; RSA-4096 signs 684 chars. */
const MAX_POLICY_CHARS = 8192;
const MAX_SIGNATURE_CHARS = 1024;
/** Values kept per cookie name after junk is dropped, and candidates judged per request: the search is bounded. */
const KEEP_PER_NAME = 8;
const MAX_CANDIDATES = 16;

function policyText(b64: string): string | undefined {
  if (b64.length > MAX_POLICY_CHARS) return undefined;
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

  async function signatureValid(key: VerifyKey, hash: HashAlgorithm, policy: string, sig: Uint8Array): Promise<boolean> {
    counters.verifications++;
    try {
      const cryptoKey = await key.cryptoKey(hash);
      const data = new TextEncoder().encode(policy);
      if (key.type === 'rsa') return await crypto.subtle.verify('RSASSA-PKCS1-v1_5', cryptoKey, sig as BufferSource, data);
      const raw = derToP1363(sig);
      return raw !== null && (await crypto.subtle.verify({ name: 'ECDSA', hash: webCryptoHash(hash) }, cryptoKey, raw as BufferSource, data));
    } catch {
      return false; // any crypto exception is a failed check, never a throw
    }
  }

  async function judge(cred: Credentials, url: string, req: VerifyRequest): Promise<Judged> {
    if (!cred.keyPairId) return deny('missing-key-pair-id', 1, cred);
    const key = keys.get(cred.keyPairId);
    if (!key) return deny('unknown-key', 2, cred);

    // Fast path: a custom policy already verified with exactly these strings skips decoding, parsing and crypto.
    // Only successes are cached, so a hit is a tuple that passed every check below: the verdict is the same warm or
    // cold. An absent hash cookie and an empty one are different keys.
    const hashMark = cred.hash === undefined ? '-' : `=${cred.hash}`;
    const rawKey = cred.policy !== undefined && cred.signature ? `${cred.keyPairId}\n${hashMark}\n${cred.signature}\nP${cred.policy}` : undefined;
    const hit = rawKey !== undefined ? verified.get(rawKey) : undefined;
    if (hit) {
      counters.cacheHits++;
      return trust(cred, cred.keyPairId, url, req, hit.parsed, hit.hash);
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
    if (!(await signatureValid(key, hash, policy, sig))) return deny('bad-signature', 5, cred);
    verified.set(cacheKey, parsed ? { parsed, hash } : { hash });
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

  /** Signature lengths (decoded bytes) a trusted key can produce: RSA = modulus size, ECDSA P-256 DER = 8..72. */
  const rsaSizes = new Set([...keys.values()].filter((k) => k.type === 'rsa').map((k) => k.bits / 8));
  const hasEc = [...keys.values()].some((k) => k.type === 'ecdsa');
  function plausibleSignature(v: string): boolean {
    if (v.length > MAX_SIGNATURE_CHARS || v.length % 4 !== 0 || !/^[A-Za-z0-9~-]*_{0,2}$/.test(v)) return false;
    const bytes = (v.length / 4) * 3 - (v.endsWith('__') ? 2 : v.endsWith('_') ? 1 : 0);
    return rsaSizes.has(bytes) || (hasEc && bytes >= 8 && bytes <= 72);
  }

  interface Value {
    value: string | undefined;
    /** Position among the values of its name in the header (the cookies of one grant tend to share it). */
    pos: number;
  }

  /**
   * The values of one cookie name worth judging: the well-formed ones (at most KEEP_PER_NAME, in header order), or,
   * when there is none, the first value so that the denial names what is wrong with it. Junk never takes the place
   * of a well-formed value, so cookies planted by a sibling subdomain cannot crowd out a viewer's real grant.
   */
  function usable(values: string[] | undefined, wellFormed: (v: string) => boolean): Value[] {
    if (!values || values.length === 0) return [{ value: undefined, pos: 0 }];
    // Values arrive without repeats (readCloudFrontCookies): the same key pair ID in every grant is one candidate.
    const good = values.map((value, pos) => ({ value, pos })).filter((v) => wellFormed(v.value)).slice(0, KEEP_PER_NAME);
    return good.length > 0 ? good : [{ value: values[0], pos: 0 }];
  }

  /**
   * The Resource a policy cookie names, or null when it does not parse: for ordering candidates only (nothing is
   * trusted from it). Remembered per exact string, as decoding it is a pure function of it: a viewer sending grants
   * for several videos is not decoded again on every request.
   */
  const resources = new Lru<string | null>(1000, 1000 * 1200);
  const resourceOf = (p: string): string | null => {
    let r = resources.get(p);
    if (r === undefined) {
      const text = policyText(p);
      try {
        r = text === undefined ? null : parsePolicy(text).resource;
      } catch {
        r = null;
      }
      resources.set(p, r);
    }
    return r;
  };

  function cookieCandidates(jar: ReturnType<typeof readCloudFrontCookies>, url: string): Credentials[] {
    const matchesUrl = (p: string): boolean | undefined => {
      const resource = resourceOf(p);
      return resource === null ? undefined : resourceMatches(resource, url);
    };
    const kids = usable(jar.get(COOKIE.keyPairId), (v) => keys.has(v));
    const sigs = usable(jar.get(COOKIE.signature), plausibleSignature);
    // The hash cookie only says which digest was signed. One value is taken as CloudFront takes it; beside junk or
    // several grants, "absent" (SHA1) is tried too, so a planted value cannot turn away a SHA-1 grant.
    const hashValues = jar.get(COOKIE.hash) ?? [];
    const hashes = usable(hashValues, (v) => v === 'SHA1' || v === 'SHA256').filter((h) => hashValues.length <= 1 || h.value === 'SHA1' || h.value === 'SHA256');
    if (hashValues.length > 1) hashes.push({ value: undefined, pos: hashValues.length });

    // Policies: well-formed ones naming this URL first (a hint for ordering only: nothing is trusted from it).
    const policies = jar.get(COOKIE.policy) ?? [];
    const grants: { g: { policy?: string; expires?: string }; pos: number; rank: number }[] = [];
    // One policy (the usual viewer) needs no ranking: judge() decodes it, or answers from its cache without decoding.
    if (policies.length === 1) grants.push({ g: { policy: policies[0]! }, pos: 0, rank: 0 });
    else policies.forEach((policy, pos) => {
      const m = matchesUrl(policy);
      if (m !== undefined) grants.push({ g: { policy }, pos, rank: m ? 0 : 1 });
    });
    grants.sort((a, b) => a.rank - b.rank);
    grants.splice(KEEP_PER_NAME);
    for (const e of usable(jar.get(COOKIE.expires), (v) => /^\d{1,10}$/.test(v))) if (e.value !== undefined) grants.push({ g: { expires: e.value }, pos: e.pos, rank: 1 });
    if (grants.length === 0) grants.push({ g: policies.length > 0 ? { policy: policies[0]! } : {}, pos: 0, rank: 1 });

    // The cookies of one grant are set together, so they tend to stand at the same position in each name's list:
    // try aligned combinations first, so a viewer holding several grants is found in a few tries.
    const lists = [kids, sigs, hashes];
    const combos: { c: Credentials; rank: number; spread: number }[] = [];
    for (const g of grants)
      for (const k of kids)
        for (const s of sigs)
          for (const h of hashes) {
            const at = [g.pos, k.pos, s.pos, h.pos].filter((_, n) => n === 0 ? grants.length > 1 : lists[n - 1]!.length > 1);
            const spread = at.length > 1 ? Math.max(...at) - Math.min(...at) : 0;
            const c: Credentials = { source: 'cookie', ...g.g };
            if (k.value !== undefined) c.keyPairId = k.value;
            if (s.value !== undefined) c.signature = s.value;
            if (h.value !== undefined) c.hash = h.value;
            combos.push({ c, rank: g.rank, spread });
          }
    return combos.sort((a, b) => a.rank - b.rank || a.spread - b.spread).slice(0, MAX_CANDIDATES).map((x) => x.c);
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

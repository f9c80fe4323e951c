import type { VerifyKey } from './types.ts';
import { parsePolicy } from './policy.ts';
import { resourceMatches } from './resource-match.ts';
import { COOKIE, type CloudFrontCookies } from './cookies.ts';
import { Lru } from './lru.ts';
import { KEEP_PER_NAME, MAX_CANDIDATES, MAX_SIGNATURE_CHARS, policyText, type Credentials } from './credentials.ts';

// Browsers send several cookies of one name when their Paths differ (a viewer with grants for several videos, or
// cookies planted by a sibling subdomain), and CloudFront's cookies of one grant must be judged together: this
// turns the cookie jar into a short, ordered list of combinations to judge, bounded however many values arrive.

/** The combinations of CloudFront cookies worth judging for `url`, most likely first, at most MAX_CANDIDATES. */
export type CandidateFinder = (jar: CloudFrontCookies, url: string) => Credentials[];

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
  const good = values
    .map((value, pos) => ({ value, pos }))
    .filter((v) => wellFormed(v.value))
    .slice(0, KEEP_PER_NAME);
  return good.length > 0 ? good : [{ value: values[0], pos: 0 }];
}

export function cookieCandidateFinder(keys: ReadonlyMap<string, VerifyKey>): CandidateFinder {
  /** Signature lengths (decoded bytes) a trusted key can produce: RSA = modulus size, ECDSA P-256 DER = 8..72. */
  const rsaSizes = new Set([...keys.values()].filter((k) => k.type === 'rsa').map((k) => k.bits / 8));
  const hasEc = [...keys.values()].some((k) => k.type === 'ecdsa');
  function plausibleSignature(v: string): boolean {
    if (v.length > MAX_SIGNATURE_CHARS || v.length % 4 !== 0 || !/^[A-Za-z0-9~-]*_{0,2}$/.test(v)) return false;
    const bytes = (v.length / 4) * 3 - (v.endsWith('__') ? 2 : v.endsWith('_') ? 1 : 0);
    return rsaSizes.has(bytes) || (hasEc && bytes >= 8 && bytes <= 72);
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

  function cookieCandidates(jar: CloudFrontCookies, url: string): Credentials[] {
    const matchesUrl = (p: string): boolean | undefined => {
      const resource = resourceOf(p);
      return resource === null ? undefined : resourceMatches(resource, url);
    };
    const kids = usable(jar.get(COOKIE.keyPairId), (v) => keys.has(v));
    const sigs = usable(jar.get(COOKIE.signature), plausibleSignature);
    // The hash cookie only says which digest was signed. One value is taken as CloudFront takes it; beside junk or
    // several grants, "absent" (SHA1) is tried too, so a planted value cannot turn away a SHA-1 grant.
    const hashValues = jar.get(COOKIE.hash) ?? [];
    const hashes = usable(hashValues, (v) => v === 'SHA1' || v === 'SHA256').filter(
      (h) => hashValues.length <= 1 || h.value === 'SHA1' || h.value === 'SHA256',
    );
    if (hashValues.length > 1) hashes.push({ value: undefined, pos: hashValues.length });

    // Policies: well-formed ones naming this URL first (a hint for ordering only: nothing is trusted from it).
    const policies = jar.get(COOKIE.policy) ?? [];
    const grants: { g: { policy?: string; expires?: string }; pos: number; rank: number }[] = [];
    // One policy (the usual viewer) needs no ranking: judge() decodes it, or answers from its cache without decoding.
    if (policies.length === 1) grants.push({ g: { policy: policies[0]! }, pos: 0, rank: 0 });
    else
      policies.forEach((policy, pos) => {
        const m = matchesUrl(policy);
        if (m !== undefined) grants.push({ g: { policy }, pos, rank: m ? 0 : 1 });
      });
    grants.sort((a, b) => a.rank - b.rank);
    grants.splice(KEEP_PER_NAME);
    for (const e of usable(jar.get(COOKIE.expires), (v) => /^\d{1,10}$/.test(v)))
      if (e.value !== undefined) grants.push({ g: { expires: e.value }, pos: e.pos, rank: 1 });
    if (grants.length === 0) grants.push({ g: policies.length > 0 ? { policy: policies[0]! } : {}, pos: 0, rank: 1 });

    // The cookies of one grant are set together, so they tend to stand at the same position in each name's list:
    // try aligned combinations first, so a viewer holding several grants is found in a few tries.
    const lists = [kids, sigs, hashes];
    const combos: { c: Credentials; rank: number; spread: number }[] = [];
    for (const g of grants)
      for (const k of kids)
        for (const s of sigs)
          for (const h of hashes) {
            const at = [g.pos, k.pos, s.pos, h.pos].filter((_, n) =>
              n === 0 ? grants.length > 1 : lists[n - 1]!.length > 1,
            );
            const spread = at.length > 1 ? Math.max(...at) - Math.min(...at) : 0;
            const c: Credentials = { source: 'cookie', ...g.g };
            if (k.value !== undefined) c.keyPairId = k.value;
            if (s.value !== undefined) c.signature = s.value;
            if (h.value !== undefined) c.hash = h.value;
            combos.push({ c, rank: g.rank, spread });
          }
    return combos
      .sort((a, b) => a.rank - b.rank || a.spread - b.spread)
      .slice(0, MAX_CANDIDATES)
      .map((x) => x.c);
  }

  return cookieCandidates;
}

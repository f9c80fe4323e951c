import { getPublicSuffix } from 'tldts';
import { KEY_PAIR_ID } from '../core/cookies.ts';
import { isPlainHost } from './hosts.ts';

// The rules every way of configuring hls-gate shares: environment variables (parseConfig, the Node and Worker
// entries) and the options of hls-gate/hono (cloudFrontGate, accessGrants). Each check is given the name the caller
// knows the setting by (MEDIA_BASE_URL, mediaBaseUrl) and how the caller refuses (a ConfigError at start-up, an
// OptionsError when a middleware is made), so one rule reads the same wherever it is broken.

/** Throws the caller's error with a message that names the setting and says what to write instead. */
export type Refuse = (message: string) => never;

const DAY = 86400;

/** A span of seconds as a person says it: 7 days, 1 minute, 3600 seconds stays "1 hour". */
function span(seconds: number): string {
  const [n, unit] =
    seconds % DAY === 0
      ? [seconds / DAY, 'day']
      : seconds % 3600 === 0
        ? [seconds / 3600, 'hour']
        : seconds % 60 === 0
          ? [seconds / 60, 'minute']
          : [seconds, 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** An inclusive range of whole seconds; `zero` says what 0 means when it is allowed. */
export interface SecondsRange {
  min: number;
  max: number;
  zero?: string;
  why?: string;
}

/** How long a grant lasts at least: ACCESS_TTL, accessGrants' ttl. */
export const ACCESS_TTL: SecondsRange = { min: 1, max: 7 * DAY };
/** The expiry rounding that lets viewers share a policy: GRANT_WINDOW, accessGrants' grantWindow. */
export const GRANT_WINDOW: SecondsRange = { min: 0, max: 3600, zero: '0 turns sharing off' };

export function checkSeconds(seconds: number, name: string, range: SecondsRange, refuse: Refuse): number {
  if (!Number.isInteger(seconds)) refuse(`${name} must be a whole number of seconds`);
  if (seconds >= range.min && seconds <= range.max) return seconds;
  const note = [range.zero, range.why].filter(Boolean).join('; ');
  const bounds = range.min === 0 ? `at most ${range.max} seconds` : `between ${span(range.min)} and ${span(range.max)}`;
  return refuse(`${name} must be ${bounds}${note ? ` (${note})` : ''}`);
}

/** A CloudFront key pair ID, as CloudFront prints it (the Key-Pair-Id cookie carries it verbatim). */
export function checkKeyPairId(id: string, name: string, refuse: Refuse): string {
  if (!KEY_PAIR_ID.test(id)) refuse(`${name}: "${id}" is not a key pair ID (letters and digits, like K2JCJMDEHXQW5F)`);
  return id;
}

/** An http(s) URL on one plain host: a policy names it, and a wildcard host would make the policy valid on every match. */
function checkHttpUrl(text: string, name: string, refuse: Refuse): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse(`${name}: "${text}" is not a URL; write an origin like https://media.example.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') refuse(`${name}: "${text}" must be http or https`);
  if (!isPlainHost(url.host)) {
    refuse(
      `${name}: "${text}" must name one host: no wildcards (a policy for it would be valid on every matching host); write the one origin viewers use, like https://media.example.com`,
    );
  }
  return url;
}

/** `scheme://host[:port]` and nothing else: MEDIA_BASE_URL, ALLOWED_ORIGINS entries, cloudFrontGate's mediaBaseUrl. */
export function checkOrigin(text: string, name: string, refuse: Refuse): string {
  const url = checkHttpUrl(text, name, refuse);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || text.endsWith('/')) {
    refuse(`${name}: "${text}" must be an origin only (scheme://host[:port], no path or trailing slash)`);
  }
  return url.origin;
}

/** An origin with the path a gateway is mounted at (accessGrants' mediaBaseUrl): `https://example.com/media`. */
export function checkMountUrl(text: string, name: string, refuse: Refuse): { origin: string; prefix: string } {
  const url = checkHttpUrl(text, name, refuse);
  if (url.search || url.hash)
    refuse(`${name}: "${text}" must be http(s)://one-host[/prefix], with no query or fragment`);
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
}

/** Host names (any port) or host:port pairs a gate answers for: MEDIA_HOSTS, cloudFrontGate's hosts. */
export function checkHosts(hosts: readonly string[], name: string, refuse: Refuse): string[] {
  const out = hosts.map((h) => h.trim().toLowerCase());
  for (const h of out) {
    if (!isPlainHost(h)) refuse(`${name}: "${h}" is not a host name or host:port (no wildcards, schemes or paths)`);
  }
  return out;
}

/** One public origin, or the hosts whose own origin is used: never both (every grant would name the origin anyway). */
export function checkOneOriginRule(
  base: string | undefined,
  hosts: readonly string[],
  names: { base: string; hosts: string },
  refuse: Refuse,
): void {
  if (base && hosts.length > 0)
    refuse(`set ${names.base} or ${names.hosts}, not both: with ${names.base} every grant names that origin`);
}

/** Is `host` the cookie domain itself or below it (RFC 6265 section 5.1.3 domain-match)? */
export function domainCovers(domain: string, host: string): boolean {
  const d = domain.replace(/^\./, '').toLowerCase();
  const h = host.toLowerCase();
  return h === d || h.endsWith(`.${d}`);
}

/**
 * A cookie domain (COOKIE_DOMAIN, accessGrants' cookieDomain) must be a domain name, registrable or below one (a
 * cookie for a public suffix such as co.uk or github.io would be sent to every site under it; checked against the
 * Public Suffix List with tldts, private suffixes included: https://publicsuffix.org/, RFC 6265 section 5.3 step 5),
 * and must cover the media host, or browsers never send the cookies there. Returns it without a leading dot.
 */
export function checkCookieDomain(
  text: string,
  mediaHost: string,
  names: { domain: string; base: string },
  refuse: Refuse,
): string {
  const domain = text.replace(/^\./, '');
  const name = names.domain;
  if (!/^[a-z0-9.-]+$/i.test(domain) || (!domain.includes('.') && domain !== 'localhost')) {
    refuse(`${name}="${domain}" is not a domain name; use the shared parent domain, e.g. example.com`);
  }
  const lower = domain.toLowerCase();
  const suffix = lower === 'localhost' ? null : getPublicSuffix(lower, { allowPrivateDomains: true });
  if (lower !== 'localhost' && (suffix === null || suffix === lower)) {
    refuse(
      `${name}="${lower}" is a public suffix: browsers would refuse the cookie, or share it with every site under it; use your own domain, e.g. example.co.uk`,
    );
  }
  if (!domainCovers(domain, mediaHost)) {
    refuse(
      `${name}="${domain}" does not cover the media host "${mediaHost}" of ${names.base}: browsers would never send the cookies; use a parent domain of both the player and the media host`,
    );
  }
  return domain;
}

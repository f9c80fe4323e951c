// Reads CloudFront's cookies from one or several Cookie headers. Browsers send several cookies with one name
// when their Paths differ, in no guaranteed order (RFC 6265 section 5.4), so every value is kept.

export const COOKIE = {
  policy: 'CloudFront-Policy',
  expires: 'CloudFront-Expires',
  signature: 'CloudFront-Signature',
  keyPairId: 'CloudFront-Key-Pair-Id',
  hash: 'CloudFront-Hash-Algorithm',
} as const;

/**
 * The query parameters of a CloudFront signed URL: Expires (canned policy) or Policy (custom), Signature,
 * Key-Pair-Id, and Hash-Algorithm when the signature is SHA-256. Any of them makes a request a signed-URL request.
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-creating-signed-url-custom-policy.html
 */
export const SIGNED_URL_PARAMS = ['Expires', 'Policy', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm'] as const;
export type SignedUrlParam = (typeof SIGNED_URL_PARAMS)[number];

/** hls-gate's companion cookie under session control: the device session, bound by an HMAC to its grant. */
export const SESSION_COOKIE = 'HlsGate-Session';
/** The same session value in a device link's query (devices without cookies). */
export const SESSION_PARAM = 'HlsGate-Session';

/** A CloudFront public key ID (e.g. K2JCJMDEHXQW5F): what signing, verifying and configuration accept. */
export const KEY_PAIR_ID = /^[A-Za-z0-9_-]{1,128}$/;

const NAMES = new Set<string>(Object.values(COOKIE));
/**
 * Values read per name; more are ignored. This bounds the work per request, not the choice: the verifier then
 * keeps only well-formed values (see verify.ts), so junk set by a sibling subdomain cannot push the real grant
 * out of the few candidates it judges.
 */
export const MAX_VALUES_PER_NAME = 16;

export type CloudFrontCookies = Map<string, string[]>;

/**
 * Every value of one cookie name in the Cookie header(s), at most MAX_VALUES_PER_NAME; with `accept`, values it
 * refuses (junk) are skipped before they are counted, so they cannot push a real value out.
 */
export function cookieValues(
  headers: string | readonly string[] | null | undefined,
  name: string,
  accept?: (value: string) => boolean,
  max = MAX_VALUES_PER_NAME,
): string[] {
  const out: string[] = [];
  const list = headers == null ? [] : typeof headers === 'string' ? [headers] : headers;
  for (const header of list) {
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
      const value = part.slice(eq + 1).trim();
      if (accept && !accept(value)) continue;
      if (out.length < max && !out.includes(value)) out.push(value);
    }
  }
  return out;
}

export function readCloudFrontCookies(headers: string | readonly string[] | null | undefined): CloudFrontCookies {
  const out: CloudFrontCookies = new Map();
  const list = headers == null ? [] : typeof headers === 'string' ? [headers] : headers;
  for (const header of list) {
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const name = part.slice(0, eq).trim();
      if (!NAMES.has(name)) continue;
      let value = part.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      const values = out.get(name) ?? [];
      if (values.length < MAX_VALUES_PER_NAME && !values.includes(value)) values.push(value);
      out.set(name, values);
    }
  }
  return out;
}

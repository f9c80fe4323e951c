import type { HashAlgorithm, PolicyInput, SignedCookies, SignerOptions, SigningKey, TimeInput } from './types.ts';
import { CoreError } from './errors.ts';
import { KEY_PAIR_ID } from './cookies.ts';
import { buildCannedPolicy, buildCustomPolicy } from './policy.ts';
import { encodeCloudFrontBase64 } from './base64.ts';
import { p1363ToDer } from './ecdsa-der.ts';
import { webCryptoHash } from './keys.ts';
import { encodeParam, encodeUrlForSigning } from './url-encode.ts';
import { toEpochSeconds } from './time.ts';

const encoder = new TextEncoder();

/**
 * Signs the raw policy bytes (not their base64) and returns the CloudFront-base64 signature:
 * RSASSA-PKCS1-v1_5, or ECDSA P-256 as ASN.1 DER. SHA-1 unless SHA-256 is asked for.
 */
export async function signPolicy(policy: string, key: SigningKey, hash: HashAlgorithm = 'SHA1'): Promise<string> {
  const data = encoder.encode(policy);
  if (key.sign) return encodeCloudFrontBase64(await key.sign(data, hash));
  const cryptoKey = await key.cryptoKey(hash);
  const raw =
    key.type === 'rsa'
      ? await crypto.subtle.sign('RSASSA-PKCS1-v1_5', cryptoKey, data)
      : p1363ToDer(
          new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: webCryptoHash(hash) }, cryptoKey, data)),
        );
  return encodeCloudFrontBase64(raw instanceof Uint8Array ? raw : new Uint8Array(raw));
}

function checkKeyPairId(id: string): void {
  // Key pair IDs are short upper-case alphanumerics (K2JCJMDEHXQW5F; legacy APKA...). Refusing other
  // characters keeps them safe to put into cookies and query strings unencoded.
  if (!KEY_PAIR_ID.test(id))
    throw new CoreError('ERR_POLICY_INPUT', 'the key pair ID must be letters and digits, e.g. K2JCJMDEHXQW5F');
}

function withHash(cookies: SignedCookies, hash: HashAlgorithm): SignedCookies {
  if (hash === 'SHA256') cookies['CloudFront-Hash-Algorithm'] = 'SHA256';
  return cookies;
}

/** Cookies for a custom policy (the shape of getSignedCookies of @aws-sdk/cloudfront-signer). */
export async function signCookies(input: PolicyInput, opts: SignerOptions): Promise<SignedCookies> {
  return signPolicyCookies(buildCustomPolicy(input), opts);
}

/** Cookies for an already-built custom policy (e.g. one reused across viewers). */
export async function signPolicyCookies(policy: string, opts: SignerOptions): Promise<SignedCookies> {
  checkKeyPairId(opts.keyPairId);
  const hash = opts.hashAlgorithm ?? 'SHA1';
  const signature = await signPolicy(policy, opts.privateKey, hash);
  return withHash(
    {
      'CloudFront-Key-Pair-Id': opts.keyPairId,
      'CloudFront-Signature': signature,
      'CloudFront-Policy': encodeCloudFrontBase64(policy),
    },
    hash,
  );
}

/** Cookies for a canned policy: one exact URL (no wildcards) and an expiry. */
export async function signCannedCookies(url: string, expires: TimeInput, opts: SignerOptions): Promise<SignedCookies> {
  checkKeyPairId(opts.keyPairId);
  const hash = opts.hashAlgorithm ?? 'SHA1';
  const epoch = toEpochSeconds(expires, 'expires');
  const signature = await signPolicy(buildCannedPolicy(url, epoch), opts.privateKey, hash);
  return withHash(
    { 'CloudFront-Key-Pair-Id': opts.keyPairId, 'CloudFront-Signature': signature, 'CloudFront-Expires': epoch },
    hash,
  );
}

export interface SignUrlInput {
  expires: TimeInput;
  notBefore?: TimeInput;
  ipAddress?: string;
  /** The policy's Resource pattern (custom policy); defaults to the URL itself. */
  resource?: string;
}

/**
 * A signed URL: canned policy when only `expires` is given, custom otherwise. Parameters are appended in AWS's
 * order (Expires | Policy, Key-Pair-Id, Signature, Hash-Algorithm).
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-creating-signed-url-canned-policy.html
 */
export async function signUrl(url: string, input: SignUrlInput, opts: SignerOptions): Promise<string> {
  checkKeyPairId(opts.keyPairId);
  if (!/^https?:\/\//.test(url)) throw new CoreError('ERR_URL', 'the URL must start with http:// or https://');
  const hash = opts.hashAlgorithm ?? 'SHA1';
  const base = encodeUrlForSigning(url);
  const custom = input.notBefore !== undefined || input.ipAddress !== undefined || input.resource !== undefined;
  const params: [string, string][] = [];
  if (custom) {
    const policy = buildCustomPolicy({
      resource: input.resource ?? base,
      expires: input.expires,
      ...(input.notBefore !== undefined ? { notBefore: input.notBefore } : {}),
      ...(input.ipAddress !== undefined ? { ipAddress: input.ipAddress } : {}),
    });
    params.push(['Policy', encodeCloudFrontBase64(policy)], ['Key-Pair-Id', opts.keyPairId]);
    params.push(['Signature', await signPolicy(policy, opts.privateKey, hash)]);
  } else {
    const epoch = toEpochSeconds(input.expires, 'expires');
    params.push(['Expires', String(epoch)], ['Key-Pair-Id', opts.keyPairId]);
    params.push(['Signature', await signPolicy(buildCannedPolicy(base, epoch), opts.privateKey, hash)]);
  }
  if (hash === 'SHA256') params.push(['Hash-Algorithm', 'SHA256']);
  const query = params.map(([k, v]) => `${encodeParam(k)}=${encodeParam(v)}`).join('&');
  return base + (base.includes('?') ? '&' : '?') + query;
}

import { decodeCloudFrontBase64 } from './base64.ts';

// The credentials of one request as the verifier judges them (from a signed URL, or one combination of cookies),
// and the bounds on how much of each it looks at.

export interface Credentials {
  source: 'cookie' | 'url';
  keyPairId?: string;
  signature?: string;
  policy?: string; // CloudFront-base64 custom policy
  expires?: string; // canned policy expiry
  hash?: string;
}

/** Longest credential values looked at: CloudFront's request line is at most 8,192 bytes; RSA-4096 signs 684 chars. */
export const MAX_POLICY_CHARS = 8192;
export const MAX_SIGNATURE_CHARS = 1024;
/** Values kept per cookie name after junk is dropped, and candidates judged per request: the search is bounded. */
export const KEEP_PER_NAME = 8;
export const MAX_CANDIDATES = 16;

/** The text of a CloudFront-base64 policy, or undefined when it is too long or not UTF-8. */
export function policyText(b64: string): string | undefined {
  if (b64.length > MAX_POLICY_CHARS) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(decodeCloudFrontBase64(b64));
  } catch {
    return undefined;
  }
}

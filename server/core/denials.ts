import type { DenialCode, DenialReason } from './types.ts';

// The one table of refusals: for every reason, CloudFront's error code, a plain explanation, and the check that
// produces it, in the order CloudFront (and the verifier) runs them. Used by the verifier, the HTTP responses,
// `hls-gate explain` and the player.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-signed-urls.html

/** The checks in the order they run; a request is granted when it passes all of them. */
export const CHECKS = [
  { name: 'credentials present (signed-URL parameters or CloudFront cookies)', reasons: ['no-credentials'] },
  { name: 'key pair ID present', reasons: ['missing-key-pair-id'] },
  { name: 'key pair ID is a trusted public key', reasons: ['unknown-key'] },
  {
    name: 'policy decodes and is a valid CloudFront policy',
    reasons: ['malformed-policy', 'malformed-expires', 'malformed-url'],
  },
  { name: 'hash algorithm is SHA1 or SHA256', reasons: ['malformed-hash-algorithm'] },
  { name: 'signature matches the policy and key', reasons: ['malformed-signature', 'bad-signature'] },
  { name: 'not expired (now < DateLessThan)', reasons: ['expired'] },
  { name: 'already valid (now > DateGreaterThan)', reasons: ['not-yet-valid'] },
  { name: 'Resource covers the URL', reasons: ['resource-mismatch'] },
  { name: 'viewer IP inside IpAddress', reasons: ['ip-mismatch'] },
  { name: 'session cookie signed for this grant (session control only)', reasons: ['session-invalid'] },
  { name: 'viewer and session not revoked (session control only)', reasons: ['revoked'] },
] as const satisfies readonly { name: string; reasons: readonly DenialReason[] }[];

/** CloudFront's code and a plain explanation for each reason. Details never hold a signature, policy or token. */
export const DENIALS: Readonly<Record<DenialReason, { code: DenialCode; detail: string }>> = {
  'no-credentials': {
    code: 'MissingKey',
    detail: 'The request carries no CloudFront signed cookies or signed-URL parameters.',
  },
  'missing-key-pair-id': {
    code: 'MissingKey',
    detail: 'The Key-Pair-Id query parameter or CloudFront-Key-Pair-Id cookie is missing.',
  },
  'unknown-key': { code: 'InvalidKey', detail: 'The key pair ID is not one of the trusted public keys.' },
  'malformed-policy': {
    code: 'MalformedPolicy',
    detail: 'The policy cannot be decoded or is not a valid CloudFront policy.',
  },
  'malformed-expires': { code: 'MalformedPolicy', detail: 'Expires is not a whole number of epoch seconds.' },
  'malformed-url': { code: 'AccessDenied', detail: 'The URL cannot be checked against a canned policy.' },
  'malformed-hash-algorithm': { code: 'AccessDenied', detail: 'The hash algorithm is neither SHA1 nor SHA256.' },
  'malformed-signature': { code: 'AccessDenied', detail: 'The signature is missing or cannot be decoded.' },
  'bad-signature': { code: 'AccessDenied', detail: 'The signature does not match the policy and key.' },
  expired: { code: 'AccessDenied', detail: 'The grant has expired (DateLessThan is in the past).' },
  'not-yet-valid': { code: 'AccessDenied', detail: 'The grant is not valid yet (DateGreaterThan is in the future).' },
  'resource-mismatch': { code: 'AccessDenied', detail: "The policy's Resource does not cover this URL." },
  'ip-mismatch': { code: 'AccessDenied', detail: "The viewer's IP address is outside the policy's IpAddress range." },
  'session-invalid': {
    code: 'AccessDenied',
    detail: 'The session cookie is missing, forged, or belongs to other credentials.',
  },
  revoked: { code: 'AccessDenied', detail: 'Access for this viewer or device was revoked.' },
};

/** CloudFront's message for each code, as in its XML error body. */
export const CLOUDFRONT_MESSAGES: Readonly<Record<DenialCode, string>> = {
  MissingKey: 'Missing Key-Pair-Id query parameter or cookie value',
  InvalidKey: 'Unknown Key',
  MalformedPolicy: 'Malformed Policy',
  AccessDenied: 'Access denied',
};

/** The position of a reason's check in CHECKS (0-based). */
export function checkIndex(reason: DenialReason): number {
  return CHECKS.findIndex((c) => (c.reasons as readonly DenialReason[]).includes(reason));
}

/** CloudFront's XML error body for a refusal. */
export function cloudFrontErrorXml(code: DenialCode): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${CLOUDFRONT_MESSAGES[code]}</Message></Error>`;
}

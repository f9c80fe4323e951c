// The one rule for what a viewer's `sub` (the viewer token's subject) may be, applied everywhere a sub enters or is
// used as a key: issuing grants and device links, checking session cookies, the admin API, `hls-gate revoke`,
// Redis keys, the Durable Object, and the CloudFront KeyValueStore keys the edge function reads (`sub:<sub>`; a
// KeyValueStore key is at most 512 bytes: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-keyvaluestores).
// A sub is compared exactly as written, so the rule leaves no two spellings of one sub: it must be well-formed
// Unicode (no lone surrogate, which UTF-8 cannot carry and would turn into U+FFFD on the way to a store), already
// in NFC, without control characters, and at most MAX_SUBJECT_BYTES bytes of UTF-8.

export const MAX_SUBJECT_BYTES = 200;

// C0 and C1 controls and DEL: never part of an identifier, and a hazard in logs and keys.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `sub` breaks the rule, or null when it is a valid sub. */
export function subjectProblem(sub: unknown): string | null {
  if (typeof sub !== 'string' || sub.length === 0) return 'must be a non-empty string';
  if (LONE_SURROGATE.test(sub)) return 'must be well-formed Unicode (no lone surrogate)';
  if (CONTROL.test(sub)) return 'must not contain control characters';
  if (sub.normalize('NFC') !== sub) return 'must be in Unicode NFC';
  if (new TextEncoder().encode(sub).length > MAX_SUBJECT_BYTES)
    return `must be at most ${MAX_SUBJECT_BYTES} bytes of UTF-8`;
  return null;
}

export function isSubject(sub: unknown): sub is string {
  return subjectProblem(sub) === null;
}

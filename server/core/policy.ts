import type { ParsedPolicy, PolicyInput, TimeInput } from './types.ts';
import { CoreError } from './errors.ts';
import { normaliseSourceIp, parseCidr } from './cidr.ts';
import { toEpochSeconds } from './time.ts';
import { parseStrictJson } from './json.ts';

// Policy JSON exactly as CloudFront and AWS's signers write it: no whitespace, keys in this order.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-setting-signed-cookie-custom-policy.html
// Only one Statement and one Resource are allowed per policy (same page).

// Refuse, never escape: a quote, a backslash (other than CloudFront's `\?`) or a control character in the
// resource would otherwise let input shape a different policy than the one the caller meant.
const UNSAFE_RESOURCE = /["\u0000-\u001f\u007f\u2028\u2029]|\\(?!\?)/;

function checkResource(resource: string): void {
  if (typeof resource !== 'string' || resource.length === 0) {
    throw new CoreError(
      'ERR_POLICY_INPUT',
      'a policy needs a Resource: without one it would grant every file of the distribution',
    );
  }
  if (UNSAFE_RESOURCE.test(resource)) {
    throw new CoreError(
      'ERR_POLICY_INPUT',
      'the resource contains a quote, backslash or control character; percent-encode it',
    );
  }
}

/**
 * A custom policy's JSON exactly as AWS's signers write it. Refuses a missing Resource, a Resource with a quote,
 * backslash or control character, an IPv6 or malformed IP, and a start at or after the expiry.
 */
export function buildCustomPolicy(input: PolicyInput): string {
  checkResource(input.resource);
  const expires = toEpochSeconds(input.expires, 'expires');
  const condition: Record<string, Record<string, number | string>> = { DateLessThan: { 'AWS:EpochTime': expires } };
  if (input.notBefore !== undefined) {
    const notBefore = toEpochSeconds(input.notBefore, 'notBefore');
    // A grant that starts at or after its end is valid at no instant (DateGreaterThan is exclusive): refuse it, as
    // aws-cli does (its cross-SDK test cases: an active date at or after the expiry is an error).
    if (notBefore >= expires)
      throw new CoreError(
        'ERR_POLICY_INPUT',
        'the start (notBefore) must be before the expiry: this grant would never be valid',
      );
    condition.DateGreaterThan = { 'AWS:EpochTime': notBefore };
  }
  if (input.ipAddress !== undefined) {
    const ip = normaliseSourceIp(input.ipAddress);
    if (!ip)
      throw new CoreError(
        'ERR_POLICY_INPUT',
        'the IP address must be one IPv4 address or CIDR range (CloudFront policies do not take IPv6)',
      );
    condition.IpAddress = { 'AWS:SourceIp': ip };
  }
  // JSON.stringify of this literal gives AWS's exact bytes (its signer builds the same object): the resource
  // cannot need escaping, as checked above.
  return JSON.stringify({ Statement: [{ Resource: input.resource, Condition: condition }] });
}

/** A canned policy's JSON for one exact URL (what CloudFront rebuilds from a URL and its Expires). */
export function buildCannedPolicy(url: string, expires: TimeInput): string {
  checkResource(url);
  const epoch = toEpochSeconds(expires, 'expires');
  return `{"Statement":[{"Resource":${JSON.stringify(url)},"Condition":{"DateLessThan":{"AWS:EpochTime":${epoch}}}}]}`;
}

function malformed(why: string): never {
  throw new CoreError('ERR_POLICY_MALFORMED', `malformed policy: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) malformed(`unknown key in ${where}`);
}

function epochOf(cond: unknown, name: string): number {
  if (!isObject(cond)) malformed(`${name} must be an object`);
  onlyKeys(cond, ['AWS:EpochTime'], name);
  const v = cond['AWS:EpochTime'];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 1e11)
    malformed(`${name} must be whole epoch seconds`);
  return v;
}

/**
 * Strict parse of a policy received on the wire: duplicate keys are refused (what was signed is read one way
 * only), unknown keys too. Its fields are trusted only after the signature has been verified.
 */
export function parsePolicy(json: string): ParsedPolicy {
  let doc: unknown;
  try {
    doc = parseStrictJson(json, { maxDepth: 8 });
  } catch (err) {
    malformed(err instanceof Error ? err.message : 'not JSON');
  }
  if (!isObject(doc)) malformed('not an object');
  onlyKeys(doc, ['Statement'], 'the policy');
  const statements = doc.Statement;
  if (!Array.isArray(statements) || statements.length !== 1) malformed('exactly one Statement is required');
  const st: unknown = statements[0];
  if (!isObject(st)) malformed('the Statement must be an object');
  onlyKeys(st, ['Resource', 'Condition'], 'the Statement');
  if (typeof st.Resource !== 'string' || st.Resource.length === 0) malformed('Resource must be a non-empty string');
  const cond = st.Condition;
  if (!isObject(cond)) malformed('Condition is required');
  onlyKeys(cond, ['DateLessThan', 'DateGreaterThan', 'IpAddress'], 'the Condition');
  if (cond.DateLessThan === undefined) malformed('DateLessThan is required');
  const policy: ParsedPolicy = { resource: st.Resource, dateLessThan: epochOf(cond.DateLessThan, 'DateLessThan') };
  if (cond.DateGreaterThan !== undefined) policy.dateGreaterThan = epochOf(cond.DateGreaterThan, 'DateGreaterThan');
  if (cond.IpAddress !== undefined) {
    const ip = cond.IpAddress;
    if (!isObject(ip)) malformed('IpAddress must be an object');
    onlyKeys(ip, ['AWS:SourceIp'], 'IpAddress');
    const cidr = ip['AWS:SourceIp'];
    if (typeof cidr !== 'string' || !parseCidr(cidr)) malformed('AWS:SourceIp must be an IPv4 CIDR');
    policy.ipAddress = cidr;
  }
  return policy;
}

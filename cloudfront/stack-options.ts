import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { checkOrigin } from '../server/app/option-checks.ts';
import { HlsGateError } from '../server/core/errors.ts';

// What `hls-gate cloudfront stack` is given, checked before anything is synthesised: a bad value is refused with
// what to pass instead, never turned into a template that fails half-way through a deployment.

export class StackOptionError extends HlsGateError<'ERR_STACK_OPTION'> {
  override readonly name = 'StackOptionError';
  constructor(message: string) {
    super('ERR_STACK_OPTION', message);
  }
}

/** A CloudFront public key, as the stack declares it. */
export interface StackPublicKey {
  /** SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), the form CloudFront takes. */
  pem: string;
  /** Hex SHA-256 of the key's DER, first 12 digits: the key's resource name, stable while the key stays. */
  fingerprint: string;
  /** Where it came from, for the template's comments. */
  source: string;
}

export interface StackOptions {
  /** The key group's keys: the first is the one the gateway signs with, the others stay trusted (rotation). */
  publicKeys: StackPublicKey[];
  /** The gateway's host name (`api.example.com`): `/api/*` is sent there over HTTPS. */
  apiOrigin: string;
  /** Page origins allowed to read media with credentials (`https://app.example.com`), exactly. */
  allowedOrigins: string[];
  /** The revocation CloudFront Function and its KeyValueStore on every media behavior. */
  sessionControl: boolean;
  /** `/uploads/*`: signed PUTs into the bucket. */
  uploads: boolean;
  /** Live playlists: cached at most 1 s, delivery directives in the cache key. */
  live: boolean;
  /** The alternate domain name and its ACM certificate (us-east-1); without them, the cloudfront.net name. */
  domain?: { name: string; certificateArn: string };
}

/**
 * CloudFront key groups take RSA 2048 and ECDSA P-256 public keys, PEM-encoded
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-trusted-signers.html#private-content-creating-cloudfront-key-pairs).
 */
export function publicKeyFromPem(text: string, source: string): StackPublicKey {
  if (/PRIVATE KEY-----/.test(text))
    throw new StackOptionError(
      `${source} is a private key: pass the public key (hls-gate keys generate writes public_key.pem beside it)`,
    );
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw new StackOptionError(`${source} is not a PEM public key (-----BEGIN PUBLIC KEY-----)`);
  }
  const details = key.asymmetricKeyDetails;
  const rsa2048 = key.asymmetricKeyType === 'rsa' && details?.modulusLength === 2048;
  const p256 = key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1';
  if (!rsa2048 && !p256)
    throw new StackOptionError(`${source}: CloudFront key groups take RSA 2048 or ECDSA P-256 keys only`);
  const der = key.export({ type: 'spki', format: 'der' });
  return {
    pem: key.export({ type: 'spki', format: 'pem' }).toString(),
    fingerprint: createHash('sha256').update(der).digest('hex').slice(0, 12),
    source,
  };
}

const HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
// An ACM certificate for CloudFront must be in us-east-1
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html).
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/;

function refuse(message: string): never {
  throw new StackOptionError(message);
}

/** Checks the options as a whole; returns them with origins and host names in canonical form. */
export function checkStackOptions(options: StackOptions): StackOptions {
  const { publicKeys, allowedOrigins, domain } = options;
  // A key group holds at most 5 public keys (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html).
  if (publicKeys.length < 1 || publicKeys.length > 5)
    refuse('--public-key: one to five keys (the first signs; the others stay trusted while you rotate)');
  if (new Set(publicKeys.map((k) => k.fingerprint)).size !== publicKeys.length)
    refuse('--public-key: the same key was given twice');
  const apiOrigin = options.apiOrigin.trim().toLowerCase();
  if (!HOST.test(apiOrigin))
    refuse(`--api-origin: "${options.apiOrigin}" must be the gateway's host name (api.example.com), no scheme or path`);
  if (allowedOrigins.length < 1)
    refuse('--allowed-origin: at least one page origin (https://app.example.com) that plays the media');
  const origins = allowedOrigins.map((o) => {
    if (o.includes('*'))
      refuse('--allowed-origin cannot be a wildcard: browsers refuse credentials with Access-Control-Allow-Origin *');
    const origin = checkOrigin(o, '--allowed-origin', refuse);
    if (!origin.startsWith('https://')) refuse(`--allowed-origin: "${o}" must be https:// (the cookies are Secure)`);
    return origin;
  });
  let checkedDomain: StackOptions['domain'];
  if (domain) {
    const name = domain.name.trim().toLowerCase();
    if (!HOST.test(name)) refuse(`--domain: "${domain.name}" must be a host name (media.example.com)`);
    if (!CERTIFICATE_ARN.test(domain.certificateArn))
      refuse(
        '--certificate-arn: an ACM certificate ARN in us-east-1 (CloudFront takes certificates from that region only)',
      );
    checkedDomain = { name, certificateArn: domain.certificateArn };
  }
  return {
    ...options,
    apiOrigin,
    allowedOrigins: [...new Set(origins)],
    ...(checkedDomain ? { domain: checkedDomain } : {}),
  };
}

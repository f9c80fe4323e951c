// Public types of the signing core. This file is the contract between the core and its users
// (gateway, CLI, Workers build, tests). Web-standard only: no Node types.

/** CloudFront's hash algorithms. Absent on the wire means SHA1. */
export type HashAlgorithm = 'SHA1' | 'SHA256';

export type KeyType = 'rsa' | 'ecdsa';

/** A private key imported once; CryptoKeys per hash algorithm are derived lazily and reused. */
export interface SigningKey {
  readonly type: KeyType;
  /** RSA modulus length in bits, or 256 for P-256. */
  readonly bits: number;
  /** Returns the WebCrypto key for the given hash (imported once per hash, then cached). */
  cryptoKey(hash: HashAlgorithm): Promise<CryptoKey>;
  /** The matching public key, for a default key group. */
  publicKey(): Promise<VerifyKey>;
  /** SPKI PEM of the matching public key (what you upload to a CloudFront key group). */
  publicKeyPem(): Promise<string>;
  /**
   * Optional runtime-native signer returning the wire-format signature (PKCS#1 v1.5, or DER for ECDSA). The Node
   * entry sets one backed by node:crypto, which is faster there than WebCrypto; without it WebCrypto signs.
   */
  sign?: (data: Uint8Array, hash: HashAlgorithm) => Uint8Array | Promise<Uint8Array>;
}

/** A trusted public key (one member of a key group). */
export interface VerifyKey {
  readonly type: KeyType;
  readonly bits: number;
  cryptoKey(hash: HashAlgorithm): Promise<CryptoKey>;
}

/** Key pair ID (CloudFront public key ID, e.g. K2JCJMDEHXQW5F) -> public key. Several for rotation. */
export type KeyGroup = ReadonlyMap<string, VerifyKey>;

/** Time: a Date or integer epoch seconds. */
export type TimeInput = Date | number;

export interface PolicyInput {
  /** The Resource URL or pattern (`*`, `?` wildcards). Required: a policy without one grants everything. */
  resource: string;
  /** DateLessThan: access ends at this instant. */
  expires: TimeInput;
  /** DateGreaterThan: access starts after this instant. */
  notBefore?: TimeInput;
  /** AWS:SourceIp: one IPv4 address or CIDR (`/32` is added to a bare address as AWS's signers do: see policy.ts). */
  ipAddress?: string;
}

/** A policy parsed from the wire, after strict validation. */
export interface ParsedPolicy {
  resource: string;
  /** epoch seconds */
  dateLessThan: number;
  dateGreaterThan?: number;
  ipAddress?: string;
}

export interface SignerOptions {
  keyPairId: string;
  privateKey: SigningKey;
  /** Default SHA1, as CloudFront. */
  hashAlgorithm?: HashAlgorithm;
}

/** Cookie name -> value, the same shape as `getSignedCookies` of @aws-sdk/cloudfront-signer. */
export interface SignedCookies {
  'CloudFront-Policy'?: string;
  'CloudFront-Expires'?: number;
  'CloudFront-Key-Pair-Id': string;
  'CloudFront-Signature': string;
  'CloudFront-Hash-Algorithm'?: 'SHA256';
}

export type DenialCode = 'MissingKey' | 'InvalidKey' | 'MalformedPolicy' | 'AccessDenied';

export type DenialReason =
  | 'no-credentials'
  | 'missing-key-pair-id'
  | 'unknown-key'
  | 'malformed-policy'
  | 'malformed-expires'
  | 'malformed-signature'
  | 'malformed-hash-algorithm'
  | 'malformed-url'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'resource-mismatch'
  | 'ip-mismatch'
  // hls-gate's session control (off unless SESSION_SECRET is set): checked after CloudFront's own checks.
  | 'session-invalid'
  | 'revoked';

export interface Denial {
  code: DenialCode;
  reason: DenialReason;
  /** Human explanation. Never contains a signature, policy text or token. */
  detail: string;
  /** Where the judged credentials came from, when any were found. */
  source?: 'cookie' | 'url';
  keyPairId?: string;
}

export interface Grant {
  resource: string;
  /** DateLessThan, epoch seconds. */
  expiresAt: number;
  notBefore?: number;
  ipAddress?: string;
  keyPairId: string;
  source: 'cookie' | 'url';
  hashAlgorithm: HashAlgorithm;
  policyKind: 'canned' | 'custom';
}

export type Verdict = { ok: true; grant: Grant } | { ok: false; denial: Denial };

export interface VerifyRequest {
  /** The URL as the viewer requested it, on the public origin (percent-encoded wire form). */
  url: string | URL;
  /** The Cookie header, or several Cookie headers. */
  cookie?: string | readonly string[] | null;
  /** The viewer's IP address (IPv4 or IPv6 text). */
  clientIp?: string | null;
  /** Defaults to the current time. */
  now?: TimeInput;
}

export interface VerifierOptions {
  keys: KeyGroup;
  /** Bounded cache of verified (key pair ID, hash, policy, signature) entries. Default 10_000. 0 disables. */
  cacheSize?: number;
}

export interface VerifierStats {
  /** Public-key verifications actually performed. */
  verifications: number;
  /** Checks answered from the cache of already-verified signatures. */
  cacheHits: number;
}

export interface Verifier {
  verify(request: VerifyRequest): Promise<Verdict>;
  stats(): VerifierStats;
}

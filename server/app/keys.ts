import { ConfigError, type GatewayConfig } from './config.ts';
import {
  CoreError,
  createVerifier,
  importPrivateKey,
  importPublicKey,
  signCookies,
  type KeyGroup,
  type SigningKey,
  type VerifyKey,
} from '../core/index.ts';

export interface GatewayKeys {
  signingKey: SigningKey;
  keyGroup: KeyGroup;
  /** Start-up warnings: the gateway works, but not everything the operator may expect does. */
  warnings: string[];
}

// CloudFront key groups take RSA-2048 and ECDSA P-256 public keys only.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-trusted-signers.html
function cloudFrontWarning(what: string, key: { type: string; bits: number }): string | null {
  if (key.type !== 'rsa' || key.bits === 2048) return null;
  return `${what} is RSA-${key.bits}: hls-gate accepts it, but CloudFront key groups take only RSA-2048 and ECDSA P-256 keys, so it cannot be used with CloudFront in front`;
}

/** Does `publicKey` verify what `signingKey` signs? (Formats differ: PKCS#1, SPKI; a signature settles it.) */
async function samePair(keyPairId: string, signingKey: SigningKey, publicKey: VerifyKey): Promise<boolean> {
  const resource = 'https://hls-gate.invalid/key-check';
  const cookies = await signCookies({ resource, expires: 4_000_000_000 }, { keyPairId, privateKey: signingKey });
  const header = Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
  const verdict = await createVerifier({ keys: new Map([[keyPairId, publicKey]]), cacheSize: 0 }).verify({
    url: resource,
    cookie: header,
    now: 0,
  });
  return verdict.ok;
}

/** Imports the configured keys once; a bad PEM or an inconsistent key group becomes a ConfigError naming what to fix. */
export async function importGatewayKeys(config: GatewayConfig): Promise<GatewayKeys> {
  let signingKey: SigningKey;
  try {
    signingKey = await importPrivateKey(config.privateKeyPem);
  } catch (err) {
    throw new ConfigError(`CLOUDFRONT_PRIVATE_KEY: ${err instanceof CoreError ? err.message : 'cannot be read'}`);
  }
  const warnings: string[] = [];
  const signingWarning = cloudFrontWarning('CLOUDFRONT_PRIVATE_KEY', signingKey);
  if (signingWarning) warnings.push(signingWarning);
  const keyGroup = new Map<string, VerifyKey>([[config.keyPairId, await signingKey.publicKey()]]);
  for (const { keyPairId, pem } of config.publicKeys) {
    let key: VerifyKey;
    try {
      key = await importPublicKey(pem);
    } catch (err) {
      throw new ConfigError(
        `CLOUDFRONT_PUBLIC_KEYS (${keyPairId}): ${err instanceof CoreError ? err.message : 'cannot be read'}`,
      );
    }
    if (keyPairId === config.keyPairId) {
      if (!(await samePair(keyPairId, signingKey, key))) {
        throw new ConfigError(
          `CLOUDFRONT_PUBLIC_KEYS gives ${keyPairId}, the ID of the signing key (CLOUDFRONT_KEY_PAIR_ID), a different public key: every grant would be refused with bad-signature. Remove that entry (the signing key is always trusted) or give the other key its own ID`,
        );
      }
      continue;
    }
    const w = cloudFrontWarning(`CLOUDFRONT_PUBLIC_KEYS (${keyPairId})`, key);
    if (w) warnings.push(w);
    keyGroup.set(keyPairId, key);
  }
  return { signingKey, keyGroup, warnings };
}

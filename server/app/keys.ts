import { ConfigError, type GatewayConfig } from './config.ts';
import { CoreError, importPrivateKey, importPublicKey, type KeyGroup, type SigningKey, type VerifyKey } from '../core/index.ts';

export interface GatewayKeys {
  signingKey: SigningKey;
  keyGroup: KeyGroup;
}

/** Imports the configured keys once; a bad PEM becomes a ConfigError naming the variable to fix. */
export async function importGatewayKeys(config: GatewayConfig): Promise<GatewayKeys> {
  let signingKey: SigningKey;
  try {
    signingKey = await importPrivateKey(config.privateKeyPem);
  } catch (err) {
    throw new ConfigError(`CLOUDFRONT_PRIVATE_KEY: ${err instanceof CoreError ? err.message : 'cannot be read'}`);
  }
  const keyGroup = new Map<string, VerifyKey>([[config.keyPairId, await signingKey.publicKey()]]);
  for (const { keyPairId, pem } of config.publicKeys) {
    try {
      keyGroup.set(keyPairId, await importPublicKey(pem));
    } catch (err) {
      throw new ConfigError(`CLOUDFRONT_PUBLIC_KEYS (${keyPairId}): ${err instanceof CoreError ? err.message : 'cannot be read'}`);
    }
  }
  return { signingKey, keyGroup };
}

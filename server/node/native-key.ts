import { createPrivateKey, sign } from 'node:crypto';
import type { SigningKey } from '../core/index.ts';

// On Node, node:crypto signs faster than WebCrypto (no thread-pool round trip per call: about 1.5x for RSA-2048
// and several times for ECDSA P-256, see bench/). Same bytes either way: RSA PKCS#1 v1.5 is deterministic, and
// ECDSA is emitted in DER as CloudFront expects.
export function withNodeCrypto(key: SigningKey, pem: string): SigningKey {
  const keyObject = createPrivateKey(pem);
  const dsaEncoding = key.type === 'ecdsa' ? ('der' as const) : undefined;
  return {
    ...key,
    sign: (data, hash) =>
      new Uint8Array(
        sign(hash === 'SHA256' ? 'sha256' : 'sha1', data, dsaEncoding ? { key: keyObject, dsaEncoding } : keyObject),
      ),
  };
}

// The WebCrypto assertions below are needed where this file is also compiled: with the DOM library alone
// (tsconfig.core.json) and with Workers' types, exportKey and generateKey return unions that Node's types narrow.
/* eslint-disable @typescript-eslint/no-unnecessary-type-assertion */
import type { HashAlgorithm, KeyType, SigningKey, VerifyKey } from './types.ts';
import { CoreError } from './errors.ts';
import { normalisePrivateKeyPem, normalisePublicKeyPem, derToPem } from './pem.ts';
import { bytesToBase64 } from './base64.ts';

// Keys are imported once; WebCrypto binds RSA keys to one hash at import, so a CryptoKey per hash is
// derived lazily from the same DER and kept.

const WEBCRYPTO_HASH: Record<HashAlgorithm, string> = { SHA1: 'SHA-1', SHA256: 'SHA-256' };

// Plain objects, so the code type-checks against both the DOM's and the Workers runtime's WebCrypto typings.
export function importParams(
  type: KeyType,
  hash: HashAlgorithm,
): { name: string; hash: string } | { name: string; namedCurve: string } {
  return type === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: WEBCRYPTO_HASH[hash] }
    : { name: 'ECDSA', namedCurve: 'P-256' };
}

export function webCryptoHash(hash: HashAlgorithm): string {
  return WEBCRYPTO_HASH[hash];
}

function keyCache(make: (hash: HashAlgorithm) => Promise<CryptoKey>) {
  const cache = new Map<HashAlgorithm, Promise<CryptoKey>>();
  return (hash: HashAlgorithm): Promise<CryptoKey> => {
    let key = cache.get(hash);
    if (!key) {
      key = make(hash);
      cache.set(hash, key);
    }
    return key;
  };
}

function bitsOf(key: CryptoKey): number {
  const alg = key.algorithm as { modulusLength?: number };
  return typeof alg.modulusLength === 'number' ? alg.modulusLength : 256;
}

function publicFromDer(type: KeyType, spki: Uint8Array, bits: number): VerifyKey {
  const cryptoKey = keyCache((hash) =>
    crypto.subtle.importKey('spki', spki as BufferSource, importParams(type, hash), true, ['verify']),
  );
  return { type, bits, cryptoKey };
}

/**
 * Imports a PEM private key for signing: PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC1
 * ("EC PRIVATE KEY"). RSA must be at least 2048 bits: CloudFront key groups accept only RSA-2048 and 1024-bit
 * RSA is within reach of attackers (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-trusted-signers.html).
 */
export async function importPrivateKey(pem: string): Promise<SigningKey> {
  const { algorithm: type, der } = normalisePrivateKeyPem(pem);
  let first: CryptoKey;
  try {
    first = await crypto.subtle.importKey('pkcs8', der as BufferSource, importParams(type, 'SHA1'), true, ['sign']);
  } catch {
    throw new CoreError(
      'ERR_KEY_MALFORMED',
      `the ${type === 'rsa' ? 'RSA' : 'EC'} private key could not be imported (corrupt or incomplete PEM)`,
    );
  }
  const bits = bitsOf(first);
  if (type === 'rsa' && bits < 2048) {
    throw new CoreError(
      'ERR_KEY_TOO_SMALL',
      `RSA key of ${bits} bits refused for signing: CloudFront key groups need RSA-2048 and shorter keys can be broken; make one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`,
    );
  }
  const cryptoKey = keyCache((hash) =>
    hash === 'SHA1'
      ? Promise.resolve(first)
      : crypto.subtle.importKey('pkcs8', der as BufferSource, importParams(type, hash), true, ['sign']),
  );
  let spki: Promise<Uint8Array> | undefined;
  const publicSpki = () =>
    (spki ??= (async () => {
      // Drop the private members of the JWK and re-import it as a public key.
      const jwk = (await crypto.subtle.exportKey('jwk', first)) as JsonWebKey;
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      const pubKey = await crypto.subtle.importKey(
        'jwk',
        { ...pub, key_ops: ['verify'] },
        importParams(type, 'SHA1'),
        true,
        ['verify'],
      );
      return new Uint8Array((await crypto.subtle.exportKey('spki', pubKey)) as ArrayBuffer);
    })());
  let verifyKey: Promise<VerifyKey> | undefined;
  return {
    type,
    bits,
    cryptoKey,
    publicKey: () => (verifyKey ??= publicSpki().then((der) => publicFromDer(type, der, bits))),
    publicKeyPem: async () => derToPem(await publicSpki(), 'PUBLIC KEY', bytesToBase64),
  };
}

/** Imports a trusted public key: SPKI ("PUBLIC KEY", RSA or EC P-256) or PKCS#1 ("RSA PUBLIC KEY"). */
export async function importPublicKey(pem: string): Promise<VerifyKey> {
  const { algorithm: type, der } = normalisePublicKeyPem(pem);
  let probe: CryptoKey;
  try {
    probe = await crypto.subtle.importKey('spki', der as BufferSource, importParams(type, 'SHA1'), true, ['verify']);
  } catch {
    throw new CoreError('ERR_KEY_MALFORMED', 'the public key could not be imported (corrupt or incomplete PEM)');
  }
  return publicFromDer(type, der, bitsOf(probe));
}

/** A new key pair in the forms a CloudFront key group takes: PKCS#8 private and SPKI public PEM. */
export async function generateKeyPair(type: KeyType): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  const params =
    type === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-1' }
      : { name: 'ECDSA', namedCurve: 'P-256' };
  const pair = (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
  const spki = new Uint8Array((await crypto.subtle.exportKey('spki', pair.publicKey)) as ArrayBuffer);
  return {
    privateKeyPem: derToPem(pkcs8, 'PRIVATE KEY', bytesToBase64),
    publicKeyPem: derToPem(spki, 'PUBLIC KEY', bytesToBase64),
  };
}

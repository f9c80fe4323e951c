import { describe, expect, it } from 'vitest';
import { createPublicKey, createVerify } from 'node:crypto';
import {
  importPrivateKey,
  importPublicKey,
  generateKeyPair,
  signPolicy,
  decodeCloudFrontBase64,
  encodeCloudFrontBase64,
  CoreError,
} from '../../server/core/index.ts';
import { fixtureKey } from '../helpers/fixtures.ts';

const policy =
  '{"Statement":[{"Resource":"https://media.example.com/videos/a/*","Condition":{"DateLessThan":{"AWS:EpochTime":2000000000}}}]}';

function nodeVerify(publicPem: string, signature: string, alg: 'SHA1' | 'SHA256', ec = false): boolean {
  const v = createVerify(alg === 'SHA1' ? 'SHA1' : 'SHA256');
  v.update(policy);
  return v.verify(
    { key: createPublicKey(publicPem), ...(ec ? { dsaEncoding: 'der' as const } : {}) },
    Buffer.from(decodeCloudFrontBase64(signature)),
  );
}

describe('private keys', () => {
  it.each([
    ['rsa-pkcs8.pem', 'rsa', 2048, 'rsa-spki.pem'],
    ['rsa-pkcs1.pem', 'rsa', 2048, 'rsa-spki.pem'],
    ['ec-pkcs8.pem', 'ecdsa', 256, 'ec-spki.pem'],
    ['ec-sec1.pem', 'ecdsa', 256, 'ec-spki.pem'],
    ['ec-sec1-with-params.pem', 'ecdsa', 256, 'ec-spki.pem'],
  ] as const)('imports %s and signs what node:crypto verifies', async (file, type, bits, pub) => {
    const key = await importPrivateKey(fixtureKey(file));
    expect(key.type).toBe(type);
    expect(key.bits).toBe(bits);
    for (const hash of ['SHA1', 'SHA256'] as const) {
      const sig = await signPolicy(policy, key, hash);
      expect(nodeVerify(fixtureKey(pub), sig, hash, type === 'ecdsa')).toBe(true);
    }
    // The derived public key is the same key openssl derived.
    expect((await key.publicKeyPem()).trim()).toBe(fixtureKey(pub).trim());
  });

  it('reuses one CryptoKey per hash', async () => {
    const key = await importPrivateKey(fixtureKey('rsa-pkcs8.pem'));
    expect(await key.cryptoKey('SHA256')).toBe(await key.cryptoKey('SHA256'));
    expect(await key.cryptoKey('SHA1')).not.toBe(await key.cryptoKey('SHA256'));
  });

  it.each([
    ['rsa-encrypted.pem', 'ERR_KEY_ENCRYPTED', /openssl pkcs8 -topk8 -nocrypt/],
    ['rsa-pkcs1-encrypted.pem', 'ERR_KEY_ENCRYPTED', /openssl pkcs8 -topk8 -nocrypt/],
    ['rsa1024.pem', 'ERR_KEY_TOO_SMALL', /1024 bits refused.*RSA-2048.*broken/],
    ['dsa.pem', 'ERR_KEY_UNSUPPORTED', /DSA keys are not supported/],
    ['ec-p384.pem', 'ERR_KEY_CURVE', /only the P-256/],
    ['ed25519.pem', 'ERR_KEY_UNSUPPORTED', /Ed25519 keys are not supported/],
    ['rsa-spki.pem', 'ERR_KEY_MALFORMED', /this is a public key/],
  ])('refuses %s with a message that says what to do', async (file, code, message) => {
    const err = await importPrivateKey(fixtureKey(file)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoreError);
    expect((err as CoreError).code).toBe(code);
    expect((err as CoreError).message).toMatch(message);
    expect((err as CoreError).message).not.toMatch(/BEGIN|MII/);
  });

  it('refuses text that is not a PEM key, and a truncated key', async () => {
    await expect(importPrivateKey('hello')).rejects.toMatchObject({ code: 'ERR_KEY_MALFORMED' });
    const pem = fixtureKey('rsa-pkcs8.pem');
    const truncated = pem.replace(/(-----BEGIN PRIVATE KEY-----\n)([\s\S]{200})[\s\S]*?(-----END)/, '$1$2\n$3');
    await expect(importPrivateKey(truncated)).rejects.toMatchObject({ code: 'ERR_KEY_MALFORMED' });
  });
});

describe('public keys', () => {
  it.each(['rsa-spki.pem', 'rsa-pkcs1-public.pem', 'ec-spki.pem'])('imports %s', async (file) => {
    const key = await importPublicKey(fixtureKey(file));
    expect(key.type).toBe(file.startsWith('ec') ? 'ecdsa' : 'rsa');
  });
  it('refuses a private key where a public key belongs', async () => {
    await expect(importPublicKey(fixtureKey('rsa-pkcs8.pem'))).rejects.toThrow(
      /openssl pkey -in private_key.pem -pubout/,
    );
  });
});

describe('generateKeyPair', () => {
  it.each(['rsa', 'ecdsa'] as const)('makes a %s pair in PKCS#8 + SPKI that node:crypto accepts', async (type) => {
    const pair = await generateKeyPair(type);
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const key = await importPrivateKey(pair.privateKeyPem);
    expect(nodeVerify(pair.publicKeyPem, await signPolicy(policy, key), 'SHA1', type === 'ecdsa')).toBe(true);
  });
});

describe("CloudFront's base64", () => {
  it('is standard base64 with + -> -, = -> _, / -> ~ for every length (all three remainders) and round-trips', () => {
    for (let length = 0; length < 300; length++) {
      const bytes = new Uint8Array(length).map((_, i) => (i * 151 + length * 29) & 255);
      const expected = Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/=/g, '_').replace(/\//g, '~');
      expect(encodeCloudFrontBase64(bytes)).toBe(expected);
      if (length > 0) expect(decodeCloudFrontBase64(expected)).toEqual(bytes);
    }
    expect(encodeCloudFrontBase64('{"é":1}')).toBe(Buffer.from('{"é":1}').toString('base64').replace(/=/g, '_'));
  });
});

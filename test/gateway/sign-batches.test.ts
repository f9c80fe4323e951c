// The Node gateway signs the grants asked for in one event-loop turn together (server/node/sign-batches.ts). The
// signatures must be exactly the direct ones, every caller must get its own, and one failure must stay one caller's.
import { describe, expect, it } from 'vitest';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { importPrivateKey, type SigningKey } from '../../server/core/index.ts';
import { withNodeCrypto } from '../../server/node/native-key.ts';
import { signInBatches } from '../../server/node/sign-batches.ts';

const pem = (name: string) => readFileSync(join(REPO_ROOT, `test/fixtures/keys/${name}-pkcs8.pem`), 'utf8');
const bytes = (i: number) =>
  new TextEncoder().encode(`{"Statement":[{"Resource":"https://media.example.com/videos/v${i}/*"}]}`);

describe('signatures made in event-loop batches', () => {
  it('gives every caller of one turn its own signature, the same bytes as signing directly, after the turn', async () => {
    const direct = withNodeCrypto(await importPrivateKey(pem('rsa')), pem('rsa'));
    let calls = 0;
    const counted: SigningKey = { ...direct, sign: (data, hash) => (calls++, direct.sign!(data, hash)) };
    const batched = signInBatches(counted);
    const pending = Array.from({ length: 40 }, (_, i) =>
      Promise.resolve(batched.sign!(bytes(i), i % 2 ? 'SHA256' : 'SHA1')),
    );
    expect(calls).toBe(0); // nothing is signed while the turn's requests are still being read
    const signatures = await Promise.all(pending);
    expect(calls).toBe(40);
    // RSA PKCS#1 v1.5 is deterministic: each must be the direct signature of its own data and hash.
    for (let i = 0; i < 40; i++)
      expect(
        Buffer.from(signatures[i]!).equals(Buffer.from(await direct.sign!(bytes(i), i % 2 ? 'SHA256' : 'SHA1'))),
      ).toBe(true);
    expect(new Set(signatures.map((s) => Buffer.from(s).toString('hex'))).size).toBe(40);
  });

  it('makes ECDSA signatures that verify against the public key, one per caller', async () => {
    const batched = signInBatches(withNodeCrypto(await importPrivateKey(pem('ec')), pem('ec')));
    const publicKey = createPublicKey(pem('ec'));
    const signatures = await Promise.all(
      Array.from({ length: 10 }, (_, i) => Promise.resolve(batched.sign!(bytes(i), 'SHA1'))),
    );
    signatures.forEach((s, i) => {
      expect(verify('sha1', bytes(i), { key: publicKey, dsaEncoding: 'der' }, s)).toBe(true);
      expect(verify('sha1', bytes(i + 1), { key: publicKey, dsaEncoding: 'der' }, s)).toBe(false);
    });
  });

  it('rejects only the caller whose signature failed', async () => {
    const direct = withNodeCrypto(await importPrivateKey(pem('rsa')), pem('rsa'));
    const failing: SigningKey = {
      ...direct,
      sign: (data, hash) => {
        if (new TextDecoder().decode(data).includes('/v3/')) throw new Error('the signer failed');
        return direct.sign!(data, hash);
      },
    };
    const batched = signInBatches(failing);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => Promise.resolve(batched.sign!(bytes(i), 'SHA1'))),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    // The next turn signs again: a failure leaves nothing behind.
    await expect(batched.sign!(bytes(9), 'SHA1')).resolves.toBeInstanceOf(Uint8Array);
  });

  it('leaves a WebCrypto key (no native signer) as it is', async () => {
    const key = await importPrivateKey(pem('ec'));
    expect(signInBatches(key)).toBe(key);
  });
});

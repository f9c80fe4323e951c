// The signing core inside workerd (Miniflare): RSA and ECDSA, SHA-1 and SHA-256, compared with node:crypto and
// @aws-sdk/cloudfront-signer on the Node side.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { createSign, createVerify } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { buildCustomPolicy, decodeCloudFrontBase64, encodeCloudFrontBase64 } from '../../server/core/index.ts';
import { fixtureKey } from '../helpers/fixtures.ts';

const now = 1_800_000_000;
const policy = buildCustomPolicy({ resource: 'https://media.example.com/videos/abc/*', expires: now + 600 });
const nodeSign = (alg: string, pem: string, der = false) => {
  const s = createSign(alg);
  s.update(policy);
  return encodeCloudFrontBase64(new Uint8Array(s.sign(der ? { key: pem, dsaEncoding: 'der' } : pem)));
};

describe('signing core inside workerd', () => {
  let mf: Miniflare;
  let out: Record<string, unknown> & {
    verdicts: Record<string, string>;
    rsaSha1: string[];
    rsaSha256: string[];
    ecSha1: string;
    ecSha256: string;
  };
  const url = 'https://media.example.com/videos/abc/a b/seg.ts?x=1';

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-core-worker-'));
    const scriptPath = join(dir, 'index.js');
    await build({
      entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'core-worker.ts')],
      outfile: scriptPath,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      logLevel: 'warning',
    });
    mf = new Miniflare({ modules: true, scriptPath, modulesRoot: dir, compatibilityDate: '2026-04-01' });
    const res = await mf.dispatchFetch('http://localhost/', {
      method: 'POST',
      body: JSON.stringify({
        keys: {
          rsaPkcs8: fixtureKey('rsa-pkcs8.pem'),
          rsaPkcs1: fixtureKey('rsa-pkcs1.pem'),
          ecPkcs8: fixtureKey('ec-pkcs8.pem'),
          ecSec1: fixtureKey('ec-sec1.pem'),
          rsaSpki: fixtureKey('rsa-spki.pem'),
          rsaPkcs1Public: fixtureKey('rsa-pkcs1-public.pem'),
          ecSpki: fixtureKey('ec-spki.pem'),
        },
        policy,
        nodeSignatures: {
          rsaSha1: nodeSign('SHA1', fixtureKey('rsa-pkcs8.pem')),
          ecSha1: nodeSign('SHA1', fixtureKey('ec-pkcs8.pem'), true),
          ecSha256: nodeSign('SHA256', fixtureKey('ec-pkcs8.pem'), true),
        },
        url,
        now,
      }),
    });
    out = (await res.json()) as typeof out;
  });
  afterAll(async () => mf?.dispose());

  it('imports every key form', () => {
    expect(out.types).toEqual(['rsa', 'rsa', 'ecdsa', 'ecdsa']);
    expect((out.publicPem as string).trim()).toBe(fixtureKey('rsa-spki.pem').trim());
  });

  it('RSA signatures equal node:crypto byte for byte (SHA-1 and SHA-256, PKCS#8 and PKCS#1)', () => {
    expect(out.rsaSha1).toEqual([
      nodeSign('SHA1', fixtureKey('rsa-pkcs8.pem')),
      nodeSign('SHA1', fixtureKey('rsa-pkcs8.pem')),
    ]);
    expect(out.rsaSha256).toEqual([
      nodeSign('SHA256', fixtureKey('rsa-pkcs8.pem')),
      nodeSign('SHA256', fixtureKey('rsa-pkcs8.pem')),
    ]);
  });

  it('ECDSA signatures are DER that node:crypto verifies (SHA-1 and SHA-256)', () => {
    for (const [sig, alg] of [
      [out.ecSha1, 'SHA1'],
      [out.ecSha256, 'SHA256'],
    ] as const) {
      const v = createVerify(alg);
      v.update(policy);
      expect(
        v.verify({ key: fixtureKey('ec-spki.pem'), dsaEncoding: 'der' }, Buffer.from(decodeCloudFrontBase64(sig))),
      ).toBe(true);
    }
    expect(out.derRoundTrip).toBe(true);
  });

  it('a signed URL made in workerd equals AWS getSignedUrl', () => {
    expect(out.signedUrl).toBe(
      getSignedUrl({
        url,
        keyPairId: 'KWORKERD',
        privateKey: fixtureKey('rsa-pkcs8.pem'),
        dateLessThan: new Date((now + 60) * 1000),
        algorithm: 'SHA256',
      }),
    );
  });

  it('the verifier in workerd accepts Node-made RSA and ECDSA signatures and refuses tampering', () => {
    expect(out.verdicts).toEqual({
      nodeRsaSha1: 'ok',
      nodeRsaSha1ViaPkcs1PublicKey: 'ok',
      nodeEcSha1: 'ok',
      nodeEcSha256: 'ok',
      ownRsaSha256: 'ok',
      ownEcSha256: 'ok',
      tamperedSignature: 'bad-signature',
      wrongHash: 'bad-signature',
      unknownKey: 'unknown-key',
      expired: 'expired',
      otherPolicy: 'bad-signature',
    });
  });
});

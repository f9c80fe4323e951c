// 1: the signing library in-process. Cookies per second on one core, RSA-2048 and ECDSA P-256, against the raw signing
// rate of the same key and against @aws-sdk/cloudfront-signer. The endpoint is measured over HTTP in api.ts.
import { createPrivateKey, createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getSignedCookies } from '@aws-sdk/cloudfront-signer';
import { buildCustomPolicy, importPrivateKey, signCookies } from '../server/core/index.ts';
import { REPO_ROOT } from '../server/node/load-env.ts';
import { withNodeCrypto } from '../server/node/native-key.ts';
import { compare, ratio, type Ratio } from './lib.ts';

const RSA_PEM = readFileSync(join(REPO_ROOT, 'test/fixtures/keys/rsa-pkcs8.pem'), 'utf8');
const EC_PEM = readFileSync(join(REPO_ROOT, 'test/fixtures/keys/ec-pkcs8.pem'), 'utf8');
const KID = 'K2JCJMDEHXQW5F';
const BASE = 'https://media.example.com';

export async function issuance(rounds: number, ms: number): Promise<Record<string, Ratio>> {
  const rsa = await importPrivateKey(RSA_PEM);
  const ec = await importPrivateKey(EC_PEM);
  const rsaSha1 = await rsa.cryptoKey('SHA1');
  const nodeKey = createPrivateKey(RSA_PEM);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const policyFor = (i: number) => buildCustomPolicy({ resource: `${BASE}/videos/v${i}/*`, expires: exp });
  const enc = new TextEncoder();

  const rsaNode = withNodeCrypto(rsa, RSA_PEM);
  const ecNode = withNodeCrypto(ec, EC_PEM);

  const r = await compare(
    {
      rawWebCrypto: (i) => crypto.subtle.sign('RSASSA-PKCS1-v1_5', rsaSha1, enc.encode(policyFor(i))),
      rawNodeCrypto: (i) => createSign('RSA-SHA1').update(policyFor(i)).sign(nodeKey),
      libRsa: (i) =>
        signCookies({ resource: `${BASE}/videos/v${i}/*`, expires: exp }, { keyPairId: KID, privateKey: rsaNode }),
      libRsaWebCrypto: (i) =>
        signCookies({ resource: `${BASE}/videos/v${i}/*`, expires: exp }, { keyPairId: KID, privateKey: rsa }),
      aws: (i) => getSignedCookies({ policy: policyFor(i), keyPairId: KID, privateKey: RSA_PEM }),
      libEcdsa: (i) =>
        signCookies({ resource: `${BASE}/videos/v${i}/*`, expires: exp }, { keyPairId: KID, privateKey: ecNode }),
      libEcdsaWebCrypto: (i) =>
        signCookies({ resource: `${BASE}/videos/v${i}/*`, expires: exp }, { keyPairId: KID, privateKey: ec }),
    },
    rounds,
    ms,
  );
  // The raw baseline is the faster of the two ways to sign the same bytes with the same key on this machine.
  const raw = Math.max(r.rawNodeCrypto!, r.rawWebCrypto!);
  return {
    'issuance.rsa.library_vs_raw_sign': ratio(
      r.libRsa!,
      raw,
      'cookies/s',
      0.9,
      `library with the node:crypto signer the Node gateway uses; raw = node:crypto ${Math.round(r.rawNodeCrypto!)}/s, WebCrypto ${Math.round(r.rawWebCrypto!)}/s`,
    ),
    'issuance.rsa.library_webcrypto_vs_raw_webcrypto_sign': ratio(
      r.libRsaWebCrypto!,
      r.rawWebCrypto!,
      'cookies/s',
      undefined,
      'the portable path (Workers): WebCrypto on both sides',
    ),
    'issuance.rsa.library_vs_aws_getSignedCookies': ratio(r.libRsa!, r.aws!, 'cookies/s', 2),
    'issuance.ecdsa.library_vs_rsa_library': ratio(r.libEcdsa!, r.libRsa!, 'cookies/s', 10),
    'issuance.ecdsa.library_webcrypto_vs_rsa_webcrypto': ratio(
      r.libEcdsaWebCrypto!,
      r.libRsaWebCrypto!,
      'cookies/s',
      undefined,
      'WebCrypto on both sides (the Workers path)',
    ),
  };
}

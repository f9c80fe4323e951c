// 1 and 2: issuing grants. Cookies per second on one core, library and access endpoint, RSA-2048 and ECDSA P-256,
// against the raw signing rate of the same key and against @aws-sdk/cloudfront-signer; and grants for one popular
// video (shared policy window) against the raw RSA rate.
import { createPrivateKey, createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { getSignedCookies } from '@aws-sdk/cloudfront-signer';
import { buildCustomPolicy, createVerifier, importPrivateKey, signCookies } from '../server/core/index.ts';
import { createGrantIssuer } from '../server/app/grants.ts';
import { createApp } from '../server/app/create-app.ts';
import { createViewerAuth } from '../server/app/auth.ts';
import { parseConfig } from '../server/app/config.ts';
import type { MediaStorage } from '../server/app/storage.ts';
import { REPO_ROOT } from '../server/node/load-env.ts';
import { withNodeCrypto } from '../server/node/native-key.ts';
import { compare, ratio, type Ratio } from './lib.ts';

const RSA_PEM = readFileSync(join(REPO_ROOT, 'test/fixtures/keys/rsa-pkcs8.pem'), 'utf8');
const EC_PEM = readFileSync(join(REPO_ROOT, 'test/fixtures/keys/ec-pkcs8.pem'), 'utf8');
const KID = 'K2JCJMDEHXQW5F';
const BASE = 'https://media.example.com';
const SECRET = 'bench-secret-that-is-long-enough-for-hs256';

/** Every video exists: the endpoint benchmark measures issuance, not the disk. */
const anyVideo: MediaStorage = {
  head: async () => ({ size: 1, etag: '"1"', lastModified: new Date(0) }),
  get: async () => null,
};

export async function issuance(rounds: number, ms: number): Promise<Record<string, Ratio>> {
  const rsa = await importPrivateKey(RSA_PEM);
  const ec = await importPrivateKey(EC_PEM);
  const rsaSha1 = await rsa.cryptoKey('SHA1');
  const nodeKey = createPrivateKey(RSA_PEM);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const policyFor = (i: number) => buildCustomPolicy({ resource: `${BASE}/videos/v${i}/*`, expires: exp });
  const enc = new TextEncoder();

  const makeApp = async (pem: string, window: string) => {
    const config = parseConfig({ CLOUDFRONT_KEY_PAIR_ID: KID, CLOUDFRONT_PRIVATE_KEY: pem, AUTH_JWT_SECRET: SECRET, MEDIA_BASE_URL: BASE, GRANT_WINDOW: window });
    const signingKey = withNodeCrypto(await importPrivateKey(pem), pem); // as the Node gateway runs
    return createApp({ config, storage: anyVideo, signingKey, verifier: createVerifier({ keys: new Map() }), auth: await createViewerAuth(config.auth, false), log: () => {} });
  };
  const token = await new SignJWT({ videos: '*' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(enc.encode(SECRET));
  const rsaApp = await makeApp(RSA_PEM, '0');
  const ecApp = await makeApp(EC_PEM, '0');
  let n = 0; // distinct video per request: distinct policies, nothing shared
  const access = (app: Awaited<ReturnType<typeof makeApp>>) => async () => {
    const res = await app.request(`${BASE}/api/videos/v${n++}/access`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`access ${res.status}`);
  };
  const rsaNode = withNodeCrypto(rsa, RSA_PEM);
  const ecNode = withNodeCrypto(ec, EC_PEM);
  const popular = createGrantIssuer({ keyPairId: KID, signingKey: rsaNode, ttl: 3600, window: 60 });

  const r = await compare(
    {
      rawWebCrypto: (i) => crypto.subtle.sign('RSASSA-PKCS1-v1_5', rsaSha1, enc.encode(policyFor(i))),
      rawNodeCrypto: (i) => createSign('RSA-SHA1').update(policyFor(i)).sign(nodeKey),
      libRsa: (i) => signCookies({ resource: `${BASE}/videos/v${i}/*`, expires: exp }, { keyPairId: KID, privateKey: rsaNode }),
      libRsaWebCrypto: (i) => signCookies({ resource: `${BASE}/videos/v${i}/*`, expires: exp }, { keyPairId: KID, privateKey: rsa }),
      aws: (i) => getSignedCookies({ policy: policyFor(i), keyPairId: KID, privateKey: RSA_PEM }),
      endpointRsa: access(rsaApp),
      libEcdsa: (i) => signCookies({ resource: `${BASE}/videos/v${i}/*`, expires: exp }, { keyPairId: KID, privateKey: ecNode }),
      libEcdsaWebCrypto: (i) => signCookies({ resource: `${BASE}/videos/v${i}/*`, expires: exp }, { keyPairId: KID, privateKey: ec }),
      endpointEcdsa: access(ecApp),
      popularVideo: () => popular.issue(`${BASE}/videos/popular/*`, Date.now()),
    },
    rounds,
    ms,
  );
  // The raw baseline is the faster of the two ways to sign the same bytes with the same key on this machine.
  const raw = Math.max(r.rawNodeCrypto!, r.rawWebCrypto!);
  return {
    'issuance.rsa.library_vs_raw_sign': ratio(r.libRsa!, raw, 'cookies/s', 0.9, `library with the node:crypto signer the Node gateway uses; raw = node:crypto ${Math.round(r.rawNodeCrypto!)}/s, WebCrypto ${Math.round(r.rawWebCrypto!)}/s`),
    'issuance.rsa.library_webcrypto_vs_raw_webcrypto_sign': ratio(r.libRsaWebCrypto!, r.rawWebCrypto!, 'cookies/s', undefined, 'the portable path (Workers): WebCrypto on both sides'),
    'issuance.rsa.library_vs_aws_getSignedCookies': ratio(r.libRsa!, r.aws!, 'cookies/s', 2),
    'issuance.rsa.endpoint_vs_raw_sign': ratio(r.endpointRsa!, raw, 'grants/s', 0.9, 'POST /api/videos/:id/access in-process, HS256 JWT check included, a new video each time'),
    'issuance.rsa.endpoint_vs_aws_getSignedCookies': ratio(r.endpointRsa!, r.aws!, 'grants/s', 2),
    'issuance.ecdsa.library_vs_rsa_library': ratio(r.libEcdsa!, r.libRsa!, 'cookies/s', 10),
    'issuance.ecdsa.library_webcrypto_vs_rsa_webcrypto': ratio(r.libEcdsaWebCrypto!, r.libRsaWebCrypto!, 'cookies/s', undefined, 'WebCrypto on both sides (the Workers path)'),
    'issuance.ecdsa.endpoint_vs_rsa_endpoint': ratio(r.endpointEcdsa!, r.endpointRsa!, 'grants/s', 10),
    'issuance.popular_video_vs_raw_rsa_sign': ratio(r.popularVideo!, raw, 'grants/s', 20, 'one video, GRANT_WINDOW=60: one signature per video and window, reused from the cache'),
  };
}

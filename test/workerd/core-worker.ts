// Runs INSIDE workerd: exercises the signing core with the runtime's own WebCrypto and reports the results to
// the Node-side test (test/workerd/core-workerd.test.ts), which compares them with node:crypto and AWS's signer.
// The library entry point as published (`hls-gate`, dist/ built by `npm run build`), not the TypeScript source.
import {
  buildCustomPolicy,
  createVerifier,
  encodeCloudFrontBase64,
  importPrivateKey,
  importPublicKey,
  signPolicy,
  signUrl,
} from '../../dist/server/index.js';
import { derToP1363, p1363ToDer } from '../../server/core/ecdsa-der.ts';

interface Input {
  keys: {
    rsaPkcs8: string;
    rsaPkcs1: string;
    ecPkcs8: string;
    ecSec1: string;
    rsaSpki: string;
    rsaPkcs1Public: string;
    ecSpki: string;
  };
  policy: string;
  nodeSignatures: { rsaSha1: string; ecSha1: string; ecSha256: string };
  url: string;
  now: number;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const input = (await request.json()) as Input;
    const k = input.keys;
    const out: Record<string, unknown> = {};
    const rsa8 = await importPrivateKey(k.rsaPkcs8);
    const rsa1 = await importPrivateKey(k.rsaPkcs1);
    const ec8 = await importPrivateKey(k.ecPkcs8);
    const ec1 = await importPrivateKey(k.ecSec1);
    out.types = [rsa8.type, rsa1.type, ec8.type, ec1.type];
    out.rsaSha1 = [await signPolicy(input.policy, rsa8, 'SHA1'), await signPolicy(input.policy, rsa1, 'SHA1')];
    out.rsaSha256 = [await signPolicy(input.policy, rsa8, 'SHA256'), await signPolicy(input.policy, rsa1, 'SHA256')];
    out.ecSha1 = await signPolicy(input.policy, ec8, 'SHA1');
    out.ecSha256 = await signPolicy(input.policy, ec1, 'SHA256');
    out.publicPem = await rsa8.publicKeyPem();
    out.signedUrl = await signUrl(
      input.url,
      { expires: input.now + 60 },
      { keyPairId: 'KWORKERD', privateKey: rsa8, hashAlgorithm: 'SHA256' },
    );
    const raw = new Uint8Array(64).map((_, i) => (i * 37) & 0xff);
    out.derRoundTrip = Array.from(derToP1363(p1363ToDer(raw)) ?? []).join(',') === Array.from(raw).join(',');

    const verifier = createVerifier({
      keys: new Map([
        ['KRSA', await importPublicKey(k.rsaSpki)],
        ['KRSA1', await importPublicKey(k.rsaPkcs1Public)],
        ['KEC', await importPublicKey(k.ecSpki)],
      ]),
    });
    const policyB64 = encodeCloudFrontBase64(input.policy);
    const cookie = (kid: string, sig: string, hash?: string) =>
      `CloudFront-Policy=${policyB64}; CloudFront-Signature=${sig}; CloudFront-Key-Pair-Id=${kid}${hash ? `; CloudFront-Hash-Algorithm=${hash}` : ''}`;
    const resource = JSON.parse(input.policy).Statement[0].Resource.replace('*', 'seg.ts');
    const verdict = async (c: string, at = input.now) => {
      const v = await verifier.verify({ url: resource, cookie: c, now: at });
      return v.ok ? 'ok' : v.denial.reason;
    };
    out.verdicts = {
      nodeRsaSha1: await verdict(cookie('KRSA', input.nodeSignatures.rsaSha1)),
      nodeRsaSha1ViaPkcs1PublicKey: await verdict(cookie('KRSA1', input.nodeSignatures.rsaSha1)),
      nodeEcSha1: await verdict(cookie('KEC', input.nodeSignatures.ecSha1)),
      nodeEcSha256: await verdict(cookie('KEC', input.nodeSignatures.ecSha256, 'SHA256')),
      ownRsaSha256: await verdict(cookie('KRSA', (out.rsaSha256 as string[])[0]!, 'SHA256')),
      ownEcSha256: await verdict(cookie('KEC', out.ecSha256 as string, 'SHA256')),
      tamperedSignature: await verdict(
        cookie(
          'KRSA',
          input.nodeSignatures.rsaSha1.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
        ),
      ),
      wrongHash: await verdict(cookie('KRSA', input.nodeSignatures.rsaSha1, 'SHA256')),
      unknownKey: await verdict(cookie('KNOPE', input.nodeSignatures.rsaSha1)),
      expired: await verdict(cookie('KRSA', input.nodeSignatures.rsaSha1), input.now + 10_000),
      otherPolicy: await verdict(
        `CloudFront-Policy=${encodeCloudFrontBase64(buildCustomPolicy({ resource: '*', expires: input.now + 60 }))}; CloudFront-Signature=${input.nodeSignatures.rsaSha1}; CloudFront-Key-Pair-Id=KRSA`,
      ),
    };
    out.stats = verifier.stats();
    return Response.json(out);
  },
};

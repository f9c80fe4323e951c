// Our signer must equal AWS's own (@aws-sdk/cloudfront-signer) byte for byte: RSA PKCS#1 v1.5 is
// deterministic, so the same key and policy give the same signature. And our verifier must accept what it makes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { getSignedCookies, getSignedUrl } from '@aws-sdk/cloudfront-signer';
import {
  buildCustomPolicy,
  createVerifier,
  importPrivateKey,
  importPublicKey,
  signCookies,
  signUrl,
  type SigningKey,
} from '../../server/core/index.ts';
import { RSA_KEY_PAIR_ID as KID, fixtureKey } from '../helpers/fixtures.ts';

const privatePem = fixtureKey('rsa-pkcs8.pem');
const key: SigningKey = await importPrivateKey(privatePem);
const verifier = createVerifier({ keys: new Map([[KID, await importPublicKey(fixtureKey('rsa-spki.pem'))]]) });

const segment = fc.stringMatching(/^[A-Za-z0-9 _.~é日本-]{1,12}$/);
const urlArb = fc.record({
  host: fc.constantFrom('media.example.com', 'd111111abcdef8.cloudfront.net', 'cdn.example.org:8443'),
  path: fc.array(segment, { minLength: 1, maxLength: 4 }),
  query: fc.option(
    fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,5}$/), fc.stringMatching(/^[A-Za-z0-9 %]{0,6}$/)), {
      minLength: 1,
      maxLength: 3,
    }),
    { nil: undefined },
  ),
});
const toUrl = (u: { host: string; path: string[]; query?: [string, string][] | undefined }) =>
  `https://${u.host}/${u.path.join('/')}${u.query ? `?${u.query.map(([k, v]) => `${k}=${v}`).join('&')}` : ''}`;
const epoch = fc.integer({ min: 1_700_000_000, max: 2_100_000_000 });
const ipArb = fc.option(
  fc
    .tuple(
      fc.integer({ min: 1, max: 223 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.option(fc.integer({ min: 8, max: 32 }), { nil: undefined }),
    )
    .map(([a, b, c, d, m]) => `${a}.${b}.${c}.${d}${m === undefined ? '' : `/${m}`}`),
  { nil: undefined },
);
const hashArb = fc.constantFrom('SHA1' as const, 'SHA256' as const);
// A start strictly before the expiry: a grant starting at or after its end is refused (see the test below).
const startBefore = (expires: number) => fc.integer({ min: 1, max: 86400 * 30 }).map((d) => expires - d);
const windowArb = epoch.chain((expires) =>
  fc.tuple(fc.constant(expires), fc.option(startBefore(expires), { nil: undefined })),
);

describe('byte-for-byte equality with @aws-sdk/cloudfront-signer', () => {
  it('custom-policy cookies, for random wildcard resources, times and IP ranges', async () => {
    await fc.assert(
      fc.asyncProperty(
        urlArb,
        fc.constantFrom('', '*', '/*'),
        windowArb,
        ipArb,
        hashArb,
        async (u, wildcard, [expires, start], ip, hash) => {
          const resource = toUrl(u) + wildcard;
          const input = { resource, expires, ...(start ? { notBefore: start } : {}), ...(ip ? { ipAddress: ip } : {}) };
          const policy = buildCustomPolicy(input);
          const ours = await signCookies(input, { keyPairId: KID, privateKey: key, hashAlgorithm: hash });
          const theirs = getSignedCookies({ policy, keyPairId: KID, privateKey: privatePem, algorithm: hash });
          expect(ours).toEqual(theirs);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('policies the AWS signer builds itself (dateGreaterThan, ipAddress) equal ours', async () => {
    await fc.assert(
      fc.asyncProperty(
        urlArb,
        epoch.chain((e) => fc.tuple(fc.constant(e), startBefore(e))),
        ipArb,
        async (u, [expires, start], ip) => {
          const url = toUrl(u);
          const theirs = getSignedCookies({
            url,
            keyPairId: KID,
            privateKey: privatePem,
            dateLessThan: new Date(expires * 1000),
            dateGreaterThan: new Date(start * 1000),
            ...(ip ? { ipAddress: ip } : {}),
          });
          const ours = await signCookies(
            { resource: url, expires, notBefore: start, ...(ip ? { ipAddress: ip } : {}) },
            { keyPairId: KID, privateKey: key },
          );
          expect(ours).toEqual(theirs);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('signed URLs, canned and custom, SHA-1 and SHA-256', async () => {
    await fc.assert(
      fc.asyncProperty(urlArb, windowArb, ipArb, hashArb, async (u, [expires, start], ip, hash) => {
        const url = toUrl(u);
        const theirs = getSignedUrl({
          url,
          keyPairId: KID,
          privateKey: privatePem,
          dateLessThan: new Date(expires * 1000),
          algorithm: hash,
          ...(start ? { dateGreaterThan: new Date(start * 1000) } : {}),
          ...(ip ? { ipAddress: ip } : {}),
        });
        const ours = await signUrl(
          url,
          { expires, ...(start ? { notBefore: start } : {}), ...(ip ? { ipAddress: ip } : {}) },
          { keyPairId: KID, privateKey: key, hashAlgorithm: hash },
        );
        expect(ours).toBe(theirs);
        // ...and the verifier grants what AWS's signer made, at a time inside the window.
        const now = Math.max(expires - 1, (start ?? 0) + 1);
        const ipInRange = ip ? ip.split('/')[0]! : undefined;
        if (now < expires) {
          const verdict = await verifier.verify({ url: theirs, now, clientIp: ipInRange ?? null });
          expect(verdict).toMatchObject({ ok: true, grant: { source: 'url', hashAlgorithm: hash, keyPairId: KID } });
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('documented vectors', () => {
  // The canned-policy example of the CloudFront Developer Guide, signed with our fixture key by both signers.
  it('canned policy URL has AWS parameter order', async () => {
    const url = 'https://d111111abcdef8.cloudfront.net/image.jpg';
    const signed = await signUrl(url, { expires: 1357034400 }, { keyPairId: KID, privateKey: key });
    expect(signed).toMatch(
      /^https:\/\/d111111abcdef8\.cloudfront\.net\/image\.jpg\?Expires=1357034400&Key-Pair-Id=K2JCJMDEHXQW5F&Signature=[A-Za-z0-9~_-]+$/,
    );
  });
  it('a custom policy has no whitespace and the documented key order', () => {
    expect(
      buildCustomPolicy({
        resource: 'https://d111111abcdef8.cloudfront.net/game_download.zip',
        expires: 1357034400,
        notBefore: 1357020000,
        ipAddress: '192.0.2.0/24',
      }),
    ).toBe(
      '{"Statement":[{"Resource":"https://d111111abcdef8.cloudfront.net/game_download.zip","Condition":{"DateLessThan":{"AWS:EpochTime":1357034400},"DateGreaterThan":{"AWS:EpochTime":1357020000},"IpAddress":{"AWS:SourceIp":"192.0.2.0/24"}}}]}',
    );
  });

  it("refuses a grant whose start is at or after its expiry, which AWS's JS signer would sign (aws-cli refuses it)", async () => {
    const url = 'https://media.example.com/videos/abc/*';
    for (const start of [1_800_000_000, 1_800_000_001]) {
      expect(() =>
        getSignedCookies({
          url,
          keyPairId: KID,
          privateKey: privatePem,
          dateLessThan: new Date(1_800_000_000_000),
          dateGreaterThan: new Date(start * 1000),
        }),
      ).not.toThrow();
      expect(() => buildCustomPolicy({ resource: url, expires: 1_800_000_000, notBefore: start })).toThrow(
        /must be before the expiry/,
      );
      await expect(
        signCookies({ resource: url, expires: 1_800_000_000, notBefore: start }, { keyPairId: KID, privateKey: key }),
      ).rejects.toThrow(/must be before the expiry/);
      await expect(
        signUrl(url, { expires: 1_800_000_000, notBefore: start }, { keyPairId: KID, privateKey: key }),
      ).rejects.toThrow(/must be before the expiry/);
    }
  });
});

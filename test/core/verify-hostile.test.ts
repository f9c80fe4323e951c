// The verifier under hostile input: verdicts that do not depend on the cache or on what else is in the Cookie
// header, policies that can be read only one way, and memory that does not grow with attacker-chosen sizes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildCustomPolicy,
  createVerifier,
  encodeCloudFrontBase64,
  importPrivateKey,
  importPublicKey,
  signCookies,
  signPolicy,
  signUrl,
  type SignedCookies,
  type Verdict,
} from '../../server/core/index.ts';
import { parsePolicy } from '../../server/core/policy.ts';
import { parseStrictJson } from '../../server/core/json.ts';
import { RSA_KEY_PAIR_ID as KID, fixtureKey } from '../helpers/fixtures.ts';

const rsa = await importPrivateKey(fixtureKey('rsa-pkcs8.pem'));
const keys = new Map([[KID, await importPublicKey(fixtureKey('rsa-spki.pem'))]]);
const NOW = 1_800_000_000;
const RESOURCE = 'https://media.example.com/videos/abc/*';
const SEGMENT = 'https://media.example.com/videos/abc/720p/seg_00001.ts';
const header = (c: Record<string, string | number | undefined>) =>
  Object.entries(c)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
const good = await signCookies({ resource: RESOURCE, expires: NOW + 600 }, { keyPairId: KID, privateKey: rsa });
const goodSha256 = await signCookies(
  { resource: RESOURCE, expires: NOW + 600 },
  { keyPairId: KID, privateKey: rsa, hashAlgorithm: 'SHA256' },
);
const otherVideo = await signCookies(
  { resource: 'https://media.example.com/videos/xyz/*', expires: NOW + 600 },
  { keyPairId: KID, privateKey: rsa },
);

describe('a verdict is a pure function of the request and the clock', () => {
  it('an empty Hash-Algorithm is refused on a cold cache and on a warm one', async () => {
    const empty = header({ ...good, 'CloudFront-Hash-Algorithm': '' });
    const cold = await createVerifier({ keys }).verify({ url: SEGMENT, cookie: empty, now: NOW });
    const warm = createVerifier({ keys });
    expect((await warm.verify({ url: SEGMENT, cookie: header({ ...good }), now: NOW })).ok).toBe(true);
    const afterWarm = await warm.verify({ url: SEGMENT, cookie: empty, now: NOW });
    expect(cold).toMatchObject({ ok: false, denial: { reason: 'malformed-hash-algorithm' } });
    expect(afterWarm).toEqual(cold);
  });

  it('the same for a signed URL with an empty Hash-Algorithm', async () => {
    const url = await signUrl(SEGMENT, { expires: NOW + 60, resource: RESOURCE }, { keyPairId: KID, privateKey: rsa });
    const warm = createVerifier({ keys });
    expect((await warm.verify({ url, now: NOW })).ok).toBe(true);
    const emptyHash = `${url}&Hash-Algorithm=`;
    expect(await warm.verify({ url: emptyHash, now: NOW })).toEqual(
      await createVerifier({ keys }).verify({ url: emptyHash, now: NOW }),
    );
  });

  // Credentials built from valid pieces, mutated pieces and junk; each judged alone on a fresh verifier (cold) must
  // get the same verdict when judged after any other credentials on a shared one (warm).
  const piece = {
    policy: fc.constantFrom(
      good['CloudFront-Policy'],
      otherVideo['CloudFront-Policy'],
      goodSha256['CloudFront-Policy'],
      'e30_',
      '',
      'not*base64',
      undefined,
    ),
    signature: fc.constantFrom(
      good['CloudFront-Signature'],
      goodSha256['CloudFront-Signature'],
      otherVideo['CloudFront-Signature'],
      good['CloudFront-Signature'].slice(4),
      'AAAA',
      '',
      undefined,
    ),
    keyPairId: fc.constantFrom(KID, 'KUNKNOWN', '', undefined),
    hash: fc.constantFrom('SHA1', 'SHA256', '', 'sha256', 'MD5', undefined),
  };
  const credential = fc.record(piece).map((p) =>
    header({
      'CloudFront-Policy': p.policy,
      'CloudFront-Signature': p.signature,
      'CloudFront-Key-Pair-Id': p.keyPairId,
      'CloudFront-Hash-Algorithm': p.hash,
    }),
  );
  const request = fc.record({
    cookie: fc.array(credential, { minLength: 1, maxLength: 3 }).map((cs) => cs.join('; ')),
    url: fc.constantFrom(SEGMENT, 'https://media.example.com/videos/xyz/a.ts'),
    now: fc.constantFrom(NOW, NOW + 600),
  });

  it('property: warm and cold caches give the same verdict, in any order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 2, maxLength: 8 }), async (requests) => {
        const shared = createVerifier({ keys });
        const warm: Verdict[] = [];
        for (const r of requests) warm.push(await shared.verify(r));
        for (const [i, r] of requests.entries()) expect(warm[i]).toEqual(await createVerifier({ keys }).verify(r));
        // ...and again in reverse order on the now-warm verifier.
        for (const [i, r] of [...requests.entries()].reverse()) expect(await shared.verify(r)).toEqual(warm[i]);
      }),
      { numRuns: 150 },
    );
  });
});

describe('junk cookies beside a valid grant', () => {
  const junk = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}=junk${i}`).join('; ');
  it.each(['CloudFront-Key-Pair-Id', 'CloudFront-Policy', 'CloudFront-Signature', 'CloudFront-Hash-Algorithm'])(
    '%s junk placed before the real cookies does not hide them',
    async (name) => {
      const verifier = createVerifier({ keys });
      const cookie = `${junk(name, 12)}; ${header({ ...good })}`;
      expect((await verifier.verify({ url: SEGMENT, cookie, now: NOW })).ok).toBe(true);
    },
  );

  it('4x4 junk pairs and a real grant: granted with at most one public-key operation', async () => {
    const verifier = createVerifier({ keys });
    const pairs = Array.from(
      { length: 4 },
      (_, i) => `CloudFront-Policy=junk${i}; CloudFront-Signature=junk${i}; CloudFront-Key-Pair-Id=KJUNK${i}`,
    ).join('; ');
    expect((await verifier.verify({ url: SEGMENT, cookie: `${pairs}; ${header({ ...good })}`, now: NOW })).ok).toBe(
      true,
    );
    expect(verifier.stats().verifications).toBe(1);
  });

  it('a viewer holding grants for several videos is found in a few tries (aligned cookies first)', async () => {
    const grants: SignedCookies[] = [];
    for (const id of ['v1', 'v2', 'v3', 'v4', 'v5']) {
      grants.push(
        await signCookies(
          { resource: `https://media.example.com/videos/${id}/*`, expires: NOW + 600 },
          { keyPairId: KID, privateKey: rsa },
        ),
      );
    }
    const names = ['CloudFront-Policy', 'CloudFront-Signature', 'CloudFront-Key-Pair-Id'] as const;
    const cookie = names.flatMap((n) => grants.map((g) => `${n}=${g[n]}`)).join('; ');
    const verifier = createVerifier({ keys });
    expect((await verifier.verify({ url: 'https://media.example.com/videos/v4/a.ts', cookie, now: NOW })).ok).toBe(
      true,
    );
    expect(verifier.stats().verifications).toBe(1); // the policy naming v4, with the signature at its position
  });

  it('only junk: the denial still names what is wrong, and an unknown ID that is not well-formed never reaches the denial', async () => {
    const verifier = createVerifier({ keys });
    const v = await verifier.verify({
      url: SEGMENT,
      cookie: header({ ...good, 'CloudFront-Key-Pair-Id': '<script>' }),
      now: NOW,
    });
    expect(v).toMatchObject({ ok: false, denial: { reason: 'unknown-key' } });
    expect(v.ok ? undefined : v.denial.keyPairId).toBeUndefined();
  });
});

describe('policies are read one way only', () => {
  const resigned = async (json: string) => {
    const sig = await signPolicy(json, rsa);
    return header({
      'CloudFront-Policy': encodeCloudFrontBase64(json),
      'CloudFront-Signature': sig,
      'CloudFront-Key-Pair-Id': KID,
    });
  };
  it.each([
    [
      'two Resource keys',
      `{"Statement":[{"Resource":"https://media.example.com/videos/other/*","Resource":"${RESOURCE}","Condition":{"DateLessThan":{"AWS:EpochTime":${NOW + 60}}}}]}`,
    ],
    [
      'two DateLessThan keys',
      `{"Statement":[{"Resource":"${RESOURCE}","Condition":{"DateLessThan":{"AWS:EpochTime":${NOW - 60}},"DateLessThan":{"AWS:EpochTime":${NOW + 60}}}}]}`,
    ],
    [
      'two Statement keys',
      `{"Statement":[],"Statement":[{"Resource":"${RESOURCE}","Condition":{"DateLessThan":{"AWS:EpochTime":${NOW + 60}}}}]}`,
    ],
    [
      'a duplicate hidden by an escape',
      `{"Statement":[{"Resource":"x","Resourc\\u0065":"${RESOURCE}","Condition":{"DateLessThan":{"AWS:EpochTime":${NOW + 60}}}}]}`,
    ],
  ])('a correctly signed policy with %s is malformed', async (_name, json) => {
    expect(() => JSON.parse(json)).not.toThrow(); // JSON.parse would take the last value
    const v = await createVerifier({ keys }).verify({ url: SEGMENT, cookie: await resigned(json), now: NOW });
    expect(v).toMatchObject({ ok: false, denial: { code: 'MalformedPolicy', reason: 'malformed-policy' } });
  });

  it('whitespace and any key order are still accepted (other SDKs write them)', async () => {
    const json = `{ "Statement" : [ { "Condition" : { "DateLessThan" : { "AWS:EpochTime" : ${NOW + 60} } }, "Resource" : "${RESOURCE}" } ] }`;
    expect((await createVerifier({ keys }).verify({ url: SEGMENT, cookie: await resigned(json), now: NOW })).ok).toBe(
      true,
    );
    expect(parsePolicy(json)).toEqual({ resource: RESOURCE, dateLessThan: NOW + 60 });
  });

  it('the strict reader points at the line and column, without quoting the text', () => {
    expect(() => parseStrictJson('{\n  "a": 1,\n  "a": 2\n}')).toThrow('duplicate key at line 3, column 3');
    expect(() => parseStrictJson('{"secret-token": }')).toThrow(/^unexpected character at line 1, column 18$/);
    expect(() => parseStrictJson('['.repeat(100) + ']'.repeat(100))).toThrow(/nested too deeply/);
    expect(parseStrictJson('{"a":[1,-2.5e3,"\\u00e9\\n",true,null]}')).toEqual({ a: [1, -2500, 'é\n', true, null] });
  });
});

describe('memory spent on unauthenticated input', () => {
  it('failures are not cached: 2,000 distinct 7.6 KB junk credentials leave the cache empty', async () => {
    const verifier = createVerifier({ keys });
    const big = 'A'.repeat(7600);
    // Well-formed for an RSA-2048 key (256 bytes), so each one costs a real verification and could be cached.
    const junkSignature = (i: number) => `${String(i).padStart(6, '0')}${'A'.repeat(336)}__`;
    for (let i = 0; i < 2000; i++) {
      const policy = encodeCloudFrontBase64(
        buildCustomPolicy({
          resource: `https://media.example.com/videos/${i}/${big.slice(0, 5000)}`,
          expires: NOW + 60,
        }),
      );
      await verifier.verify({
        url: SEGMENT,
        cookie: header({
          'CloudFront-Policy': policy,
          'CloudFront-Signature': junkSignature(i),
          'CloudFront-Key-Pair-Id': KID,
        }),
        now: NOW,
      });
    }
    // Judged again, the same junk costs a verification again: nothing about it was kept.
    const before = verifier.stats().verifications;
    const policy = encodeCloudFrontBase64(
      buildCustomPolicy({ resource: `https://media.example.com/videos/0/${big.slice(0, 5000)}`, expires: NOW + 60 }),
    );
    await verifier.verify({
      url: SEGMENT,
      cookie: header({
        'CloudFront-Policy': policy,
        'CloudFront-Signature': junkSignature(0),
        'CloudFront-Key-Pair-Id': KID,
      }),
      now: NOW,
    });
    expect(verifier.stats().verifications).toBe(before + 1);
    expect(verifier.stats().cacheHits).toBe(0);
  });

  it('oversized credentials are refused before any decoding', async () => {
    const verifier = createVerifier({ keys });
    const v = await verifier.verify({
      url: SEGMENT,
      cookie: header({ ...good, 'CloudFront-Signature': 'A'.repeat(4000) }),
      now: NOW,
    });
    expect(v).toMatchObject({ ok: false, denial: { reason: 'malformed-signature' } });
    const p = await verifier.verify({
      url: SEGMENT,
      cookie: header({ ...good, 'CloudFront-Policy': 'A'.repeat(9000) }),
      now: NOW,
    });
    expect(p).toMatchObject({ ok: false, denial: { reason: 'malformed-policy' } });
    expect(verifier.stats().verifications).toBe(0);
  });
});

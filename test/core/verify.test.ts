import { describe, expect, it } from 'vitest';
import { createSign } from 'node:crypto';
import {
  buildCustomPolicy,
  createVerifier,
  encodeCloudFrontBase64,
  importPrivateKey,
  importPublicKey,
  signCannedCookies,
  signCookies,
  signUrl,
  type DenialReason,
  type SignedCookies,
  type VerifyRequest,
} from '../../server/core/index.ts';
import { EC_KEY_PAIR_ID, RSA2_KEY_PAIR_ID, RSA_KEY_PAIR_ID as KID, fixtureKey } from '../helpers/fixtures.ts';

const rsa = await importPrivateKey(fixtureKey('rsa-pkcs8.pem'));
const rsa2 = await importPrivateKey(fixtureKey('rsa2-pkcs8.pem'));
const keys = new Map([
  [KID, await importPublicKey(fixtureKey('rsa-spki.pem'))],
  [EC_KEY_PAIR_ID, await importPublicKey(fixtureKey('ec-spki.pem'))],
]);
const NOW = 1_800_000_000;
const RESOURCE = 'https://media.example.com/videos/abc/*';
const SEGMENT = 'https://media.example.com/videos/abc/720p/seg_00001.ts';

const cookieHeader = (c: Record<string, string | number | undefined>) =>
  Object.entries(c)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

async function cookiesFor(
  over: Partial<Parameters<typeof signCookies>[0]> = {},
  hashAlgorithm: 'SHA1' | 'SHA256' = 'SHA1',
): Promise<SignedCookies> {
  return signCookies(
    { resource: RESOURCE, expires: NOW + 600, ...over },
    { keyPairId: KID, privateKey: rsa, hashAlgorithm },
  );
}

describe('verifier: grants', () => {
  const verifier = createVerifier({ keys });
  it('grants a custom-policy cookie for every file under the video', async () => {
    const cookie = cookieHeader({ ...(await cookiesFor()) });
    for (const url of [
      SEGMENT,
      'https://media.example.com/videos/abc/master.m3u8',
      'https://media.example.com/videos/abc/key.key?v=2',
    ]) {
      expect(await verifier.verify({ url, cookie, now: NOW })).toEqual({
        ok: true,
        grant: {
          resource: RESOURCE,
          expiresAt: NOW + 600,
          keyPairId: KID,
          source: 'cookie',
          hashAlgorithm: 'SHA1',
          policyKind: 'custom',
        },
      });
    }
  });

  it('grants canned cookies for exactly their URL', async () => {
    const c = await signCannedCookies(SEGMENT, NOW + 60, { keyPairId: KID, privateKey: rsa });
    expect((await verifier.verify({ url: SEGMENT, cookie: cookieHeader({ ...c }), now: NOW })).ok).toBe(true);
    const other = await verifier.verify({
      url: SEGMENT.replace('00001', '00002'),
      cookie: cookieHeader({ ...c }),
      now: NOW,
    });
    expect(other).toMatchObject({ ok: false, denial: { reason: 'bad-signature' } });
  });

  it.each(['SHA1', 'SHA256'] as const)(
    'accepts ECDSA P-256 signatures in DER made by node:crypto (%s)',
    async (hash) => {
      const policy = buildCustomPolicy({ resource: RESOURCE, expires: NOW + 60 });
      const signer = createSign(hash);
      signer.update(policy);
      const sig = signer.sign({ key: fixtureKey('ec-pkcs8.pem'), dsaEncoding: 'der' });
      const cookie = cookieHeader({
        'CloudFront-Policy': encodeCloudFrontBase64(policy),
        'CloudFront-Signature': encodeCloudFrontBase64(new Uint8Array(sig)),
        'CloudFront-Key-Pair-Id': EC_KEY_PAIR_ID,
        'CloudFront-Hash-Algorithm': hash === 'SHA256' ? 'SHA256' : undefined,
      });
      expect(await verifier.verify({ url: SEGMENT, cookie, now: NOW })).toMatchObject({
        ok: true,
        grant: { keyPairId: EC_KEY_PAIR_ID, hashAlgorithm: hash },
      });
    },
  );

  it('tries every cookie of the same name (several Paths), in any order', async () => {
    const mine = await cookiesFor();
    const other = await signCookies(
      { resource: 'https://media.example.com/videos/xyz/*', expires: NOW + 600 },
      { keyPairId: KID, privateKey: rsa },
    );
    const header = `CloudFront-Policy=${other['CloudFront-Policy']}; CloudFront-Signature=${other['CloudFront-Signature']}; CloudFront-Key-Pair-Id=${KID}; CloudFront-Policy=${mine['CloudFront-Policy']}; CloudFront-Signature=${mine['CloudFront-Signature']}; CloudFront-Key-Pair-Id=${KID}`;
    expect((await verifier.verify({ url: SEGMENT, cookie: header, now: NOW })).ok).toBe(true);
    expect(
      (
        await verifier.verify({
          url: SEGMENT,
          cookie: [cookieHeader({ ...other }), cookieHeader({ ...mine })],
          now: NOW,
        })
      ).ok,
    ).toBe(true);
  });

  it('judges a URL with signed-URL parameters by the URL alone, ignoring valid cookies', async () => {
    const cookie = cookieHeader({ ...(await cookiesFor()) });
    const verdict = await verifier.verify({
      url: `${SEGMENT}?Expires=${NOW + 60}&Signature=AAAA&Key-Pair-Id=${KID}`,
      cookie,
      now: NOW,
    });
    expect(verdict).toMatchObject({ ok: false, denial: { source: 'url' } });
  });

  it('IP-bound grants: inside the range, and IPv4-mapped IPv6 from dual-stack sockets', async () => {
    const cookie = cookieHeader({ ...(await cookiesFor({ ipAddress: '192.0.2.0/24' })) });
    expect((await verifier.verify({ url: SEGMENT, cookie, now: NOW, clientIp: '192.0.2.77' })).ok).toBe(true);
    expect((await verifier.verify({ url: SEGMENT, cookie, now: NOW, clientIp: '::ffff:192.0.2.8' })).ok).toBe(true);
  });
});

describe('verifier: every tampered variant is refused with CloudFront code and precise reason', async () => {
  const verifier = createVerifier({ keys });
  const good = await cookiesFor();
  const goodSha256 = await cookiesFor({}, 'SHA256');
  const flip = (s: string) => (s[10] === 'A' ? `${s.slice(0, 10)}B${s.slice(11)}` : `${s.slice(0, 10)}A${s.slice(11)}`);
  const otherPolicy = encodeCloudFrontBase64(buildCustomPolicy({ resource: RESOURCE, expires: NOW + 6000 }));
  const signedUrl = await signUrl(SEGMENT, { expires: NOW + 60 }, { keyPairId: KID, privateKey: rsa });
  const customUrl = await signUrl(
    SEGMENT,
    { expires: NOW + 60, resource: RESOURCE },
    { keyPairId: KID, privateKey: rsa },
  );
  const rows: [string, () => Promise<VerifyRequest>, string, DenialReason][] = [
    ['no credentials', async () => ({ url: SEGMENT }), 'MissingKey', 'no-credentials'],
    [
      'no key pair id',
      async () => ({ url: SEGMENT, cookie: cookieHeader({ ...good, 'CloudFront-Key-Pair-Id': undefined }) }),
      'MissingKey',
      'missing-key-pair-id',
    ],
    [
      'unknown key pair id',
      async () => ({ url: SEGMENT, cookie: cookieHeader({ ...good, 'CloudFront-Key-Pair-Id': 'KUNKNOWN' }) }),
      'InvalidKey',
      'unknown-key',
    ],
    [
      'key pair id of another trusted key',
      async () => ({ url: SEGMENT, cookie: cookieHeader({ ...good, 'CloudFront-Key-Pair-Id': EC_KEY_PAIR_ID }) }),
      'AccessDenied',
      'bad-signature',
    ],
    [
      'undecodable policy',
      async () => ({ url: SEGMENT, cookie: cookieHeader({ ...good, 'CloudFront-Policy': 'not*base64' }) }),
      'MalformedPolicy',
      'malformed-policy',
    ],
    [
      'policy that is not JSON',
      async () => ({
        url: SEGMENT,
        cookie: cookieHeader({ ...good, 'CloudFront-Policy': encodeCloudFrontBase64('{"Statement":') }),
      }),
      'MalformedPolicy',
      'malformed-policy',
    ],
    [
      'policy with two statements',
      async () => ({
        url: SEGMENT,
        cookie: cookieHeader({
          ...good,
          'CloudFront-Policy': encodeCloudFrontBase64(
            '{"Statement":[{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":1}}},{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":1}}}]}',
          ),
        }),
      }),
      'MalformedPolicy',
      'malformed-policy',
    ],
    [
      'policy with millisecond epoch',
      async () => ({
        url: SEGMENT,
        cookie: cookieHeader({
          ...good,
          'CloudFront-Policy': encodeCloudFrontBase64(
            `{"Statement":[{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":${NOW}000}}}]}`,
          ),
        }),
      }),
      'MalformedPolicy',
      'malformed-policy',
    ],
    [
      'tampered policy (longer expiry)',
      async () => ({ url: SEGMENT, cookie: cookieHeader({ ...good, 'CloudFront-Policy': otherPolicy }) }),
      'AccessDenied',
      'bad-signature',
    ],
    [
      'tampered signature',
      async () => ({
        url: SEGMENT,
        cookie: cookieHeader({ ...good, 'CloudFront-Signature': flip(good['CloudFront-Signature']) }),
      }),
      'AccessDenied',
      'bad-signature',
    ],
    [
      'undecodable signature',
      async () => ({ url: SEGMENT, cookie: cookieHeader({ ...good, 'CloudFront-Signature': '!!' }) }),
      'AccessDenied',
      'malformed-signature',
    ],
    [
      'SHA-1 signature claimed as SHA-256',
      async () => ({ url: SEGMENT, cookie: cookieHeader({ ...good, 'CloudFront-Hash-Algorithm': 'SHA256' }) }),
      'AccessDenied',
      'bad-signature',
    ],
    [
      'SHA-256 signature with the hash cookie removed',
      async () => ({ url: SEGMENT, cookie: cookieHeader({ ...goodSha256, 'CloudFront-Hash-Algorithm': undefined }) }),
      'AccessDenied',
      'bad-signature',
    ],
    [
      'unknown hash algorithm',
      async () => ({ url: SEGMENT, cookie: cookieHeader({ ...good, 'CloudFront-Hash-Algorithm': 'MD5' }) }),
      'AccessDenied',
      'malformed-hash-algorithm',
    ],
    [
      'expired',
      async () => ({ url: SEGMENT, cookie: cookieHeader({ ...good }), now: NOW + 600 }),
      'AccessDenied',
      'expired',
    ],
    [
      'not yet valid',
      async () => ({
        url: SEGMENT,
        cookie: cookieHeader({ ...(await cookiesFor({ notBefore: NOW + 10 })) }),
        now: NOW + 10,
      }),
      'AccessDenied',
      'not-yet-valid',
    ],
    [
      'another video',
      async () => ({ url: 'https://media.example.com/videos/abcd/seg.ts', cookie: cookieHeader({ ...good }) }),
      'AccessDenied',
      'resource-mismatch',
    ],
    [
      'wrong IP',
      async () => ({
        url: SEGMENT,
        cookie: cookieHeader({ ...(await cookiesFor({ ipAddress: '192.0.2.0/24' })) }),
        clientIp: '198.51.100.1',
      }),
      'AccessDenied',
      'ip-mismatch',
    ],
    [
      'IP-bound grant, IPv6 client',
      async () => ({
        url: SEGMENT,
        cookie: cookieHeader({ ...(await cookiesFor({ ipAddress: '192.0.2.1' })) }),
        clientIp: '2001:db8::1',
      }),
      'AccessDenied',
      'ip-mismatch',
    ],
    [
      'signed by an untrusted key under a trusted ID',
      async () => ({
        url: SEGMENT,
        cookie: cookieHeader({
          ...(await signCookies({ resource: RESOURCE, expires: NOW + 60 }, { keyPairId: KID, privateKey: rsa2 })),
        }),
      }),
      'AccessDenied',
      'bad-signature',
    ],
    [
      'signed URL used on another file',
      async () => ({ url: signedUrl.replace('seg_00001', 'seg_00002') }),
      'AccessDenied',
      'bad-signature',
    ],
    [
      'signed URL with a changed Expires',
      async () => ({ url: signedUrl.replace(`Expires=${NOW + 60}`, `Expires=${NOW + 6000}`) }),
      'AccessDenied',
      'bad-signature',
    ],
    [
      'signed URL with an added query parameter',
      async () => ({ url: signedUrl.replace('?', '?quality=hd&') }),
      'AccessDenied',
      'bad-signature',
    ],
    [
      'signed URL with a non-numeric Expires',
      async () => ({ url: signedUrl.replace(`Expires=${NOW + 60}`, 'Expires=soon') }),
      'MalformedPolicy',
      'malformed-expires',
    ],
    ['signed URL expired', async () => ({ url: signedUrl, now: NOW + 60 }), 'AccessDenied', 'expired'],
    [
      'signed URL without Key-Pair-Id',
      async () => ({ url: signedUrl.replace(`&Key-Pair-Id=${KID}`, '') }),
      'MissingKey',
      'missing-key-pair-id',
    ],
    [
      'custom signed URL on another video',
      async () => ({ url: customUrl.replace('/abc/', '/xyz/') }),
      'AccessDenied',
      'resource-mismatch',
    ],
  ];
  it.each(rows)('%s', async (_name, make, code, reason) => {
    const req = await make();
    const verdict = await verifier.verify({ now: NOW, ...req });
    expect(verdict).toMatchObject({ ok: false, denial: { code, reason } });
    if (!verdict.ok) expect(verdict.denial.detail).not.toMatch(/[A-Za-z0-9~_-]{40,}/); // no signature or policy text
  });

  it('a rotated key group accepts both keys', async () => {
    const rotated = createVerifier({
      keys: new Map([...keys, [RSA2_KEY_PAIR_ID, await importPublicKey(fixtureKey('rsa2-spki.pem'))]]),
    });
    const c = await signCookies(
      { resource: RESOURCE, expires: NOW + 60 },
      { keyPairId: RSA2_KEY_PAIR_ID, privateKey: rsa2 },
    );
    expect((await rotated.verify({ url: SEGMENT, cookie: cookieHeader({ ...c }), now: NOW })).ok).toBe(true);
    expect((await rotated.verify({ url: SEGMENT, cookie: cookieHeader({ ...good }), now: NOW })).ok).toBe(true);
  });
});

describe('verifier: cache of verified signatures', () => {
  it('verifies a cookie once for 100 segment requests, and still checks expiry on every hit', async () => {
    const verifier = createVerifier({ keys });
    const cookie = cookieHeader({ ...(await cookiesFor()) });
    for (let i = 0; i < 100; i++)
      expect((await verifier.verify({ url: SEGMENT.replace('00001', String(i)), cookie, now: NOW })).ok).toBe(true);
    expect(verifier.stats()).toEqual({ verifications: 1, cacheHits: 99 });
    expect(await verifier.verify({ url: SEGMENT, cookie, now: NOW + 600 })).toMatchObject({
      ok: false,
      denial: { reason: 'expired' },
    });
    expect(
      await verifier.verify({ url: 'https://media.example.com/videos/other/a.ts', cookie, now: NOW }),
    ).toMatchObject({ ok: false, denial: { reason: 'resource-mismatch' } });
    expect(verifier.stats().verifications).toBe(1);
  });
  it('is bounded, and can be disabled', async () => {
    const verifier = createVerifier({ keys, cacheSize: 0 });
    const cookie = cookieHeader({ ...(await cookiesFor()) });
    await verifier.verify({ url: SEGMENT, cookie, now: NOW });
    await verifier.verify({ url: SEGMENT, cookie, now: NOW });
    expect(verifier.stats()).toEqual({ verifications: 2, cacheHits: 0 });
  });
});

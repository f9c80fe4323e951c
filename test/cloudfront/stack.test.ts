import { beforeAll, describe, expect, it } from 'vitest';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main.ts';
import type { Io } from '../../cli/io.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { CLOUDFRONT_FUNCTION } from '../../cloudfront/function-source.ts';
import { PLAYLIST_TTL, SEGMENT_TTL } from '../../cloudfront/delivery.ts';

// `hls-gate cloudfront stack`, synthesised for real by aws-cdk-lib (offline) through the command, and every
// resource and property the issue asks for read back from DIR/template.json.

const KEYS = join(REPO_ROOT, 'test/fixtures/keys');
const PUB = join(KEYS, 'rsa-spki.pem');
const PUB2 = join(KEYS, 'rsa2-spki.pem');
const EC_PUB = join(KEYS, 'ec-spki.pem');
const APP = 'https://app.example.com';
const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, now: () => 0 };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  DeletionPolicy?: string;
}
interface Template {
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown }>;
  Parameters?: Json;
  Rules?: Json;
}

const BASE = ['--public-key', PUB, '--api-origin', 'api.example.com', '--allowed-origin', APP];

async function synth(extra: string[]): Promise<Template> {
  const out = mkdtempSync(join(tmpdir(), 'hls-gate-stack-'));
  const r = await run(['cloudfront', 'stack', ...BASE, ...extra, '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(`${out}/template.json`);
  return JSON.parse(readFileSync(join(out, 'template.json'), 'utf8')) as Template;
}

function ofType(t: Template, type: string): [string, Resource][] {
  return Object.entries(t.Resources).filter(([, r]) => r.Type === type);
}
function one(t: Template, type: string): [string, Resource] {
  const all = ofType(t, type);
  expect(all, type).toHaveLength(1);
  return all[0] as [string, Resource];
}
const ref = (id: string) => ({ Ref: id });
type Behavior = Json & { PathPattern?: string };
function behaviors(t: Template): { byPath: Map<string, Behavior>; config: Json } {
  const config = one(t, 'AWS::CloudFront::Distribution')[1].Properties.DistributionConfig as Json;
  const byPath = new Map<string, Behavior>();
  for (const b of config.CacheBehaviors as Behavior[]) byPath.set(b.PathPattern ?? '', b);
  byPath.set('*', config.DefaultCacheBehavior as Behavior);
  return { byPath, config };
}
function cachePolicy(t: Template, b: Behavior): Json {
  const id = (b.CachePolicyId as { Ref: string }).Ref;
  return (t.Resources[id]?.Properties.CachePolicyConfig ?? {}) as Json;
}
const MEDIA_PATHS = ['/videos/*.m3u8', '/videos/*', '*'];

let plain: Template;
let live: Template;
let uploads: Template;
let session: Template;
let everything: Template;

beforeAll(async () => {
  plain = await synth([]);
  live = await synth(['--live']);
  uploads = await synth(['--uploads']);
  session = await synth(['--session-control']);
  everything = await synth([
    '--live',
    '--uploads',
    '--session-control',
    '--public-key',
    EC_PUB,
    '--allowed-origin',
    'https://admin.example.com',
    '--domain',
    'media.example.com',
    '--certificate-arn',
    CERT,
  ]);
}, 120_000);

describe('hls-gate cloudfront stack: the resources', () => {
  it('a private bucket: public access blocked in all four ways, owner-enforced, encrypted, kept on delete', () => {
    for (const t of [plain, live, uploads, session, everything]) {
      const [, bucket] = one(t, 'AWS::S3::Bucket');
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      expect(JSON.stringify(bucket.Properties.BucketEncryption)).toContain('AES256');
      expect(bucket.Properties.WebsiteConfiguration).toBeUndefined();
      expect(bucket.DeletionPolicy).toBe('Retain');
    }
    // Only with uploads does the bucket answer a browser's preflight, for PUT from the exact origins.
    expect(one(plain, 'AWS::S3::Bucket')[1].Properties.CorsConfiguration).toBeUndefined();
    expect(one(uploads, 'AWS::S3::Bucket')[1].Properties.CorsConfiguration).toEqual({
      CorsRules: [
        {
          AllowedMethods: ['PUT'],
          AllowedOrigins: [APP],
          AllowedHeaders: ['x-amz-content-sha256', 'Content-Type'],
          MaxAge: 600,
        },
      ],
    });
  });

  it('origin access control (S3, SigV4 always) on the media origin, with the bucket policy scoped to the distribution', () => {
    for (const t of [plain, uploads]) {
      const [oacId, oac] = one(t, 'AWS::CloudFront::OriginAccessControl');
      expect(oac.Properties.OriginAccessControlConfig).toMatchObject({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      });
      const { config } = behaviors(t);
      const origins = config.Origins as Json[];
      const [bucketId] = one(t, 'AWS::S3::Bucket');
      const media = origins.find((o) => o.Id === 'media');
      expect(media).toEqual({
        Id: 'media',
        DomainName: { 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] },
        OriginAccessControlId: { 'Fn::GetAtt': [oacId, 'Id'] },
        S3OriginConfig: { OriginAccessIdentity: '' },
      });
      const [, policy] = one(t, 'AWS::S3::BucketPolicy');
      const statements = (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement;
      const allows = statements.filter((s) => s.Effect === 'Allow');
      const sourceArn = {
        'Fn::Join': [
          '',
          [
            'arn:',
            ref('AWS::Partition'),
            ':cloudfront::',
            ref('AWS::AccountId'),
            ':distribution/',
            ref('Distribution'),
          ],
        ],
      };
      const objects = (prefix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${prefix}/*`]] });
      const expected = [
        { Action: 's3:GetObject', Resource: objects('videos') },
        ...(t === uploads ? [{ Action: 's3:PutObject', Resource: objects('uploads') }] : []),
      ];
      expect(allows).toEqual(
        expected.map((e) =>
          expect.objectContaining({
            ...e,
            Effect: 'Allow',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': sourceArn } },
          }),
        ),
      );
      // And the rest only denies: plain HTTP, and (with uploads) a PUT whose body's hash is not given.
      const denies = statements.filter((s) => s.Effect !== 'Allow');
      expect(denies.map((s) => s.Condition)).toEqual([
        { Bool: { 'aws:SecureTransport': 'false' } },
        ...(t === uploads ? [{ StringEquals: { 's3:x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }] : []),
      ]);
      expect(denies.every((s) => s.Effect === 'Deny')).toBe(true);
    }
  });

  it('the public keys from the PEM files in one key group; a key keeps its resource when another is added (rotation)', () => {
    const pem = createPublicKey(readFileSync(PUB, 'utf8')).export({ type: 'spki', format: 'pem' }).toString();
    const [plainKeyId, plainKey] = one(plain, 'AWS::CloudFront::PublicKey');
    expect((plainKey.Properties.PublicKeyConfig as Json).EncodedKey).toBe(pem);
    const keys = ofType(everything, 'AWS::CloudFront::PublicKey');
    expect(keys).toHaveLength(2);
    expect(keys.map(([id]) => id)).toContain(plainKeyId); // same logical ID: CloudFormation keeps it
    const [, group] = one(everything, 'AWS::CloudFront::KeyGroup');
    expect((group.Properties.KeyGroupConfig as Json).Items).toEqual(keys.map(([id]) => ref(id)));
  });

  it('media behaviors trust the key group, HTTPS only, GET and HEAD; the API goes to the gateway, uncached', () => {
    for (const t of [plain, live, uploads, session, everything]) {
      const { byPath, config } = behaviors(t);
      const [groupId] = one(t, 'AWS::CloudFront::KeyGroup');
      for (const path of MEDIA_PATHS) {
        const b = byPath.get(path);
        expect(b, path).toMatchObject({
          TargetOriginId: 'media',
          TrustedKeyGroups: [ref(groupId)],
          ViewerProtocolPolicy: 'https-only',
          AllowedMethods: ['GET', 'HEAD'],
        });
      }
      // Playlists first, then the rest of a video's files, then the API.
      expect((config.CacheBehaviors as Behavior[]).map((b) => b.PathPattern).slice(0, 3)).toEqual([
        '/videos/*.m3u8',
        '/videos/*',
        '/api/*',
      ]);
      expect(byPath.get('/api/*')).toMatchObject({
        TargetOriginId: 'gateway',
        CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // CachingDisabled
        OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // AllViewerExceptHostHeader
        ViewerProtocolPolicy: 'https-only',
      });
      expect(byPath.get('/api/*')?.TrustedKeyGroups).toBeUndefined();
      const gateway = (config.Origins as Json[]).find((o) => o.Id === 'gateway');
      expect(gateway).toMatchObject({
        DomainName: 'api.example.com',
        CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] },
      });
    }
  });

  it('TTLs per path: segments long, playlists short (1 s live, directives in the key), no credentials in any key', () => {
    const ttl = (c: Json) => ({ min: c.MinTTL, default: c.DefaultTTL, max: c.MaxTTL });
    for (const t of [plain, live, uploads, session, everything]) {
      const { byPath } = behaviors(t);
      const isLive = t === live || t === everything;
      const playlists = cachePolicy(t, byPath.get('/videos/*.m3u8') ?? {});
      const segments = cachePolicy(t, byPath.get('/videos/*') ?? {});
      expect(ttl(playlists)).toEqual(isLive ? PLAYLIST_TTL.live : PLAYLIST_TTL.onDemand);
      expect(ttl(segments)).toEqual(SEGMENT_TTL);
      expect(PLAYLIST_TTL.live.max).toBeLessThanOrEqual(1);
      for (const c of [playlists, segments]) {
        const key = c.ParametersInCacheKeyAndForwardedToOrigin as Record<string, Json>;
        expect(key.CookiesConfig).toEqual({ CookieBehavior: 'none' });
        expect(key.HeadersConfig).toEqual({ HeaderBehavior: 'none' });
        const query = key.QueryStringsConfig;
        if (c === playlists && isLive)
          expect(query).toEqual({
            QueryStringBehavior: 'whitelist',
            QueryStrings: ['_HLS_msn', '_HLS_part', '_HLS_skip'],
          });
        else expect(query).toEqual({ QueryStringBehavior: 'none' });
      }
    }
  });

  it('CORS with credentials for exactly the allowed origins, never a wildcard, on every media behavior', () => {
    for (const t of [plain, uploads, everything]) {
      const { byPath } = behaviors(t);
      const policies = ofType(t, 'AWS::CloudFront::ResponseHeadersPolicy');
      expect(policies.length).toBe(t === plain ? 1 : 2);
      for (const [, p] of policies) {
        const cors = (p.Properties.ResponseHeadersPolicyConfig as Json).CorsConfig as Record<
          string,
          { Items?: string[] }
        >;
        expect(cors.AccessControlAllowCredentials).toBe(true);
        expect(cors.AccessControlAllowOrigins?.Items).toEqual(
          t === everything ? [APP, 'https://admin.example.com'] : [APP],
        );
        expect(cors.AccessControlAllowHeaders?.Items).not.toContain('*');
        expect(cors.OriginOverride).toBe(true);
      }
      const [mediaCors] = policies.find(([, p]) => JSON.stringify(p).includes('"GET"')) ?? [];
      for (const path of MEDIA_PATHS) expect(byPath.get(path)?.ResponseHeadersPolicyId).toEqual(ref(mediaCors ?? ''));
    }
  });

  it('uploads: /uploads/* takes signed PUTs into the bucket, forwarding x-amz-content-sha256', () => {
    expect(behaviors(plain).byPath.has('/uploads/*')).toBe(false);
    const { byPath } = behaviors(uploads);
    const [groupId] = one(uploads, 'AWS::CloudFront::KeyGroup');
    const b = byPath.get('/uploads/*');
    expect(b).toMatchObject({
      TargetOriginId: 'media',
      TrustedKeyGroups: [ref(groupId)],
      ViewerProtocolPolicy: 'https-only',
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
    });
    expect(b?.AllowedMethods).toContain('PUT');
    const [orpId, orp] = one(uploads, 'AWS::CloudFront::OriginRequestPolicy');
    expect(b?.OriginRequestPolicyId).toEqual(ref(orpId));
    expect((orp.Properties.OriginRequestPolicyConfig as Json).HeadersConfig).toEqual({
      HeaderBehavior: 'whitelist',
      Headers: [
        'x-amz-content-sha256',
        'Content-Type',
        'Origin',
        'Access-Control-Request-Method',
        'Access-Control-Request-Headers',
      ],
    });
    // Sources left behind expire; nothing else in the bucket does.
    expect(one(uploads, 'AWS::S3::Bucket')[1].Properties.LifecycleConfiguration).toEqual({
      Rules: [{ Id: 'uploads-expire', Prefix: 'uploads/', ExpirationInDays: 7, Status: 'Enabled' }],
    });
    expect(one(plain, 'AWS::S3::Bucket')[1].Properties.LifecycleConfiguration).toBeUndefined();
  });

  it('session control: the revocation function (cloudfront-js-2.0, its KeyValueStore) on every media behavior', () => {
    for (const t of [plain, live, uploads]) {
      expect(ofType(t, 'AWS::CloudFront::Function')).toHaveLength(0);
      expect(ofType(t, 'AWS::CloudFront::KeyValueStore')).toHaveLength(0);
    }
    for (const t of [session, everything]) {
      const [fnId, fn] = one(t, 'AWS::CloudFront::Function');
      const [kvsId] = one(t, 'AWS::CloudFront::KeyValueStore');
      expect(fn.Properties.FunctionCode).toBe(CLOUDFRONT_FUNCTION);
      expect(fn.Properties.AutoPublish).toBe(true);
      expect(fn.Properties.FunctionConfig).toMatchObject({
        Runtime: 'cloudfront-js-2.0',
        KeyValueStoreAssociations: [{ KeyValueStoreARN: { 'Fn::GetAtt': [kvsId, 'Arn'] } }],
      });
      const { byPath } = behaviors(t);
      for (const path of MEDIA_PATHS)
        expect(byPath.get(path)?.FunctionAssociations, path).toEqual([
          { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [fnId, 'FunctionARN'] } },
        ]);
      expect(byPath.get('/api/*')?.FunctionAssociations).toBeUndefined();
      expect(t.Outputs.KeyValueStoreArn?.Value).toEqual({ 'Fn::GetAtt': [kvsId, 'Arn'] });
    }
  });

  it("outputs: the distribution's domain, the key pair ID, the gateway's environment; the alternate domain", () => {
    const [keyId] = one(plain, 'AWS::CloudFront::PublicKey');
    expect(plain.Outputs.DistributionDomainName?.Value).toEqual({ 'Fn::GetAtt': ['Distribution', 'DomainName'] });
    expect(plain.Outputs.KeyPairId?.Value).toEqual(ref(keyId));
    expect(plain.Outputs.GatewayEnvironment?.Value).toEqual({
      'Fn::Join': [
        ' ',
        [
          { 'Fn::Join': ['', ['CLOUDFRONT_KEY_PAIR_ID=', ref(keyId)]] },
          { 'Fn::Join': ['', ['MEDIA_BASE_URL=https://', { 'Fn::GetAtt': ['Distribution', 'DomainName'] }]] },
          `ALLOWED_ORIGINS=${APP}`,
        ],
      ],
    });
    expect(behaviors(plain).config.ViewerCertificate).toEqual({ CloudFrontDefaultCertificate: true });
    const { config } = behaviors(everything);
    expect(config.Aliases).toEqual(['media.example.com']);
    expect(config.ViewerCertificate).toEqual({
      AcmCertificateArn: CERT,
      SslSupportMethod: 'sni-only',
      MinimumProtocolVersion: 'TLSv1.2_2021',
    });
    expect(JSON.stringify(everything.Outputs.GatewayEnvironment)).toContain('MEDIA_BASE_URL=https://media.example.com');
    expect(JSON.stringify(everything.Outputs.GatewayEnvironment)).toContain(
      `ALLOWED_ORIGINS=${APP},https://admin.example.com`,
    );
  });

  it('errors keep their status and are cached 1 s (a live file asked for a moment early is not refused for 10 s)', () => {
    for (const t of [plain, live]) {
      expect(behaviors(t).config.CustomErrorResponses).toEqual([
        { ErrorCode: 403, ErrorCachingMinTTL: 1 },
        { ErrorCode: 404, ErrorCachingMinTTL: 1 },
      ]);
    }
  });

  it("every CloudFront name carries the stack's name, so a second stack in the account does not collide", async () => {
    const out = mkdtempSync(join(tmpdir(), 'hls-gate-stack-'));
    const r = await run(['cloudfront', 'stack', ...BASE, '--stack-name', 'hls-gate-staging', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const staging = JSON.parse(readFileSync(join(out, 'template.json'), 'utf8')) as Template;
    const names = (t: Template) =>
      Object.values(t.Resources)
        .filter((res) => res.Type.startsWith('AWS::CloudFront::') && res.Type !== 'AWS::CloudFront::Distribution')
        .map(
          (res) =>
            JSON.stringify(res.Properties).match(/"Name":("[^"]*"|\{[^}]*\})/)?.[1] ?? JSON.stringify(res.Properties),
        );
    const a = names(plain);
    const b = names(staging);
    expect(a.length).toBe(b.length);
    for (const n of b) expect(a).not.toContain(n);
    // The same resources, under the same logical IDs.
    expect(Object.keys(staging.Resources).sort()).toEqual(Object.keys(plain.Resources).sort());
  });

  it('warns when the media host and the pages are not one site (third-party cookies)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hls-gate-stack-'));
    const bare = await run(['cloudfront', 'stack', ...BASE, '--out', out]);
    expect(bare.stderr).toMatch(/warning: without --domain the media host is \*\.cloudfront\.net/);
    const other = await run([
      'cloudfront',
      'stack',
      ...BASE,
      '--allowed-origin',
      'https://app.other.org',
      '--domain',
      'media.example.com',
      '--certificate-arn',
      CERT,
      '--out',
      out,
    ]);
    expect(other.code).toBe(0);
    expect(other.stderr).toMatch(/https:\/\/app\.other\.org is another site than media\.example\.com/);
    expect(other.stderr).not.toMatch(/app\.example\.com is another site/);
  });

  it('deploys without CDK bootstrap: no assets, no bootstrap version rule, no metadata resource', () => {
    for (const t of [plain, everything]) {
      expect(t.Parameters?.BootstrapVersion).toBeUndefined();
      expect(t.Rules).toBeUndefined();
      expect(ofType(t, 'AWS::CDK::Metadata')).toHaveLength(0);
      expect(JSON.stringify(t)).not.toMatch(/cdk-hnb659fds|AssetParameters/);
    }
  });
});

describe('hls-gate cloudfront stack: refusals (exit 2, nothing written)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-stack-bad-'));
  const priv = join(KEYS, 'rsa-pkcs8.pem');
  const weak = join(dir, 'rsa1024-public.pem');
  writeFileSync(
    weak,
    createPublicKey(readFileSync(join(KEYS, 'rsa1024.pem'), 'utf8')).export({ type: 'spki', format: 'pem' }),
  );
  const rows: [string, string[], RegExp][] = [
    [
      'a private key',
      ['--public-key', priv, '--api-origin', 'api.example.com', '--allowed-origin', APP],
      /private key/,
    ],
    [
      'an RSA 1024 key',
      ['--public-key', weak, '--api-origin', 'api.example.com', '--allowed-origin', APP],
      /RSA 2048 or ECDSA P-256/,
    ],
    ['the same key twice', [...BASE, '--public-key', PUB], /same key was given twice/],
    ['six keys', [...BASE, ...Array.from({ length: 5 }, () => ['--public-key', PUB2]).flat()], /one to five keys/],
    [
      'a wildcard origin',
      ['--public-key', PUB, '--api-origin', 'api.example.com', '--allowed-origin', '*'],
      /wildcard/,
    ],
    [
      'an http origin',
      ['--public-key', PUB, '--api-origin', 'api.example.com', '--allowed-origin', 'http://app.example.com'],
      /https/,
    ],
    [
      'an origin with a path',
      ['--public-key', PUB, '--api-origin', 'api.example.com', '--allowed-origin', `${APP}/x`],
      /origin only/,
    ],
    ['no allowed origin', ['--public-key', PUB, '--api-origin', 'api.example.com'], /at least one page origin/],
    [
      'an API origin with a scheme',
      ['--public-key', PUB, '--api-origin', 'https://api.example.com', '--allowed-origin', APP],
      /host name/,
    ],
    ['a domain without a certificate', [...BASE, '--domain', 'media.example.com'], /go together/],
    [
      'a certificate outside us-east-1',
      [...BASE, '--domain', 'media.example.com', '--certificate-arn', CERT.replace('us-east-1', 'eu-west-1')],
      /us-east-1/,
    ],
    ['no --out', BASE, /--out DIR is required/],
  ];
  it.each(rows)('%s', async (name, args, message) => {
    const out = join(dir, 'out');
    const r = await run(['cloudfront', 'stack', ...args, ...(name === 'no --out' ? [] : ['--out', out])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(() => readFileSync(join(out, 'template.json'))).toThrow();
  });
});

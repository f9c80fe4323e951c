import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main.ts';
import type { Io } from '../../cli/io.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { RULES, type RuleId, type RuleResult } from '../../cloudfront/check/rules.ts';

// `hls-gate cloudfront check` on the JSON AWS's CLI prints: a distribution shaped like the one the stack deploys
// (`aws cloudfront get-distribution-config`, lists as { Quantity, Items }), with the documents it references
// (get-cache-policy, get-response-headers-policy, get-origin-request-policy, get-key-group, describe-function), then
// one broken copy per row of the table, each failing exactly its rule. And the stack's own templates pass.

const APP = 'https://app.example.com';
const KP = 'K2JCJMDEHXQW5F';
const ID = {
  keyGroup: '5f6a1c39-2b8d-4e1f-9a7c-0d3e8b2c4f61',
  playlists: 'a1f0c6d2-7e4b-4c1a-8f3e-2b9d5c7a1e04',
  segments: 'b2e1d7c3-8f5a-4d2b-9a4f-3c0e6d8b2f15',
  mediaCors: 'c3d2e8b4-9a6b-4e3c-8b5a-4d1f7e9c3a26',
  uploadCors: 'd4c3f9a5-8b7c-4f4d-9c6b-5e2a8f0d4b37',
  uploadHeaders: 'e5b4a0b6-7c8d-4a5e-8d7c-6f3b9a1e5c48',
  fn: 'arn:aws:cloudfront::123456789012:function/hls-gate-session-control',
  cachingDisabled: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
  allViewerExceptHost: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
};

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- fixtures mutated freely
const wrap = (items: unknown[]) => ({ Quantity: items.length, Items: items });
const methods = (items: string[]) => ({ ...wrap(items), CachedMethods: wrap(['HEAD', 'GET']) });

function mediaBehavior(cachePolicyId: string): Json {
  return {
    TargetOriginId: 'media',
    TrustedSigners: { Enabled: false, Quantity: 0 },
    TrustedKeyGroups: { Enabled: true, Quantity: 1, Items: [ID.keyGroup] },
    ViewerProtocolPolicy: 'https-only',
    AllowedMethods: methods(['HEAD', 'GET']),
    SmoothStreaming: false,
    Compress: true,
    LambdaFunctionAssociations: { Quantity: 0 },
    FunctionAssociations: wrap([{ FunctionARN: ID.fn, EventType: 'viewer-request' }]),
    FieldLevelEncryptionId: '',
    CachePolicyId: cachePolicyId,
    ResponseHeadersPolicyId: ID.mediaCors,
  };
}

function distribution(): Json {
  return {
    ETag: 'E2QWRUHAPOMQZL',
    DistributionConfig: {
      CallerReference: 'hls-gate-1',
      Aliases: wrap(['media.example.com']),
      DefaultRootObject: '',
      Origins: wrap([
        {
          Id: 'media',
          DomainName: 'hls-gate-media-1a2b3c.s3.eu-west-1.amazonaws.com',
          OriginPath: '',
          CustomHeaders: { Quantity: 0 },
          S3OriginConfig: { OriginAccessIdentity: '' },
          OriginAccessControlId: 'E1OACEXAMPLE00',
        },
        {
          Id: 'gateway',
          DomainName: 'api.example.com',
          OriginPath: '',
          CustomHeaders: { Quantity: 0 },
          CustomOriginConfig: { HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: 'https-only' },
          OriginAccessControlId: '',
        },
      ]),
      OriginGroups: { Quantity: 0 },
      DefaultCacheBehavior: mediaBehavior(ID.segments),
      CacheBehaviors: wrap([
        { PathPattern: '/videos/*.m3u8', ...mediaBehavior(ID.playlists) },
        { PathPattern: '/videos/*', ...mediaBehavior(ID.segments) },
        {
          PathPattern: '/api/*',
          TargetOriginId: 'gateway',
          TrustedSigners: { Enabled: false, Quantity: 0 },
          TrustedKeyGroups: { Enabled: false, Quantity: 0 },
          ViewerProtocolPolicy: 'https-only',
          AllowedMethods: methods(['HEAD', 'DELETE', 'POST', 'GET', 'OPTIONS', 'PUT', 'PATCH']),
          FunctionAssociations: { Quantity: 0 },
          CachePolicyId: ID.cachingDisabled,
          OriginRequestPolicyId: ID.allViewerExceptHost,
        },
        {
          PathPattern: '/uploads/*',
          TargetOriginId: 'media',
          TrustedSigners: { Enabled: false, Quantity: 0 },
          TrustedKeyGroups: { Enabled: true, Quantity: 1, Items: [ID.keyGroup] },
          ViewerProtocolPolicy: 'https-only',
          AllowedMethods: methods(['HEAD', 'DELETE', 'POST', 'GET', 'OPTIONS', 'PUT', 'PATCH']),
          FunctionAssociations: { Quantity: 0 },
          CachePolicyId: ID.cachingDisabled,
          OriginRequestPolicyId: ID.uploadHeaders,
          ResponseHeadersPolicyId: ID.uploadCors,
        },
      ]),
      CustomErrorResponses: { Quantity: 0 },
      Comment: 'hls-gate media',
      PriceClass: 'PriceClass_All',
      Enabled: true,
      ViewerCertificate: {
        ACMCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/x',
        SSLSupportMethod: 'sni-only',
      },
      HttpVersion: 'http2and3',
      IsIPV6Enabled: true,
    },
  };
}

function cachePolicy(id: string, ttl: [number, number, number], query: string[]): Json {
  return {
    ETag: 'E1',
    CachePolicy: {
      Id: id,
      CachePolicyConfig: {
        Name: `hls-gate-${id.slice(0, 4)}`,
        MinTTL: ttl[0],
        DefaultTTL: ttl[1],
        MaxTTL: ttl[2],
        ParametersInCacheKeyAndForwardedToOrigin: {
          EnableAcceptEncodingGzip: true,
          EnableAcceptEncodingBrotli: true,
          HeadersConfig: { HeaderBehavior: 'none' },
          CookiesConfig: { CookieBehavior: 'none' },
          QueryStringsConfig: query.length
            ? { QueryStringBehavior: 'whitelist', QueryStrings: wrap(query) }
            : { QueryStringBehavior: 'none' },
        },
      },
    },
  };
}

function cors(id: string, methodList: string[], headers: string[]): Json {
  return {
    ETag: 'E2',
    ResponseHeadersPolicy: {
      Id: id,
      ResponseHeadersPolicyConfig: {
        Name: `hls-gate-${id.slice(0, 4)}`,
        CorsConfig: {
          AccessControlAllowOrigins: wrap([APP]),
          AccessControlAllowHeaders: wrap(headers),
          AccessControlAllowMethods: wrap(methodList),
          AccessControlAllowCredentials: true,
          AccessControlExposeHeaders: wrap(['Age', 'Content-Length', 'Content-Range', 'ETag']),
          AccessControlMaxAgeSec: 600,
          OriginOverride: true,
        },
      },
    },
  };
}

/** The referenced documents, by name: each a file passed with --with. */
function documents(): Record<string, Json> {
  return {
    playlists: cachePolicy(ID.playlists, [0, 1, 1], ['_HLS_msn', '_HLS_part', '_HLS_skip']),
    segments: cachePolicy(ID.segments, [0, 86_400, 31_536_000], []),
    mediaCors: cors(ID.mediaCors, ['GET', 'HEAD'], ['Range']),
    uploadCors: cors(ID.uploadCors, ['PUT', 'OPTIONS'], ['x-amz-content-sha256', 'Content-Type']),
    uploadHeaders: {
      ETag: 'E3',
      OriginRequestPolicy: {
        Id: ID.uploadHeaders,
        OriginRequestPolicyConfig: {
          Name: 'hls-gate-upload-headers',
          HeadersConfig: {
            HeaderBehavior: 'whitelist',
            Headers: wrap([
              'x-amz-content-sha256',
              'Content-Type',
              'Origin',
              'Access-Control-Request-Method',
              'Access-Control-Request-Headers',
            ]),
          },
          CookiesConfig: { CookieBehavior: 'none' },
          QueryStringsConfig: { QueryStringBehavior: 'none' },
        },
      },
    },
    keyGroup: {
      ETag: 'E4',
      KeyGroup: { Id: ID.keyGroup, KeyGroupConfig: { Name: 'hls-gate', Items: ['K3OLDKEYEXAMPLE', KP] } },
    },
    fn: {
      ETag: 'E5',
      FunctionSummary: {
        Name: 'hls-gate-session-control',
        Status: 'UNASSOCIATED',
        FunctionConfig: {
          Comment: 'hls-gate',
          Runtime: 'cloudfront-js-2.0',
          KeyValueStoreAssociations: wrap([
            {
              KeyValueStoreARN: 'arn:aws:cloudfront::123456789012:key-value-store/0b7d2f1e-3c4a-4b5d-9e6f-7a8b9c0d1e2f',
            },
          ]),
        },
        FunctionMetadata: { FunctionARN: ID.fn, Stage: 'LIVE' },
      },
    },
  };
}

const ALL_FLAGS = ['--key-pair-id', KP, '--live', '--session-control', '--uploads', '--allowed-origin', APP];

async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, now: () => 0 };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

async function check(cfg: Json, docs: Record<string, Json>, flags = ALL_FLAGS) {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-check-'));
  const file = join(dir, 'distribution-config.json');
  writeFileSync(file, JSON.stringify(cfg));
  const withArgs = Object.entries(docs).flatMap(([name, doc]) => {
    const f = join(dir, `${name}.json`);
    writeFileSync(f, JSON.stringify(doc));
    return ['--with', f];
  });
  const r = await run(['cloudfront', 'check', file, ...withArgs, ...flags, '--json']);
  const out = r.code === 2 ? undefined : (JSON.parse(r.stdout) as { sound: boolean; results: RuleResult[] });
  return { ...r, out, failed: (out?.results ?? []).filter((x) => x.problems.length).map((x) => x.rule) };
}

const behavior = (cfg: Json, path: string): Json =>
  path === '*'
    ? cfg.DistributionConfig.DefaultCacheBehavior
    : cfg.DistributionConfig.CacheBehaviors.Items.find((b: Json) => b.PathPattern === path);

type Row = [
  name: string,
  rule: RuleId | RuleId[],
  message: RegExp,
  breakIt: (cfg: Json, docs: Record<string, Json>) => void,
  flags?: string[],
];
const ROWS: Row[] = [
  [
    'segments without a key group',
    'media-key-group',
    /\/videos\/\*.*serves .ts .* to anyone/,
    (c) => {
      behavior(c, '/videos/*').TrustedKeyGroups = { Enabled: false, Quantity: 0 };
    },
  ],
  [
    'a *.ts behavior put first, without a key group',
    'media-key-group',
    /\*\.ts serves \.ts to anyone/,
    (c) => {
      const items = c.DistributionConfig.CacheBehaviors.Items as Json[];
      items.unshift({
        ...behavior(c, '/videos/*'),
        PathPattern: '*.ts',
        TrustedKeyGroups: { Enabled: false, Quantity: 0 },
      });
    },
  ],
  [
    'a public bucket (no OAC, no OAI)',
    ['private-origin', 'uploads'],
    /must be public/,
    (c) => {
      c.DistributionConfig.Origins.Items[0].OriginAccessControlId = '';
    },
  ],
  [
    'an S3 website endpoint',
    'private-origin',
    /website endpoint/,
    (c) => {
      const o = c.DistributionConfig.Origins.Items[0];
      o.DomainName = 'hls-gate-media.s3-website-eu-west-1.amazonaws.com';
      delete o.S3OriginConfig;
      o.OriginAccessControlId = '';
      o.CustomOriginConfig = { HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: 'http-only' };
    },
  ],
  [
    'CORS * with credentials',
    'cors-credentials',
    /Allow-Origin \*/,
    (_c, d) => {
      d.mediaCors!.ResponseHeadersPolicy.ResponseHeadersPolicyConfig.CorsConfig.AccessControlAllowOrigins = wrap(['*']);
    },
  ],
  [
    'CORS without credentials',
    'cors-credentials',
    /Allow-Credentials is off/,
    (_c, d) => {
      d.mediaCors!.ResponseHeadersPolicy.ResponseHeadersPolicyConfig.CorsConfig.AccessControlAllowCredentials = false;
    },
  ],
  [
    'Allow-Headers * with credentials',
    'cors-credentials',
    /Allow-Headers \*/,
    (_c, d) => {
      d.mediaCors!.ResponseHeadersPolicy.ResponseHeadersPolicyConfig.CorsConfig.AccessControlAllowHeaders = wrap(['*']);
    },
  ],
  [
    'the managed SimpleCORS policy',
    'cors-credentials',
    /Allow-Origin \*/,
    (c) => {
      for (const p of ['/videos/*.m3u8', '/videos/*', '*'])
        behavior(c, p).ResponseHeadersPolicyId = '60669652-455b-4ae9-85a4-c4c02393f86c';
    },
  ],
  [
    'the page origin not allowed',
    'cors-credentials',
    /https:\/\/other.example.com is not an allowed origin/,
    () => {},
    [...ALL_FLAGS, '--allowed-origin', 'https://other.example.com'],
  ],
  [
    'no response headers policy on playlists',
    'cors-on-refusals',
    /\/videos\/\*\.m3u8 has no response headers policy/,
    (c) => {
      delete behavior(c, '/videos/*.m3u8').ResponseHeadersPolicyId;
    },
  ],
  [
    '403 rewritten to a 200 page',
    'cors-on-refusals',
    /turns 403 into 200/,
    (c) => {
      c.DistributionConfig.CustomErrorResponses = wrap([
        { ErrorCode: 403, ResponsePagePath: '/index.html', ResponseCode: '200', ErrorCachingMinTTL: 10 },
      ]);
    },
  ],
  [
    'playlists with MinTTL 5',
    'playlist-ttl',
    /at least 5 s/,
    (_c, d) => {
      d.playlists!.CachePolicy.CachePolicyConfig.MinTTL = 5;
    },
  ],
  [
    'live playlists kept 60 s',
    'playlist-ttl',
    /live playlists kept up to 60 s/,
    (_c, d) => {
      Object.assign(d.playlists!.CachePolicy.CachePolicyConfig, { DefaultTTL: 60, MaxTTL: 60 });
    },
  ],
  [
    'playlists on the managed CachingOptimized policy',
    'playlist-ttl',
    /at least 1 s/,
    (c) => {
      behavior(c, '/videos/*.m3u8').CachePolicyId = '658327ea-f89d-4fab-a63d-7e88639e58f6';
    },
    ['--key-pair-id', KP, '--session-control', '--uploads'],
  ],
  [
    'legacy cache settings with MinTTL',
    'playlist-ttl',
    /at least 30 s/,
    (c) => {
      const b = behavior(c, '/videos/*.m3u8');
      delete b.CachePolicyId;
      Object.assign(b, {
        MinTTL: 30,
        DefaultTTL: 30,
        MaxTTL: 30,
        ForwardedValues: { QueryString: false, Cookies: { Forward: 'none' } },
      });
    },
    ['--key-pair-id', KP, '--session-control', '--uploads'],
  ],
  [
    'every query string in the segments key',
    'signing-not-in-cache-key',
    /Expires, Policy, Signature, Key-Pair-Id, Hash-Algorithm, HlsGate-Session/,
    (_c, d) => {
      d.segments!.CachePolicy.CachePolicyConfig.ParametersInCacheKeyAndForwardedToOrigin.QueryStringsConfig = {
        QueryStringBehavior: 'all',
      };
    },
  ],
  [
    'Policy and the CloudFront cookies whitelisted',
    'signing-not-in-cache-key',
    /CloudFront-Policy/,
    (_c, d) => {
      const p = d.segments!.CachePolicy.CachePolicyConfig.ParametersInCacheKeyAndForwardedToOrigin;
      p.CookiesConfig = { CookieBehavior: 'whitelist', Cookies: wrap(['CloudFront-Policy']) };
    },
  ],
  [
    'all but Expires excluded',
    'signing-not-in-cache-key',
    /Policy, Signature, Key-Pair-Id, Hash-Algorithm, HlsGate-Session/,
    (_c, d) => {
      d.segments!.CachePolicy.CachePolicyConfig.ParametersInCacheKeyAndForwardedToOrigin.QueryStringsConfig = {
        QueryStringBehavior: 'allExcept',
        QueryStrings: wrap(['Expires']),
      };
    },
  ],
  [
    'legacy forwarding of every query string',
    'signing-not-in-cache-key',
    /query strings Expires/,
    (c) => {
      const b = behavior(c, '/videos/*');
      delete b.CachePolicyId;
      Object.assign(b, {
        MinTTL: 0,
        DefaultTTL: 86400,
        MaxTTL: 31536000,
        ForwardedValues: { QueryString: true, Cookies: { Forward: 'none' }, QueryStringCacheKeys: { Quantity: 0 } },
      });
    },
  ],
  [
    'live playlists without _HLS_part in the key',
    'live-directives',
    /_HLS_part not in the cache key/,
    (_c, d) => {
      d.playlists!.CachePolicy.CachePolicyConfig.ParametersInCacheKeyAndForwardedToOrigin.QueryStringsConfig.QueryStrings =
        wrap(['_HLS_msn', '_HLS_skip']);
    },
  ],
  [
    'no function on segments',
    'session-function',
    /\/videos\/\*: no viewer-request function/,
    (c) => {
      behavior(c, '/videos/*').FunctionAssociations = { Quantity: 0 };
    },
  ],
  [
    'a viewer-response function only',
    'session-function',
    /no viewer-request function/,
    (c) => {
      behavior(c, '/videos/*.m3u8').FunctionAssociations = wrap([{ FunctionARN: ID.fn, EventType: 'viewer-response' }]);
    },
  ],
  [
    'the function on runtime 1.0',
    'session-function',
    /cloudfront-js-1.0/,
    (_c, d) => {
      d.fn!.FunctionSummary.FunctionConfig.Runtime = 'cloudfront-js-1.0';
    },
  ],
  [
    'the function without its KeyValueStore',
    'session-function',
    /no KeyValueStore/,
    (_c, d) => {
      d.fn!.FunctionSummary.FunctionConfig.KeyValueStoreAssociations = { Quantity: 0 };
    },
  ],
  [
    "a key group without the gateway's key",
    'key-group-key',
    /no trusted key group holds K2JCJMDEHXQW5F/,
    (_c, d) => {
      d.keyGroup!.KeyGroup.KeyGroupConfig.Items = ['K3OLDKEYEXAMPLE'];
    },
  ],
  [
    'a key group not supplied',
    'key-group-key',
    /not checked \(aws cloudfront get-key-group/,
    (_c, d) => {
      delete d.keyGroup;
    },
  ],
  [
    'a custom cache policy not supplied',
    ['playlist-ttl', 'signing-not-in-cache-key'],
    /cache policy a1f0c6d2.* not checked/,
    (_c, d) => {
      delete d.playlists;
    },
    ['--key-pair-id', KP, '--session-control', '--uploads'],
  ],
  [
    'uploads without PUT',
    'uploads',
    /does not allow PUT/,
    (c) => {
      behavior(c, '/uploads/*').AllowedMethods = methods(['HEAD', 'GET', 'OPTIONS']);
    },
  ],
  [
    'uploads without x-amz-content-sha256',
    'uploads',
    /x-amz-content-sha256 is not forwarded/,
    (_c, d) => {
      d.uploadHeaders!.OriginRequestPolicy.OriginRequestPolicyConfig.HeadersConfig = {
        HeaderBehavior: 'whitelist',
        Headers: wrap(['Content-Type']),
      };
    },
  ],
  [
    'uploads without a key group',
    ['media-key-group', 'uploads'],
    /anyone can write/,
    (c) => {
      behavior(c, '/uploads/*').TrustedKeyGroups = { Enabled: false, Quantity: 0 };
    },
  ],
  [
    'a /free/* behavior to a second entry for the bucket, without a key group',
    'media-key-group',
    /\/free\/\* reaches the media origin to anyone/,
    (c) => {
      const origins = c.DistributionConfig.Origins.Items as Json[];
      origins.push({ ...origins[0], Id: 'media-copy', OriginPath: '/videos' });
      c.DistributionConfig.CacheBehaviors.Items.push({
        ...behavior(c, '/videos/*'),
        PathPattern: '/free/*',
        TargetOriginId: 'media-copy',
        TrustedKeyGroups: { Enabled: false, Quantity: 0 },
      });
    },
  ],
  [
    'a /videos/*/1080p/* behavior to the gateway, without a key group',
    'media-key-group',
    /1080p.* can match paths under \/videos\//,
    (c) => {
      c.DistributionConfig.CacheBehaviors.Items.push({
        ...behavior(c, '/api/*'),
        PathPattern: '/videos/*/1080p/*',
      });
    },
  ],
  [
    'a behavior hidden in a condition',
    'media-key-group',
    /not shaped as documented/,
    (c) => {
      c.DistributionConfig.CacheBehaviors.Items.push({ 'Fn::If': ['Prod', {}, {}] });
    },
  ],
  [
    'an origin group whose failover bucket is public',
    'private-origin',
    /must be public/,
    (c) => {
      const origins = c.DistributionConfig.Origins.Items as Json[];
      origins.push({
        ...origins[0],
        Id: 'media-failover',
        DomainName: 'other.s3.us-east-1.amazonaws.com',
        OriginAccessControlId: '',
      });
      c.DistributionConfig.OriginGroups = wrap([
        { Id: 'media-group', Members: wrap([{ OriginId: 'media' }, { OriginId: 'media-failover' }]) },
      ]);
      for (const p of ['/videos/*.m3u8', '/videos/*', '*']) behavior(c, p).TargetOriginId = 'media-group';
    },
    ['--key-pair-id', KP, '--live', '--session-control', '--allowed-origin', APP],
  ],
  [
    'media over plain HTTP',
    'viewer-https',
    /ViewerProtocolPolicy allow-all/,
    (c) => {
      behavior(c, '/videos/*').ViewerProtocolPolicy = 'allow-all';
    },
  ],
  [
    'an http page origin allowed with credentials',
    'cors-credentials',
    /"http:\/\/app.example.com" is not one exact https origin/,
    (_c, d) => {
      d.mediaCors!.ResponseHeadersPolicy.ResponseHeadersPolicyConfig.CorsConfig.AccessControlAllowOrigins = wrap([
        APP,
        'http://app.example.com',
      ]);
    },
  ],
  [
    'a function not supplied',
    'session-function',
    /function arn:aws:cloudfront::123456789012:function\/hls-gate-session-control not checked/,
    (_c, d) => {
      delete d.fn;
    },
  ],
  [
    'uploads without Origin forwarded (the preflight fails)',
    'uploads',
    /Origin is not forwarded/,
    (_c, d) => {
      d.uploadHeaders!.OriginRequestPolicy.OriginRequestPolicyConfig.HeadersConfig = {
        HeaderBehavior: 'whitelist',
        Headers: wrap(['x-amz-content-sha256', 'Content-Type']),
      };
    },
  ],
];

describe('hls-gate cloudfront check', () => {
  it('passes the distribution the stack deploys (API form, every rule on)', async () => {
    const r = await check(distribution(), documents());
    expect(r.code, r.stdout).toBe(0);
    expect(r.out?.sound).toBe(true);
    expect(r.out?.results.map((x) => x.rule).sort()).toEqual(Object.keys(RULES).sort());
  });

  it.each(ROWS)('flags %s (%s)', async (_name, rule, message, breakIt, flags) => {
    const cfg = distribution();
    const docs = documents();
    breakIt(cfg, docs);
    const r = await check(cfg, docs, flags);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const rules = Array.isArray(rule) ? rule : [rule];
    expect(r.failed).toEqual(rules);
    const problems = (r.out?.results ?? []).filter((x) => rules.includes(x.rule)).flatMap((x) => x.problems);
    expect(problems.join('\n')).toMatch(message);
  });

  it('says it in words, check by check (text output)', async () => {
    const cfg = distribution();
    delete behavior(cfg, '/videos/*.m3u8').ResponseHeadersPolicyId;
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-check-'));
    const file = join(dir, 'd.json');
    writeFileSync(file, JSON.stringify(cfg));
    const r = await run(['cloudfront', 'check', file], { CLOUDFRONT_KEY_PAIR_ID: KP });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ok {4}media-key-group: /m);
    expect(r.stdout).toMatch(
      /^FAIL {2}cors-on-refusals: .*\n {8}- the behavior \/videos\/\*\.m3u8 has no response headers policy/m,
    );
    // Without the key group's document, the key pair ID from the environment cannot be checked: that is a problem.
    expect(r.stdout).toMatch(/^FAIL {2}key-group-key: .*\n.*get-key-group --id 5f6a1c39/m);
    expect(r.stdout).toMatch(/rule\(s\) failed\n$/);
  });

  it('bad usage exits 2: no file, unreadable, not JSON, not a distribution, an unknown --with document', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-check-'));
    const notJson = join(dir, 'x.json');
    writeFileSync(notJson, '{nope');
    const notDist = join(dir, 'y.json');
    writeFileSync(notDist, JSON.stringify({ ETag: 'E', DistributionConfig: { Comment: 'x' } }));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(distribution()));
    const cases: [string[], RegExp][] = [
      [[], /usage: hls-gate cloudfront check/],
      [[join(dir, 'missing.json')], /cannot read/],
      [[notJson], /is not JSON/],
      [[notDist], /no DistributionConfig/],
      [[good, '--with', notDist], /is none of/],
      [[good, good], /usage/],
    ];
    for (const [args, message] of cases) {
      const r = await run(['cloudfront', 'check', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it("passes the stack's own templates, plain, live, uploads and session control", async () => {
    const pub = join(REPO_ROOT, 'test/fixtures/keys/rsa-spki.pem');
    const variants: string[][] = [
      [],
      ['--live'],
      ['--uploads'],
      ['--session-control'],
      ['--live', '--uploads', '--session-control'],
    ];
    for (const flags of variants) {
      const out = mkdtempSync(join(tmpdir(), 'hls-gate-stack-'));
      const made = await run([
        'cloudfront',
        'stack',
        '--public-key',
        pub,
        '--api-origin',
        'api.example.com',
        '--allowed-origin',
        APP,
        ...flags,
        '--out',
        out,
      ]);
      expect(made.code, made.stderr).toBe(0);
      const r = await run([
        'cloudfront',
        'check',
        join(out, 'template.json'),
        '--public-key',
        pub,
        '--allowed-origin',
        APP,
        ...flags,
        '--json',
      ]);
      expect(r.code, r.stdout).toBe(0);
      const results = (JSON.parse(r.stdout) as { results: RuleResult[] }).results;
      expect(results.find((x) => x.rule === 'key-group-key')?.skipped).toBeUndefined();
      // And another key is not in its key group.
      const other = await run([
        'cloudfront',
        'check',
        join(out, 'template.json'),
        '--public-key',
        join(REPO_ROOT, 'test/fixtures/keys/rsa2-spki.pem'),
        ...flags,
      ]);
      expect(other.code).toBe(1);
      expect(other.stdout).toMatch(/FAIL {2}key-group-key/);
    }
  }, 60_000);
});

describe('hls-gate cloudfront check on a template (before it is deployed)', () => {
  type Resources = Record<string, { Type: string; Properties: Json }>;
  const pub = join(REPO_ROOT, 'test/fixtures/keys/rsa-spki.pem');
  const flags = ['--public-key', pub, '--allowed-origin', APP, '--live', '--uploads', '--session-control'];
  let template: { Resources: Resources };
  const find = (t: { Resources: Resources }, type: string): Json =>
    Object.values(t.Resources).find((r) => r.Type === type)!.Properties;

  const rows: [string, RuleId, RegExp, (t: { Resources: Resources }) => void][] = [
    [
      'a bucket policy letting anyone read',
      'private-origin',
      /allows anyone \(Principal \*\)/,
      (t) => {
        find(t, 'AWS::S3::BucketPolicy').PolicyDocument.Statement.push({
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: '*',
        });
      },
    ],
    [
      'public access not blocked',
      'private-origin',
      /does not block every form of public access/,
      (t) => {
        find(t, 'AWS::S3::Bucket').PublicAccessBlockConfiguration.BlockPublicPolicy = false;
      },
    ],
    [
      'CloudFront let in without AWS:SourceArn',
      'private-origin',
      /without an AWS:SourceArn condition/,
      (t) => {
        for (const st of find(t, 'AWS::S3::BucketPolicy').PolicyDocument.Statement) delete st.Condition;
      },
    ],
    [
      'an origin access control that never signs',
      'private-origin',
      /never signs/,
      (t) => {
        find(t, 'AWS::CloudFront::OriginAccessControl').OriginAccessControlConfig.SigningBehavior = 'never';
      },
    ],
    [
      'a website endpoint spelled with Fn::Sub',
      'private-origin',
      /website endpoint/,
      (t) => {
        const origin = find(t, 'AWS::CloudFront::Distribution').DistributionConfig.Origins[0];
        origin.DomainName = { 'Fn::Sub': '${MediaBucket}.s3-website-${AWS::Region}.amazonaws.com' };
        delete origin.S3OriginConfig;
        delete origin.OriginAccessControlId;
        origin.CustomOriginConfig = { OriginProtocolPolicy: 'http-only' };
      },
    ],
    [
      "a do-nothing function in place of hls-gate's",
      'session-function',
      /not hls-gate's/,
      (t) => {
        find(t, 'AWS::CloudFront::Function').FunctionCode = 'async function handler(event) { return event.request; }';
      },
    ],
  ];

  it.each(rows)(
    'flags %s (%s)',
    async (_name, rule, message, breakIt) => {
      if (!template) {
        const out = mkdtempSync(join(tmpdir(), 'hls-gate-stack-'));
        const made = await run([
          'cloudfront',
          'stack',
          '--public-key',
          pub,
          '--api-origin',
          'api.example.com',
          ...flags.slice(2),
          '--out',
          out,
        ]);
        expect(made.code, made.stderr).toBe(0);
        template = JSON.parse(readFileSync(join(out, 'template.json'), 'utf8')) as { Resources: Resources };
      }
      const broken = structuredClone(template);
      breakIt(broken);
      const dir = mkdtempSync(join(tmpdir(), 'hls-gate-check-'));
      writeFileSync(join(dir, 't.json'), JSON.stringify(broken));
      const r = await run(['cloudfront', 'check', join(dir, 't.json'), ...flags, '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const results = (JSON.parse(r.stdout) as { results: RuleResult[] }).results;
      expect(results.filter((x) => x.problems.length).map((x) => x.rule)).toContain(rule);
      expect(results.find((x) => x.rule === rule)?.problems.join('\n')).toMatch(message);
    },
    30_000,
  );
});

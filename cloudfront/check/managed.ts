import type { CachePolicyModel, OriginRequestPolicyModel, ResponseHeadersPolicyModel } from './model.ts';

// AWS's managed policies, by the IDs and settings AWS documents, so a distribution that uses them is checked
// without fetching them. IDs: the pages cited per table (aws-cdk-lib carries the same IDs in
// CachePolicy/OriginRequestPolicy/ResponseHeadersPolicy's static members).

const none = { behavior: 'none', names: [] };
const all = { behavior: 'all', names: [] };

/** https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html */
export const MANAGED_CACHE_POLICIES: ReadonlyMap<string, CachePolicyModel & { name: string }> = new Map([
  [
    '658327ea-f89d-4fab-a63d-7e88639e58f6',
    {
      name: 'CachingOptimized',
      ttl: { min: 1, default: 86_400, max: 31_536_000 },
      query: none,
      cookies: none,
      headers: none,
    },
  ],
  [
    '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
    { name: 'CachingDisabled', ttl: { min: 0, default: 0, max: 0 }, query: none, cookies: none, headers: none },
  ],
  [
    'b2884449-e4de-46a7-ac36-70bc7f1ddd6d',
    {
      name: 'CachingOptimizedForUncompressedObjects',
      ttl: { min: 1, default: 86_400, max: 31_536_000 },
      query: none,
      cookies: none,
      headers: none,
    },
  ],
  [
    '08627262-05a9-4f76-9ded-b50ca2e3a84f',
    {
      name: 'Elemental-MediaPackage',
      ttl: { min: 0, default: 86_400, max: 31_536_000 },
      query: { behavior: 'whitelist', names: ['aws.manifestfilter', 'start', 'end', 'm'] },
      cookies: none,
      headers: { behavior: 'whitelist', names: ['origin'] },
    },
  ],
  [
    '2e54312d-136d-493c-8eb9-b001f22f67d2',
    {
      name: 'Amplify',
      ttl: { min: 2, default: 2, max: 600 },
      query: all,
      cookies: all,
      headers: { behavior: 'whitelist', names: ['Authorization', 'CloudFront-Viewer-Country', 'Host'] },
    },
  ],
]);

/** https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html */
export const MANAGED_ORIGIN_REQUEST_POLICIES: ReadonlyMap<string, OriginRequestPolicyModel & { name: string }> =
  new Map([
    [
      '216adef6-5c7f-47e4-b989-5492eafa07d3',
      { name: 'AllViewer', query: all, cookies: all, headers: { behavior: 'allViewer', names: [] } },
    ],
    [
      'b689b0a8-53d0-40ab-baf2-68738e2966ac',
      {
        name: 'AllViewerExceptHostHeader',
        query: all,
        cookies: all,
        headers: { behavior: 'allExcept', names: ['Host'] },
      },
    ],
    [
      '88a5eaf4-2fd4-4709-b370-b4c650ea3fcf',
      {
        name: 'CORS-S3Origin',
        query: none,
        cookies: none,
        headers: {
          behavior: 'whitelist',
          names: ['origin', 'access-control-request-headers', 'access-control-request-method'],
        },
      },
    ],
    [
      '59781a5b-3903-41f3-afcb-af62929ccde1',
      { name: 'CORS-CustomOrigin', query: none, cookies: none, headers: { behavior: 'whitelist', names: ['origin'] } },
    ],
  ]);

/**
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-response-headers-policies.html:
 * every managed CORS policy allows any origin (`Access-Control-Allow-Origin: *`), which a browser never accepts
 * for a request with credentials; SecurityHeadersPolicy sets no CORS header at all.
 */
const ANY_ORIGIN = { origins: ['*'], credentials: false, headers: ['*'], methods: ['GET', 'HEAD', 'OPTIONS'] };
export const MANAGED_RESPONSE_HEADERS_POLICIES: ReadonlyMap<string, ResponseHeadersPolicyModel & { name: string }> =
  new Map([
    ['e61eb60c-9c35-4d20-a928-2b84e02af89c', { name: 'CORS-and-SecurityHeadersPolicy', cors: ANY_ORIGIN }],
    ['5cc3b908-e619-4b99-88e5-2cf7f45965bd', { name: 'CORS-With-Preflight', cors: ANY_ORIGIN }],
    [
      'eaab4381-ed33-4a86-88ca-d9558dc6cd63',
      { name: 'CORS-with-preflight-and-SecurityHeadersPolicy', cors: ANY_ORIGIN },
    ],
    ['60669652-455b-4ae9-85a4-c4c02393f86c', { name: 'SimpleCORS', cors: ANY_ORIGIN }],
    ['67f7725c-6f97-4210-82d7-5512b31e9d03', { name: 'SecurityHeadersPolicy' }],
  ]);

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnOutput, DefaultStackSynthesizer, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { CLOUDFRONT_FUNCTION } from './function-source.ts';
import {
  LIVE_PLAYLIST_QUERY,
  MEDIA_EXPOSED_HEADERS,
  MEDIA_REQUEST_HEADERS,
  PATHS,
  PLAYLIST_TTL,
  SEGMENT_TTL,
  UPLOAD_REQUEST_HEADERS,
  PREFLIGHT_HEADERS,
  ERROR_CACHING_SECONDS,
  UPLOADS_PREFIX,
  MEDIA_PREFIX,
  type Ttl,
} from './delivery.ts';
import { checkStackOptions, StackOptionError, type StackOptions } from './stack-options.ts';

// Everything hls-gate needs in front of it on AWS, as one CloudFormation stack built with aws-cdk-lib: a private S3
// bucket read (and, with uploads, written) by one distribution only, the public keys and their key group, cache
// behaviors for playlists, the other media files, the API and uploads, CORS with credentials for exact origins, and
// under session control the revocation function with its KeyValueStore.
//
// The distribution is the L1 `CfnDistribution`, so each property below is the CloudFormation property of the same
// name (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-distribution-distributionconfig.html),
// typed by aws-cdk-lib's generated `CfnDistribution.*Property` interfaces. The bucket policy is written here
// rather than by aws-cdk-lib's S3 origin, which would grant reads of the whole bucket: the distribution reads
// `videos/*` and writes `uploads/*`, nothing else.
//
// Every resource is checked twice before a template is written: by aws-cdk-lib's generated CloudFormation types
// (TypeScript here, and the L1 validators at synthesis, which refuse unknown properties and wrong types) and by
// test/cloudfront/stack.test.ts against AWS's reference
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/ + the resource type):
// AWS::S3::Bucket, AWS::S3::BucketPolicy, AWS::CloudFront::OriginAccessControl (OriginAccessControlOriginType s3,
// SigningBehavior always, SigningProtocol sigv4), AWS::CloudFront::PublicKey (EncodedKey, a PEM public key),
// AWS::CloudFront::KeyGroup, AWS::CloudFront::CachePolicy, AWS::CloudFront::OriginRequestPolicy,
// AWS::CloudFront::ResponseHeadersPolicy (CorsConfig), AWS::CloudFront::KeyValueStore, AWS::CloudFront::Function
// (FunctionConfig.Runtime, KeyValueStoreAssociations, AutoPublish) and AWS::CloudFront::Distribution.

const MEDIA_ORIGIN = 'media';
const UPLOAD_RETENTION_DAYS = 7;
const GATEWAY_ORIGIN = 'gateway';

/**
 * Managed policies, by the IDs AWS documents
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html,
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html);
 * aws-cdk-lib carries the same IDs as `CachePolicy.CACHING_DISABLED` and
 * `OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER`.
 */
const CACHING_DISABLED = cloudfront.CachePolicy.CACHING_DISABLED.cachePolicyId;
const ALL_VIEWER_EXCEPT_HOST = cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId;

function cachePolicy(
  scope: Construct,
  id: string,
  comment: string,
  ttl: Ttl,
  query: readonly string[],
  compress: boolean,
): cloudfront.CachePolicy {
  return new cloudfront.CachePolicy(scope, id, {
    comment,
    minTtl: Duration.seconds(ttl.min),
    defaultTtl: Duration.seconds(ttl.default),
    maxTtl: Duration.seconds(ttl.max),
    // No cookie, header or (except the delivery directives) query string in the key: the signed cookies, a signed
    // URL's parameters and the session parameter differ per viewer, and CloudFront checks them before the cache.
    cookieBehavior: cloudfront.CacheCookieBehavior.none(),
    headerBehavior: cloudfront.CacheHeaderBehavior.none(),
    queryStringBehavior:
      query.length > 0
        ? cloudfront.CacheQueryStringBehavior.allowList(...query)
        : cloudfront.CacheQueryStringBehavior.none(),
    enableAcceptEncodingGzip: compress,
    enableAcceptEncodingBrotli: compress,
  });
}

function corsPolicy(
  scope: Construct,
  id: string,
  origins: readonly string[],
  methods: string[],
  headers: readonly string[],
): cloudfront.ResponseHeadersPolicy {
  // CORS with credentials for exact origins, on every answer to a request with an Origin: CloudFront "modifies the
  // headers in the responses that it serves from the cache and the ones that it forwards from the origin"
  // (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/modifying-response-headers.html), errors
  // included, so a player can read a 403 and renew its grant. Whether it also adds them to the 403 it makes itself
  // for a missing or bad signature AWS does not say; without a policy they are certainly absent.
  return new cloudfront.ResponseHeadersPolicy(scope, id, {
    comment: `hls-gate: CORS with credentials for ${origins.join(' ')}`,
    corsBehavior: {
      accessControlAllowCredentials: true,
      accessControlAllowOrigins: [...origins],
      accessControlAllowMethods: methods,
      accessControlAllowHeaders: [...headers],
      accessControlExposeHeaders: [...MEDIA_EXPOSED_HEADERS],
      accessControlMaxAge: Duration.minutes(10),
      originOverride: true,
    },
  });
}

/** The stack for `options` (checked first). */
export function hlsGateStack(app: App, id: string, input: StackOptions): Stack {
  const options = checkStackOptions(input);
  // No CDK bootstrap: the template holds no assets, so `aws cloudformation deploy` takes it as it is.
  const stack = new Stack(app, id, {
    synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    analyticsReporting: false,
    description: 'hls-gate: private HLS behind CloudFront signed cookies (generated by hls-gate cloudfront stack)',
  });

  // The bucket: no public access in any form, objects owned by the bucket owner (required for origin access
  // control to write), encrypted at rest, TLS only. Kept when the stack is deleted: it holds the videos.
  const bucket = new s3.Bucket(stack, 'Media', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    removalPolicy: RemovalPolicy.RETAIN,
    // Uploaded sources are packaged elsewhere (hls-gate package ... --s3); one left behind goes after a week.
    ...(options.uploads
      ? {
          lifecycleRules: [
            { id: 'uploads-expire', prefix: `${UPLOADS_PREFIX}/`, expiration: Duration.days(UPLOAD_RETENTION_DAYS) },
          ],
        }
      : {}),
    // A browser's upload PUT carries x-amz-content-sha256, so it is preflighted; the preflight (with the signed
    // URL's query) reaches S3, which answers OPTIONS from the bucket's CORS rules
    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html).
    ...(options.uploads
      ? {
          cors: [
            {
              allowedMethods: [s3.HttpMethods.PUT],
              allowedOrigins: [...options.allowedOrigins],
              allowedHeaders: [...UPLOAD_REQUEST_HEADERS],
              maxAge: 600,
            },
          ],
        }
      : {}),
  });
  // Origin access control, signing every request to S3 with SigV4
  // (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html).
  const oac = new cloudfront.S3OriginAccessControl(stack, 'MediaAccess', {
    description: 'hls-gate: the distribution reads videos/ and writes uploads/',
    signing: cloudfront.Signing.SIGV4_ALWAYS,
  });

  // One resource per key, named by its fingerprint: CloudFront cannot change a public key's material in place
  // (aws-cdk #15301), so a rotation adds a key beside the old one, and dropping the old one later removes only it.
  const keys = options.publicKeys.map(
    (k) =>
      new cloudfront.PublicKey(stack, `PublicKey${k.fingerprint}`, {
        encodedKey: k.pem,
        comment: `hls-gate key ${k.fingerprint} (${k.source})`.slice(0, 128),
      }),
  );
  const keyGroup = new cloudfront.KeyGroup(stack, 'KeyGroup', {
    items: keys,
    comment: 'hls-gate: the keys the gateway signs cookies and URLs with',
  });

  const playlistTtl = options.live ? PLAYLIST_TTL.live : PLAYLIST_TTL.onDemand;
  const playlists = cachePolicy(
    stack,
    'PlaylistCache',
    options.live ? 'hls-gate: live playlists, at most 1 s, delivery directives in the key' : 'hls-gate: playlists',
    playlistTtl,
    options.live ? LIVE_PLAYLIST_QUERY : [],
    true,
  );
  const segments = cachePolicy(
    stack,
    'SegmentCache',
    'hls-gate: segments, init segments, keys',
    SEGMENT_TTL,
    [],
    false,
  );
  const mediaCors = corsPolicy(stack, 'MediaCors', options.allowedOrigins, ['GET', 'HEAD'], MEDIA_REQUEST_HEADERS);

  let revocation: { fn: cloudfront.Function; store: cloudfront.KeyValueStore } | undefined;
  if (options.sessionControl) {
    // A KeyValueStore can be associated only with a cloudfront-js-2.0 function
    // (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/kvs-with-functions-associate.html).
    const store = new cloudfront.KeyValueStore(stack, 'Revocations', {
      comment: 'hls-gate: revoked subjects and sessions, and the session secret (hls-gate cloudfront kvs-sync)',
    });
    const fn = new cloudfront.Function(stack, 'SessionControl', {
      code: cloudfront.FunctionCode.fromInline(CLOUDFRONT_FUNCTION),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      keyValueStore: store,
      autoPublish: true,
      comment: 'hls-gate: session control and revocation at the edge',
    });
    revocation = { fn, store };
  }

  // A media behavior: the key group's cookies (or signed URLs) required, HTTPS only, GET and HEAD (a preflight
  // carries no cookies and would be refused, so media requests are kept simple), the revocation function first.
  const media = (cachePolicyId: string): cloudfront.CfnDistribution.DefaultCacheBehaviorProperty => ({
    targetOriginId: MEDIA_ORIGIN,
    trustedKeyGroups: [keyGroup.keyGroupId],
    viewerProtocolPolicy: 'https-only',
    allowedMethods: ['GET', 'HEAD'],
    cachedMethods: ['GET', 'HEAD'],
    compress: true,
    cachePolicyId,
    responseHeadersPolicyId: mediaCors.responseHeadersPolicyId,
    ...(revocation
      ? { functionAssociations: [{ eventType: 'viewer-request', functionArn: revocation.fn.functionArn }] }
      : {}),
  });

  const behaviors: cloudfront.CfnDistribution.CacheBehaviorProperty[] = [
    { pathPattern: PATHS.playlists, ...media(playlists.cachePolicyId) },
    { pathPattern: PATHS.media, ...media(segments.cachePolicyId) },
    {
      // The gateway's API (grants, device links, uploads' reservations): never cached, every viewer header but
      // Host forwarded (cookies and the query too), every method. The gateway answers CORS itself.
      pathPattern: PATHS.api,
      targetOriginId: GATEWAY_ORIGIN,
      viewerProtocolPolicy: 'https-only',
      allowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      cachedMethods: ['GET', 'HEAD'],
      compress: true,
      cachePolicyId: CACHING_DISABLED,
      originRequestPolicyId: ALL_VIEWER_EXCEPT_HOST,
    },
  ];
  if (options.uploads) {
    // Signed PUTs straight into the bucket: CloudFront allows PUT only with every method
    // (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html#DownloadDistValuesAllowedHTTPMethods);
    // the bucket policy allows only s3:PutObject under uploads/. The body's SHA-256 header reaches S3.
    const uploadHeaders = new cloudfront.OriginRequestPolicy(stack, 'UploadHeaders', {
      comment: 'hls-gate: the headers a signed upload needs at S3',
      headerBehavior: cloudfront.OriginRequestHeaderBehavior.allowList(...UPLOAD_REQUEST_HEADERS, ...PREFLIGHT_HEADERS),
      queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.none(),
      cookieBehavior: cloudfront.OriginRequestCookieBehavior.none(),
    });
    const uploadCors = corsPolicy(
      stack,
      'UploadCors',
      options.allowedOrigins,
      ['PUT', 'OPTIONS'],
      UPLOAD_REQUEST_HEADERS,
    );
    behaviors.push({
      pathPattern: PATHS.uploads,
      targetOriginId: MEDIA_ORIGIN,
      trustedKeyGroups: [keyGroup.keyGroupId],
      viewerProtocolPolicy: 'https-only',
      allowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      cachedMethods: ['GET', 'HEAD'],
      compress: false,
      cachePolicyId: CACHING_DISABLED,
      originRequestPolicyId: uploadHeaders.originRequestPolicyId,
      responseHeadersPolicyId: uploadCors.responseHeadersPolicyId,
    });
  }

  const distribution = new cloudfront.CfnDistribution(stack, 'Distribution', {
    distributionConfig: {
      enabled: true,
      comment: 'hls-gate media',
      httpVersion: 'http2and3',
      ipv6Enabled: true,
      origins: [
        {
          id: MEDIA_ORIGIN,
          domainName: bucket.bucketRegionalDomainName,
          // OriginAccessIdentity must be present and empty when origin access control is used.
          s3OriginConfig: { originAccessIdentity: '' },
          originAccessControlId: oac.originAccessControlId,
        },
        {
          id: GATEWAY_ORIGIN,
          domainName: options.apiOrigin,
          customOriginConfig: {
            originProtocolPolicy: 'https-only',
            originSslProtocols: ['TLSv1.2'],
            httpsPort: 443,
          },
        },
      ],
      // Anything outside the named paths: the bucket, behind the key group, so nothing is public by default.
      defaultCacheBehavior: media(segments.cachePolicyId),
      cacheBehaviors: behaviors,
      // Errors keep their status (a refusal stays a refusal) and are kept 1 s, not 10 (ERROR_CACHING_SECONDS).
      customErrorResponses: [403, 404].map((errorCode) => ({ errorCode, errorCachingMinTtl: ERROR_CACHING_SECONDS })),
      ...(options.domain
        ? {
            aliases: [options.domain.name],
            viewerCertificate: {
              acmCertificateArn: options.domain.certificateArn,
              sslSupportMethod: 'sni-only',
              minimumProtocolVersion: 'TLSv1.2_2021',
            },
          }
        : { viewerCertificate: { cloudFrontDefaultCertificate: true } }),
    },
  });

  // The bucket policy: the cloudfront.amazonaws.com service principal, for this distribution only
  // (condition AWS:SourceArn), reading videos/ and (with uploads) writing uploads/.
  const distributionArn = stack.formatArn({
    service: 'cloudfront',
    region: '',
    resource: 'distribution',
    resourceName: distribution.ref,
  });
  const grant = (action: string, prefix: string) =>
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: action === 's3:GetObject' ? 'CloudFrontReadsVideos' : 'CloudFrontWritesUploads',
        principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
        actions: [action],
        resources: [bucket.arnForObjects(`${prefix}/*`)],
        conditions: { StringEquals: { 'AWS:SourceArn': distributionArn } },
      }),
    );
  grant('s3:GetObject', MEDIA_PREFIX);
  if (options.uploads) {
    grant('s3:PutObject', UPLOADS_PREFIX);
    // The body's SHA-256 is what makes a signed upload one file: S3 also takes `UNSIGNED-PAYLOAD`, which would skip
    // the check, so the bucket refuses it (condition key s3:x-amz-content-sha256,
    // https://docs.aws.amazon.com/AmazonS3/latest/API/bucket-policy-s3-sigv4-conditions.html). hls-gate's uploads
    // always carry the hash (the gateway refuses a PUT without it); that CloudFront's origin access control signs
    // with the viewer's value is documented for PUTs through it (private-content-restricting-access-to-s3.html,
    // private-content-restricting-access-to-lambda.html) and not tried here without an AWS account.
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'UploadsCarryTheirHash',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(`${UPLOADS_PREFIX}/*`)],
        conditions: { StringEquals: { 's3:x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
      }),
    );
  }

  const host = options.domain ? options.domain.name : distribution.attrDomainName;
  const mediaBaseUrl = Fn.join('', ['https://', host]);
  const signingKey = keys[0];
  if (!signingKey) throw new Error('no public key'); // checkStackOptions requires one
  new CfnOutput(stack, 'DistributionDomainName', {
    value: distribution.attrDomainName,
    description: 'Point the alternate domain (a CNAME, or a Route 53 alias) here',
  });
  new CfnOutput(stack, 'DistributionId', { value: distribution.ref });
  new CfnOutput(stack, 'MediaBucket', {
    value: bucket.bucketName,
    description: `Publish videos here: hls-gate package movie.mp4 --id movie --s3 s3://BUCKET`,
  });
  new CfnOutput(stack, 'KeyPairId', {
    value: signingKey.publicKeyId,
    description: `The public key the gateway signs with (${options.publicKeys[0]?.fingerprint ?? ''})`,
  });
  new CfnOutput(stack, 'TrustedKeyPairIds', {
    value: Fn.join(
      ',',
      keys.map((k) => k.publicKeyId),
    ),
  });
  new CfnOutput(stack, 'GatewayEnvironment', {
    description: "The gateway's environment lines (the private key: CLOUDFRONT_PRIVATE_KEY_FILE)",
    value: Fn.join(' ', [
      Fn.join('', ['CLOUDFRONT_KEY_PAIR_ID=', signingKey.publicKeyId]),
      Fn.join('', ['MEDIA_BASE_URL=', mediaBaseUrl]),
      `ALLOWED_ORIGINS=${options.allowedOrigins.join(',')}`,
    ]),
  });
  if (revocation) {
    new CfnOutput(stack, 'KeyValueStoreArn', {
      value: revocation.store.keyValueStoreArn,
      description: 'hls-gate cloudfront kvs-sync --kvs-arn ARN (after every revocation)',
    });
  }
  return stack;
}

/** The CloudFormation template (parsed) for `options`, synthesised offline by aws-cdk-lib. */
export function synthesizeTemplate(options: StackOptions, stackName = 'hls-gate'): Record<string, unknown> {
  // CloudFront's names (key groups, policies, functions, stores) are unique per account and aws-cdk-lib derives them
  // from the construct path: the stack's name is in it, so a second stack (staging beside production) gets its own.
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName))
    throw new StackOptionError('--stack-name: a letter, then letters, digits and hyphens (CloudFormation stack names)');
  const outdir = mkdtempSync(join(tmpdir(), 'hls-gate-cdk-'));
  try {
    const app = new App({ outdir });
    const stack = hlsGateStack(app, stackName, options);
    const assembly = app.synth();
    const artifact = assembly.getStackByName(stack.stackName);
    return JSON.parse(readFileSync(join(outdir, artifact.templateFile), 'utf8')) as Record<string, unknown>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

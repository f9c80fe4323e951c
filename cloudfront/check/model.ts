import type { Ttl } from '../delivery.ts';

// The parts of a CloudFront distribution that decide whether signed-cookie HLS works, read from either form a user
// has: the JSON `aws cloudfront get-distribution-config` prints (lists wrapped as `{ Quantity, Items }`,
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DistributionConfig.html) or a CloudFormation
// template (plain lists, references as `Ref`/`Fn::GetAtt`,
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-distribution-distributionconfig.html).
// Property names are the same in both. Anything not shaped as documented is read as absent, never trusted.

/** What a key or policy names: a list of names and how they apply. */
export interface NameList {
  /** none | whitelist | allExcept | all (cache policies); allViewer... (origin request policies). */
  behavior: string;
  names: string[];
}

export interface CachePolicyModel {
  ttl: Ttl;
  query: NameList;
  cookies: NameList;
  headers: NameList;
}

export interface OriginRequestPolicyModel {
  query: NameList;
  cookies: NameList;
  headers: NameList;
}

export interface CorsModel {
  origins: string[];
  credentials: boolean;
  headers: string[];
  methods: string[];
}

export interface ResponseHeadersPolicyModel {
  cors?: CorsModel;
}

export interface KeyGroupModel {
  /** Public key IDs (API form), or for a template the PEM of each key it declares. */
  keyIds: string[];
  keyPems: string[];
}

export interface FunctionModel {
  runtime: string;
  keyValueStores: number;
  /** The code, when the document holds it (a template). */
  code?: string;
}

/** A template's bucket: what decides whether it is private. */
export interface BucketModel {
  /** All four public access blocks on. */
  publicAccessBlocked: boolean;
  /** Its bucket policy's statements, as written. */
  statements: Record<string, unknown>[];
}

export interface OriginModel {
  id: string;
  domainName: string;
  /** An origin access control is attached (OriginAccessControlId). */
  oac: boolean;
  /** A legacy origin access identity (S3OriginConfig.OriginAccessIdentity non-empty). */
  oai: boolean;
  s3: boolean;
  /** In a template: the bucket resource behind the origin, and its origin access control's SigningBehavior. */
  bucketRef?: string;
  oacSigning?: string;
}

export interface BehaviorModel {
  /** `*` for the default behavior. */
  pathPattern: string;
  /** For messages: `/videos/*.m3u8` or `the default behavior`. */
  label: string;
  originId: string;
  keyGroups: string[];
  trustedSigners: boolean;
  viewerProtocolPolicy: string;
  allowedMethods: string[];
  cachePolicyId?: string;
  originRequestPolicyId?: string;
  responseHeadersPolicyId?: string;
  /** viewer-request and other function associations: event type and the function's ID/ARN/reference. */
  functions: { eventType: string; ref: string }[];
  /** Legacy cache settings (no cache policy): TTLs and ForwardedValues, read as a cache policy. */
  legacy?: CachePolicyModel;
  /** Not shaped as documented (a condition, an intrinsic function): never judged sound. */
  unreadable?: boolean;
}

export interface CustomErrorModel {
  errorCode: number;
  responseCode?: number;
  page?: string;
}

/** A distribution and the documents its behaviors reference, looked up by ID (or template reference). */
export interface DistributionModel {
  /** Cache behaviors in CloudFront's order, the default behavior last. */
  behaviors: BehaviorModel[];
  origins: Map<string, OriginModel>;
  /** Origin groups (failover): the IDs of their member origins. */
  originGroups: Map<string, string[]>;
  /** Buckets declared in a template, by reference. */
  buckets: Map<string, BucketModel>;
  customErrors: CustomErrorModel[];
  cachePolicies: Map<string, CachePolicyModel>;
  originRequestPolicies: Map<string, OriginRequestPolicyModel>;
  responseHeadersPolicies: Map<string, ResponseHeadersPolicyModel>;
  keyGroups: Map<string, KeyGroupModel>;
  functions: Map<string, FunctionModel>;
  /** A CloudFormation template (references resolve within it) or the API's JSON (IDs need --with documents). */
  form: 'template' | 'api';
}

/**
 * A CloudFront path pattern against a path: `*` any characters (`/` included), `?` exactly one, case-sensitive; the
 * leading `/` is optional (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html#DownloadDistValuesPathPattern).
 */
export function pathMatches(pattern: string, path: string): boolean {
  if (pattern === '*') return true;
  const p = pattern.startsWith('/') ? pattern : `/${pattern}`;
  const source = p
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(path);
}

/** The origins a behavior's target stands for: an origin group's members, or the origin itself. */
export function originsOf(model: DistributionModel, id: string): OriginModel[] {
  const ids = model.originGroups.get(id) ?? [id];
  return ids.map((i) => model.origins.get(i)).filter((o): o is OriginModel => o !== undefined);
}

/** The behavior CloudFront picks for a path: the first cache behavior whose pattern matches, else the default. */
export function behaviorFor(model: DistributionModel, path: string): BehaviorModel | undefined {
  return model.behaviors.find((b) => pathMatches(b.pathPattern, path));
}

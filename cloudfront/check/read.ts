import type {
  BehaviorModel,
  CachePolicyModel,
  CorsModel,
  DistributionModel,
  FunctionModel,
  KeyGroupModel,
  NameList,
  OriginModel,
  OriginRequestPolicyModel,
  ResponseHeadersPolicyModel,
} from './model.ts';
import {
  MANAGED_CACHE_POLICIES,
  MANAGED_ORIGIN_REQUEST_POLICIES,
  MANAGED_RESPONSE_HEADERS_POLICIES,
} from './managed.ts';

// Reads a distribution (get-distribution-config's JSON, or a CloudFormation template) and the documents it
// references (get-cache-policy, get-response-headers-policy, get-origin-request-policy, get-key-group,
// describe-function) into the model. API shapes: https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DistributionConfig.html
// and the pages of each Get* action; the CloudFormation shapes: AWS::CloudFront::* in the template reference.

export class ConfigReadError extends Error {
  override readonly name = 'ConfigReadError';
}

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

/** A list in either form: a plain array (CloudFormation) or `{ Quantity, Items }` (the API). */
function list(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  const items = obj(value).Items;
  return Array.isArray(items) ? items : [];
}

/** A reference in either form: an ID or ARN string, or a template's `Ref` / `Fn::GetAtt` (as `ref:<logical id>`). */
function ref(value: unknown): string {
  if (typeof value === 'string') return value;
  const o = obj(value);
  if (typeof o.Ref === 'string') return `ref:${o.Ref}`;
  const att = o['Fn::GetAtt'];
  if (Array.isArray(att) && typeof att[0] === 'string') return `ref:${att[0]}`;
  return '';
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function strings(value: unknown): string[] {
  return list(value)
    .map(ref)
    .filter((s) => s !== '');
}

function num(value: unknown, fallback: number): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : fallback;
}

function nameList(config: unknown, behaviorKey: string, namesKey: string): NameList {
  const c = obj(config);
  return { behavior: typeof c[behaviorKey] === 'string' ? c[behaviorKey] : 'none', names: strings(c[namesKey]) };
}

export function readCachePolicy(config: unknown): CachePolicyModel {
  const c = obj(config);
  const p = obj(c.ParametersInCacheKeyAndForwardedToOrigin);
  return {
    ttl: { min: num(c.MinTTL, 0), default: num(c.DefaultTTL, 0), max: num(c.MaxTTL, 0) },
    query: nameList(p.QueryStringsConfig, 'QueryStringBehavior', 'QueryStrings'),
    cookies: nameList(p.CookiesConfig, 'CookieBehavior', 'Cookies'),
    headers: nameList(p.HeadersConfig, 'HeaderBehavior', 'Headers'),
  };
}

export function readOriginRequestPolicy(config: unknown): OriginRequestPolicyModel {
  const c = obj(config);
  return {
    query: nameList(c.QueryStringsConfig, 'QueryStringBehavior', 'QueryStrings'),
    cookies: nameList(c.CookiesConfig, 'CookieBehavior', 'Cookies'),
    headers: nameList(c.HeadersConfig, 'HeaderBehavior', 'Headers'),
  };
}

export function readResponseHeadersPolicy(config: unknown): ResponseHeadersPolicyModel {
  const c = obj(obj(config).CorsConfig);
  if (Object.keys(c).length === 0) return {};
  const cors: CorsModel = {
    origins: strings(c.AccessControlAllowOrigins),
    credentials: c.AccessControlAllowCredentials === true || c.AccessControlAllowCredentials === 'true',
    headers: strings(c.AccessControlAllowHeaders),
    methods: strings(c.AccessControlAllowMethods),
  };
  return { cors };
}

function readFunction(config: unknown, code?: unknown): FunctionModel {
  const c = obj(config);
  return {
    runtime: typeof c.Runtime === 'string' ? c.Runtime : '',
    keyValueStores: list(c.KeyValueStoreAssociations).length,
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/** Legacy cache settings (a behavior without CachePolicyId), with CloudFront's documented defaults. */
function readLegacy(b: Json): CachePolicyModel {
  const f = obj(b.ForwardedValues);
  const keys = strings(f.QueryStringCacheKeys);
  const queryOn = f.QueryString === true || f.QueryString === 'true';
  const cookies = obj(f.Cookies);
  const headers = strings(f.Headers);
  return {
    ttl: { min: num(b.MinTTL, 0), default: num(b.DefaultTTL, 86_400), max: num(b.MaxTTL, 31_536_000) },
    query: !queryOn
      ? { behavior: 'none', names: [] }
      : keys.length
        ? { behavior: 'whitelist', names: keys }
        : { behavior: 'all', names: [] },
    cookies: {
      behavior: typeof cookies.Forward === 'string' ? cookies.Forward : 'none',
      names: strings(cookies.WhitelistedNames),
    },
    headers: headers.includes('*')
      ? { behavior: 'all', names: [] }
      : { behavior: headers.length ? 'whitelist' : 'none', names: headers },
  };
}

function readBehavior(value: unknown, isDefault: boolean): BehaviorModel {
  const b = obj(value);
  const pathPattern = isDefault ? '*' : typeof b.PathPattern === 'string' ? b.PathPattern : '';
  const trusted = (v: unknown): string[] => {
    const o = obj(v);
    // The API says Enabled; a template lists the groups.
    if (!Array.isArray(v) && o.Enabled !== true && o.Enabled !== 'true') return [];
    return strings(v);
  };
  const cachePolicyId = ref(b.CachePolicyId);
  const originRequestPolicyId = ref(b.OriginRequestPolicyId);
  const responseHeadersPolicyId = ref(b.ResponseHeadersPolicyId);
  const unreadable = (!isDefault && typeof b.PathPattern !== 'string') || typeof b.TargetOriginId !== 'string';
  return {
    ...(unreadable ? { unreadable } : {}),
    pathPattern,
    label: isDefault ? 'the default behavior (*)' : `the behavior ${pathPattern}`,
    originId: typeof b.TargetOriginId === 'string' ? b.TargetOriginId : '',
    keyGroups: trusted(b.TrustedKeyGroups),
    trustedSigners: trusted(b.TrustedSigners).length > 0,
    viewerProtocolPolicy: typeof b.ViewerProtocolPolicy === 'string' ? b.ViewerProtocolPolicy : 'allow-all',
    allowedMethods: strings(b.AllowedMethods).map((m) => m.toUpperCase()),
    ...(cachePolicyId ? { cachePolicyId } : { legacy: readLegacy(b) }),
    ...(originRequestPolicyId ? { originRequestPolicyId } : {}),
    ...(responseHeadersPolicyId ? { responseHeadersPolicyId } : {}),
    functions: list(b.FunctionAssociations).map((f) => ({
      eventType: str(obj(f).EventType),
      ref: ref(obj(f).FunctionARN),
    })),
  };
}

const S3_REST = /\.s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$/;
const S3_WEBSITE = /\.s3-website[.-]/;

function readOrigin(value: unknown, resources: Json): OriginModel {
  const o = obj(value);
  const domain = o.DomainName;
  let domainName = typeof domain === 'string' ? domain.toLowerCase() : '';
  // An intrinsic (Fn::Sub, Fn::Join) that spells a website endpoint is one too.
  if (!domainName && S3_WEBSITE.test(JSON.stringify(domain ?? ''))) domainName = 'an S3 website endpoint (s3-website)';
  let s3 = S3_REST.test(domainName) && !S3_WEBSITE.test(domainName);
  // In a template the bucket's domain is Fn::GetAtt [Bucket, RegionalDomainName | DomainName | WebsiteURL].
  const att = obj(domain)['Fn::GetAtt'];
  let bucketRef: string | undefined;
  if (Array.isArray(att) && obj(resources[String(att[0])]).Type === 'AWS::S3::Bucket') {
    domainName =
      att[1] === 'WebsiteURL' ? `the bucket ${String(att[0])}'s s3-website endpoint` : `the bucket ${String(att[0])}`;
    s3 = att[1] === 'RegionalDomainName' || att[1] === 'DomainName';
    bucketRef = `ref:${String(att[0])}`;
  }
  const s3Config = obj(o.S3OriginConfig);
  const oai = ref(s3Config.OriginAccessIdentity);
  const oacRef = ref(o.OriginAccessControlId);
  const oacResource = obj(resources[oacRef.slice(4)]);
  const signing = obj(obj(oacResource.Properties).OriginAccessControlConfig).SigningBehavior;
  return {
    ...(bucketRef ? { bucketRef } : {}),
    ...(oacRef.startsWith('ref:') ? { oacSigning: str(signing) } : {}),
    id: typeof o.Id === 'string' ? o.Id : '',
    domainName: domainName || 'an origin',
    oac: ref(o.OriginAccessControlId) !== '',
    oai: oai !== '',
    s3: s3 || (S3_WEBSITE.test(domainName) ? false : Object.keys(s3Config).length > 0 && !o.CustomOriginConfig),
  };
}

function emptyModel(form: DistributionModel['form']): DistributionModel {
  return {
    behaviors: [],
    origins: new Map(),
    originGroups: new Map(),
    buckets: new Map(),
    customErrors: [],
    cachePolicies: new Map(MANAGED_CACHE_POLICIES),
    originRequestPolicies: new Map(MANAGED_ORIGIN_REQUEST_POLICIES),
    responseHeadersPolicies: new Map(MANAGED_RESPONSE_HEADERS_POLICIES),
    keyGroups: new Map(),
    functions: new Map(),
    form,
  };
}

function readConfig(config: Json, model: DistributionModel, resources: Json): void {
  if (!config.DefaultCacheBehavior || !config.Origins)
    throw new ConfigReadError('no DistributionConfig with Origins and DefaultCacheBehavior in this JSON');
  model.behaviors = [
    ...list(config.CacheBehaviors).map((b) => readBehavior(b, false)),
    readBehavior(config.DefaultCacheBehavior, true),
  ];
  for (const o of list(config.Origins)) {
    const origin = readOrigin(o, resources);
    model.origins.set(origin.id, origin);
  }
  for (const g of list(config.OriginGroups)) {
    const members = list(obj(g).Members).map((m) => str(obj(m).OriginId));
    model.originGroups.set(str(obj(g).Id), members);
  }
  model.customErrors = list(config.CustomErrorResponses).map((e) => {
    const c = obj(e);
    return {
      errorCode: num(c.ErrorCode, 0),
      ...(c.ResponseCode !== undefined && c.ResponseCode !== '' ? { responseCode: num(c.ResponseCode, 0) } : {}),
      ...(typeof c.ResponsePagePath === 'string' && c.ResponsePagePath ? { page: c.ResponsePagePath } : {}),
    };
  });
}

/** A CloudFormation template: its one distribution, every reference resolved within the template. */
function readTemplate(resources: Json): DistributionModel {
  const model = emptyModel('template');
  const distributions = Object.entries(resources).filter(([, r]) => obj(r).Type === 'AWS::CloudFront::Distribution');
  if (distributions.length !== 1)
    throw new ConfigReadError(`the template declares ${distributions.length} distributions; check one at a time`);
  for (const [id, r] of Object.entries(resources)) {
    const p = obj(obj(r).Properties);
    const key = `ref:${id}`;
    switch (obj(r).Type) {
      case 'AWS::CloudFront::CachePolicy':
        model.cachePolicies.set(key, readCachePolicy(p.CachePolicyConfig));
        break;
      case 'AWS::CloudFront::OriginRequestPolicy':
        model.originRequestPolicies.set(key, readOriginRequestPolicy(p.OriginRequestPolicyConfig));
        break;
      case 'AWS::CloudFront::ResponseHeadersPolicy':
        model.responseHeadersPolicies.set(key, readResponseHeadersPolicy(p.ResponseHeadersPolicyConfig));
        break;
      case 'AWS::CloudFront::Function':
        model.functions.set(key, readFunction(p.FunctionConfig, p.FunctionCode));
        break;
      case 'AWS::S3::Bucket': {
        const block = obj(p.PublicAccessBlockConfiguration);
        const blocked = ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets'].every(
          (k) => block[k] === true || block[k] === 'true',
        );
        const previous = model.buckets.get(key);
        model.buckets.set(key, { publicAccessBlocked: blocked, statements: previous?.statements ?? [] });
        break;
      }
      case 'AWS::S3::BucketPolicy': {
        const bucket = ref(p.Bucket);
        const statements = list(obj(p.PolicyDocument).Statement).map(obj);
        const previous = model.buckets.get(bucket);
        model.buckets.set(bucket, {
          publicAccessBlocked: previous?.publicAccessBlocked ?? false,
          statements: [...(previous?.statements ?? []), ...statements],
        });
        break;
      }
      case 'AWS::CloudFront::KeyGroup': {
        const keyRefs = strings(obj(p.KeyGroupConfig).Items);
        const pems = keyRefs.map((k) => {
          const encoded = obj(obj(resources[k.slice(4)]).Properties).PublicKeyConfig;
          return str(obj(encoded).EncodedKey);
        });
        model.keyGroups.set(key, { keyIds: [], keyPems: pems.filter((p) => p !== '') });
        break;
      }
    }
  }
  const [, distribution] = distributions[0] ?? [];
  readConfig(obj(obj(obj(distribution).Properties).DistributionConfig), model, resources);
  return model;
}

/** One referenced document (`--with FILE`), added to the model under its ID. Returns what it was, for messages. */
export function addDocument(model: DistributionModel, doc: unknown, source: string): string {
  const d = obj(doc);
  const id = (o: Json): string => (typeof o.Id === 'string' ? o.Id : '');
  if (d.CachePolicy) {
    const c = obj(d.CachePolicy);
    model.cachePolicies.set(id(c), readCachePolicy(c.CachePolicyConfig));
    return `cache policy ${id(c)}`;
  }
  if (d.OriginRequestPolicy) {
    const c = obj(d.OriginRequestPolicy);
    model.originRequestPolicies.set(id(c), readOriginRequestPolicy(c.OriginRequestPolicyConfig));
    return `origin request policy ${id(c)}`;
  }
  if (d.ResponseHeadersPolicy) {
    const c = obj(d.ResponseHeadersPolicy);
    model.responseHeadersPolicies.set(id(c), readResponseHeadersPolicy(c.ResponseHeadersPolicyConfig));
    return `response headers policy ${id(c)}`;
  }
  if (d.KeyGroup) {
    const c = obj(d.KeyGroup);
    const group: KeyGroupModel = { keyIds: strings(obj(c.KeyGroupConfig).Items), keyPems: [] };
    model.keyGroups.set(id(c), group);
    return `key group ${id(c)}`;
  }
  if (d.FunctionSummary) {
    const s = obj(d.FunctionSummary);
    const arn = obj(s.FunctionMetadata).FunctionARN;
    if (typeof arn !== 'string') throw new ConfigReadError(`${source}: a function summary without FunctionARN`);
    model.functions.set(arn, readFunction(s.FunctionConfig));
    return `function ${arn}`;
  }
  throw new ConfigReadError(
    `${source} is none of: get-cache-policy, get-origin-request-policy, get-response-headers-policy, get-key-group, describe-function output`,
  );
}

/**
 * A distribution from `aws cloudfront get-distribution-config` (or get-distribution, or the bare
 * DistributionConfig), or from a CloudFormation template.
 */
export function readDistribution(doc: unknown): DistributionModel {
  const d = obj(doc);
  if (d.Resources) return readTemplate(obj(d.Resources));
  const config = obj(d.DistributionConfig ?? obj(d.Distribution).DistributionConfig ?? d);
  const model = emptyModel('api');
  readConfig(config, model, {});
  return model;
}

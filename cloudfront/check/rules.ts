import { COOKIE, SESSION_COOKIE, SESSION_PARAM, SIGNED_URL_PARAMS } from '../../server/core/cookies.ts';
import { LIVE_PLAYLIST_QUERY, MEDIA_EXTENSIONS, PLAYLIST_TTL } from '../delivery.ts';
import { CLOUDFRONT_FUNCTION } from '../function-source.ts';
import { MASTER_PLAYLIST, ROUTES, routePath } from '../../server/app/layout.ts';
import {
  behaviorFor,
  originsOf,
  type BehaviorModel,
  type CachePolicyModel,
  type DistributionModel,
  type NameList,
  type OriginModel,
} from './model.ts';

// What would break signed-cookie HLS behind a distribution, rule by rule. Each rule looks at the behaviors that
// would serve a video's files (found the way CloudFront finds them: sample paths of every file type the gateway
// serves, matched against the path patterns in order), so a distribution is judged by what it does, not by how its
// behaviors are named. A reference the checker cannot read is a problem too: "sound" means checked.

export const RULES = {
  'media-key-group': 'every file under /videos/, and every behavior reaching the media origin, requires the key group',
  'viewer-https': 'media and uploads over HTTPS only (a device link is a credential in its URL)',
  'private-origin': 'the media comes from a private origin (S3 with origin access control)',
  'cors-credentials': 'CORS allows credentials, from exact origins only',
  'cors-on-refusals': 'refusals reach the player as refusals (CORS headers on 403s, no rewritten error pages)',
  'playlist-ttl': 'playlists follow the origin and never freeze a live stream',
  'signing-not-in-cache-key': 'the signing parameters and cookies are never in a cache key',
  'live-directives': 'live playlists keep the delivery directives (_HLS_msn, _HLS_part, _HLS_skip) in the cache key',
  'session-function':
    'the session-control function runs on every media request (viewer request, with its KeyValueStore)',
  'key-group-key': "the key groups hold the gateway's key pair ID",
  uploads: 'signed uploads: PUT allowed, the key group, origin access control, x-amz-content-sha256 forwarded',
} as const;
export type RuleId = keyof typeof RULES;

export interface CheckContext {
  /** Judge playlists for a live stream (1 s at most, directives in the key). */
  live: boolean;
  sessionControl: boolean;
  uploads: boolean;
  /** The gateway's CLOUDFRONT_KEY_PAIR_ID (the API form's key groups list key IDs). */
  keyPairId?: string;
  /** The gateway's public key, PEM (a template's key groups list keys by their material). */
  publicKeyPem?: string;
  /** Page origins that must be allowed. */
  allowedOrigins: string[];
}

export interface RuleResult {
  rule: RuleId;
  title: string;
  problems: string[];
  notes: string[];
  /** Nothing to judge it by (the key rule without a key). */
  skipped?: boolean;
}

const SAMPLE_ID = 'abc';
/** A file of the sample video, by the gateway's own route (`/videos/abc/<file>`). */
const videoFile = (file: string) => routePath(ROUTES.media, { videoId: SAMPLE_ID }).replace(/\*$/, file);
const mediaPaths = MEDIA_EXTENSIONS.map((ext) => videoFile(`720p/file.${ext}`));
const playlistPaths = [videoFile(MASTER_PLAYLIST), videoFile('720p/index.m3u8')];
const uploadPath = routePath(ROUTES.uploadSource, { videoId: SAMPLE_ID });

/** Distinct behaviors serving `paths`, each with the paths it serves. */
function servingBehaviors(model: DistributionModel, paths: string[]): Map<BehaviorModel, string[]> {
  const out = new Map<BehaviorModel, string[]>();
  for (const path of paths) {
    const b = behaviorFor(model, path);
    if (b) out.set(b, [...(out.get(b) ?? []), path]);
  }
  return out;
}

/**
 * Whether a path pattern can match a path under /videos/ by its literal start (what comes before the first wildcard):
 * `/videos/...`, or a shorter start of it such as `/vid*`. A pattern like `/*.css` is judged by its origin instead.
 */
function couldServeVideos(pattern: string): boolean {
  const p = pattern.startsWith('/') ? pattern : `/${pattern}`;
  const literal = p.split(/[*?]/)[0] ?? '';
  return literal.startsWith('/videos/') || (literal.length > 1 && '/videos/'.startsWith(literal));
}

function exts(paths: string[]): string {
  return paths.map((p) => p.slice(p.lastIndexOf('.'))).join(' ');
}

function fetchHint(kind: string, id: string): string {
  return `aws cloudfront get-${kind} --id ${id} > ${kind}.json, then pass --with ${kind}.json`;
}

function cacheOf(model: DistributionModel, b: BehaviorModel, problems: string[]): CachePolicyModel | undefined {
  if (b.legacy) return b.legacy;
  const id = b.cachePolicyId ?? '';
  const policy = model.cachePolicies.get(id);
  if (!policy) problems.push(`${b.label}: cache policy ${id} not checked (${fetchHint('cache-policy', id)})`);
  return policy;
}

/** Names from `forbidden` that `list` puts in the key. */
function inKey(list: NameList, forbidden: readonly string[]): string[] {
  switch (list.behavior) {
    case 'all':
      return [...forbidden];
    case 'allExcept':
      return forbidden.filter((n) => !list.names.includes(n));
    case 'whitelist':
      return forbidden.filter((n) => list.names.includes(n));
    default:
      return [];
  }
}

/** Whether a header reaches the origin: by the origin request policy or the cache policy. */
function forwardsHeader(list: NameList | undefined, header: string): boolean {
  if (!list) return false;
  const names = list.names.map((n) => n.toLowerCase());
  if (list.behavior === 'allViewer' || list.behavior === 'allViewerAndWhitelistCloudFront' || list.behavior === 'all')
    return true;
  if (list.behavior === 'allExcept') return !names.includes(header);
  return list.behavior === 'whitelist' && names.includes(header);
}

const pemBody = (pem: string): string => pem.replace(/-----[^-]+-----|\s/g, '');

/** One origin behind a media (or uploads) behavior: private, reached through origin access control. */
function judgeOrigin(model: DistributionModel, b: BehaviorModel, origin: OriginModel, r: RuleResult): void {
  if (/s3-website/.test(origin.domainName))
    r.problems.push(
      `${b.label}: ${origin.domainName} is an S3 website endpoint, which serves public buckets only: use the bucket's REST endpoint with origin access control`,
    );
  else if (origin.s3 && !origin.oac && !origin.oai)
    r.problems.push(
      `${b.label}: the bucket ${origin.domainName} has neither origin access control nor an origin access identity, so it must be public: anyone can fetch every file from S3 without a grant`,
    );
  else if (origin.s3 && !origin.oac)
    r.notes.push(`${b.label}: an origin access identity (legacy); AWS recommends origin access control`);
  else if (!origin.s3)
    r.notes.push(
      `${b.label}: ${origin.domainName} is not an S3 bucket; it must not be reachable without CloudFront (hls-gate itself checks the cookies)`,
    );
  if (origin.oacSigning === 'never')
    r.problems.push(
      `${b.label}: the origin access control never signs (SigningBehavior never), so S3 sees anonymous requests`,
    );
  const bucket = origin.bucketRef ? model.buckets.get(origin.bucketRef) : undefined;
  if (!bucket) return;
  if (!bucket.publicAccessBlocked)
    r.problems.push(
      `${b.label}: ${origin.domainName} does not block every form of public access (PublicAccessBlockConfiguration)`,
    );
  for (const st of bucket.statements) {
    if (st.Effect !== 'Allow') continue;
    const principal = JSON.stringify(st.Principal ?? '');
    const condition = JSON.stringify(st.Condition ?? {});
    if (principal === '"*"' || /"AWS":"\*"|"AWS":\["\*"\]/.test(principal))
      r.problems.push(`${b.label}: the bucket policy allows anyone (Principal *) ${JSON.stringify(st.Action)}`);
    else if (principal.includes('cloudfront.amazonaws.com') && !/aws:SourceArn/i.test(condition))
      r.problems.push(
        `${b.label}: the bucket policy lets CloudFront in without an AWS:SourceArn condition, so any distribution can read (or write) the bucket`,
      );
  }
}

/** Runs every rule that applies; a rule with no problems passed. */
export function checkDistribution(model: DistributionModel, ctx: CheckContext): RuleResult[] {
  const results: RuleResult[] = [];
  const rule = (id: RuleId): RuleResult => {
    const r: RuleResult = { rule: id, title: RULES[id], problems: [], notes: [] };
    results.push(r);
    return r;
  };
  const media = servingBehaviors(model, [...playlistPaths, ...mediaPaths]);
  const playlists = servingBehaviors(model, playlistPaths);

  // Which origins hold the media: those the behaviors serving a video's files go to, and any origin with the same
  // domain (a second entry for the bucket, with another OriginPath, reaches the same objects).
  const mediaOrigins = new Set<OriginModel>([...media.keys()].flatMap((b) => originsOf(model, b.originId)));
  const mediaDomains = new Set([...mediaOrigins].map((o) => o.domainName));
  const reachesMedia = (b: BehaviorModel) => originsOf(model, b.originId).some((o) => mediaDomains.has(o.domainName));

  {
    const r = rule('media-key-group');
    const judged = new Set<BehaviorModel>();
    const require = (b: BehaviorModel, why: string) => {
      if (judged.has(b) || b.keyGroups.length > 0) return;
      judged.add(b);
      if (b.trustedSigners)
        r.notes.push(
          `${b.label} trusts signers (the account's legacy key pairs), not a key group: AWS recommends key groups`,
        );
      else
        r.problems.push(
          `${b.label} ${why} to anyone: it trusts no key group (set "Restrict viewer access" with the key group holding the gateway's public key)`,
        );
    };
    for (const [b, paths] of media) require(b, `serves ${exts(paths)}`);
    for (const b of model.behaviors) {
      if (b.unreadable)
        r.problems.push(`${b.label} is not shaped as documented (a condition or intrinsic?): cannot be judged`);
      else if (reachesMedia(b)) require(b, 'reaches the media origin');
      else if (couldServeVideos(b.pathPattern)) require(b, 'can match paths under /videos/');
    }
  }

  {
    const r = rule('viewer-https');
    const behaviors = new Set([...media.keys(), ...(ctx.uploads ? [behaviorFor(model, uploadPath)] : [])]);
    for (const b of behaviors)
      if (b && b.viewerProtocolPolicy !== 'https-only' && b.viewerProtocolPolicy !== 'redirect-to-https')
        r.problems.push(
          `${b.label} answers plain HTTP (ViewerProtocolPolicy ${b.viewerProtocolPolicy}): signed URLs travel in cleartext and the Secure cookies are not sent; use https-only`,
        );
  }

  {
    const r = rule('private-origin');
    const behaviors = ctx.uploads ? [...media.keys(), behaviorFor(model, uploadPath)] : [...media.keys()];
    const judged = new Set<OriginModel>();
    for (const b of new Set(behaviors)) {
      if (!b) continue;
      const origins = originsOf(model, b.originId);
      if (origins.length === 0) {
        r.problems.push(`${b.label} targets origin "${b.originId}", which the distribution does not declare`);
        continue;
      }
      for (const origin of origins) {
        if (judged.has(origin)) continue;
        judged.add(origin);
        judgeOrigin(model, b, origin, r);
      }
    }
  }

  const cors = rule('cors-credentials');
  const refusals = rule('cors-on-refusals');
  for (const [b] of media) {
    const id = b.responseHeadersPolicyId;
    if (!id) {
      refusals.problems.push(
        `${b.label} has no response headers policy: CloudFront's own 403 (a missing or expired cookie) and S3's errors go out without CORS headers, so the player sees a network error instead of a refusal and cannot renew its grant`,
      );
      cors.notes.push(`${b.label}: CORS is left to the origin (not checked)`);
      continue;
    }
    const policy = model.responseHeadersPolicies.get(id);
    if (!policy) {
      cors.problems.push(
        `${b.label}: response headers policy ${id} not checked (${fetchHint('response-headers-policy', id)})`,
      );
      continue;
    }
    const c = policy.cors;
    if (!c) {
      refusals.problems.push(`${b.label}: its response headers policy sets no CORS headers, on refusals or otherwise`);
      continue;
    }
    if (c.origins.includes('*'))
      cors.problems.push(
        `${b.label}: Access-Control-Allow-Origin * (browsers refuse it for requests with credentials: list the page origins)`,
      );
    for (const o of c.origins.filter((o) => o !== '*' && !/^https:\/\/[^*/]+$/.test(o)))
      cors.problems.push(
        `${b.label}: allowed origin "${o}" is not one exact https origin (a page over http, null or a pattern would get the viewer's media with credentials)`,
      );
    if (!c.credentials)
      cors.problems.push(`${b.label}: Access-Control-Allow-Credentials is off, so the browser never sends the cookies`);
    if (c.headers.includes('*') && c.credentials)
      cors.problems.push(
        `${b.label}: Access-Control-Allow-Headers * with credentials (CloudFront and browsers refuse it)`,
      );
    for (const o of ctx.allowedOrigins)
      if (!c.origins.includes(o) && !c.origins.includes('*'))
        cors.problems.push(`${b.label}: ${o} is not an allowed origin`);
  }
  for (const e of model.customErrors) {
    if (e.errorCode !== 403 && e.errorCode !== 401) continue;
    if (e.responseCode !== undefined && e.responseCode !== e.errorCode)
      refusals.problems.push(
        `a custom error response turns ${e.errorCode} into ${e.responseCode}${e.page ? ` (${e.page})` : ''}: a refused player is handed something else and cannot tell it was refused`,
      );
    else if (e.page) refusals.notes.push(`${e.errorCode} answers carry ${e.page} (the status stays ${e.errorCode})`);
  }

  {
    const r = rule('playlist-ttl');
    for (const [b] of playlists) {
      const c = cacheOf(model, b, r.problems);
      if (!c) continue;
      if (c.ttl.min > 0)
        r.problems.push(
          `${b.label}: playlists kept at least ${c.ttl.min} s whatever the origin says (MinTTL): a live playlist, and a low-latency one marked no-cache, is handed out stale; set MinTTL 0`,
        );
      const live = PLAYLIST_TTL.live;
      if (ctx.live && (c.ttl.default > live.default || c.ttl.max > live.max))
        r.problems.push(
          `${b.label}: live playlists kept up to ${Math.max(c.ttl.default, c.ttl.max)} s (DefaultTTL ${c.ttl.default}, MaxTTL ${c.ttl.max}): players are handed the same window again and playback freezes; at most ${live.max} s`,
        );
    }
  }

  {
    const r = rule('signing-not-in-cache-key');
    const params = [...SIGNED_URL_PARAMS, SESSION_PARAM];
    const cookies = [...Object.values(COOKIE), SESSION_COOKIE];
    for (const [b] of media) {
      const c = cacheOf(model, b, r.problems);
      if (!c) continue;
      const q = inKey(c.query, params);
      if (q.length)
        r.problems.push(
          `${b.label}: the query strings ${q.join(', ')} are in the cache key: every signed URL gets its own copy of each file`,
        );
      const k = inKey(c.cookies, cookies);
      if (k.length)
        r.problems.push(
          `${b.label}: the cookies ${k.join(', ')} are in the cache key: every viewer gets their own copy of each file`,
        );
    }
  }

  if (ctx.live) {
    const r = rule('live-directives');
    for (const [b] of playlists) {
      const c = cacheOf(model, b, r.problems);
      if (!c) continue;
      const missing = LIVE_PLAYLIST_QUERY.filter((n) => !inKey(c.query, [n]).length);
      if (missing.length)
        r.problems.push(
          `${b.label}: ${missing.join(', ')} not in the cache key: low-latency players asking for different parts are handed the same cached playlist`,
        );
    }
  }

  if (ctx.sessionControl) {
    const r = rule('session-function');
    for (const [b] of media) {
      const fn = b.functions.find((f) => f.eventType === 'viewer-request');
      if (!fn) {
        r.problems.push(
          `${b.label}: no viewer-request function: revoked viewers and sessions keep playing until their cookies expire (hls-gate cloudfront function)`,
        );
        continue;
      }
      const summary = model.functions.get(fn.ref);
      if (!summary) {
        r.problems.push(
          `${b.label}: function ${fn.ref} not checked (aws cloudfront describe-function --name NAME > function.json, then --with function.json)`,
        );
        continue;
      }
      if (summary.code !== undefined && summary.code !== CLOUDFRONT_FUNCTION)
        r.problems.push(
          `${b.label}: the viewer-request function is not hls-gate's (its code differs from hls-gate cloudfront function)`,
        );
      if (summary.runtime !== 'cloudfront-js-2.0')
        r.problems.push(
          `${b.label}: the function's runtime is "${summary.runtime}"; a KeyValueStore needs cloudfront-js-2.0`,
        );
      if (summary.keyValueStores < 1)
        r.problems.push(
          `${b.label}: the function has no KeyValueStore associated, so it cannot read revocations (it refuses every request)`,
        );
    }
  }

  {
    const r = rule('key-group-key');
    const byMaterial = model.form === 'template';
    if (byMaterial ? !ctx.publicKeyPem : !ctx.keyPairId) {
      r.skipped = true;
      r.notes.push(
        byMaterial
          ? "a template's key groups name their keys by material (the IDs exist once deployed): pass --public-key FILE"
          : 'no key given: pass --key-pair-id (or set CLOUDFRONT_KEY_PAIR_ID)',
      );
    } else
      for (const [b] of media) {
        if (b.keyGroups.length === 0) continue; // media-key-group says it
        const groups = b.keyGroups.map((id) => ({ id, group: model.keyGroups.get(id) }));
        const holds = groups.some(
          ({ group }) =>
            group &&
            (byMaterial
              ? group.keyPems.some((p) => pemBody(p) === pemBody(ctx.publicKeyPem ?? ''))
              : group.keyIds.includes(ctx.keyPairId ?? '')),
        );
        if (holds) continue;
        const unknown = groups.filter((g) => !g.group).map((g) => g.id);
        if (unknown.length)
          r.problems.push(
            `${b.label}: key group ${unknown.join(', ')} not checked (${fetchHint('key-group', unknown[0] ?? '')})`,
          );
        else
          r.problems.push(
            `${b.label}: no trusted key group holds ${byMaterial ? 'the given public key' : ctx.keyPairId}: every grant the gateway signs is refused (InvalidKey)`,
          );
      }
  }

  if (ctx.uploads) {
    const r = rule('uploads');
    const b = behaviorFor(model, uploadPath);
    if (!b) r.problems.push(`nothing serves ${uploadPath}`);
    else {
      if (!b.allowedMethods.includes('PUT'))
        r.problems.push(
          `${b.label} does not allow PUT (allowed methods must be GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE)`,
        );
      if (b.keyGroups.length === 0) r.problems.push(`${b.label} trusts no key group: anyone can write into the bucket`);
      if (originsOf(model, b.originId).some((o) => o.s3 && !o.oac))
        r.problems.push(
          `${b.label}: uploads need origin access control (with an origin access identity S3 also wants x-amz-acl: bucket-owner-full-control on every PUT)`,
        );
      const orp = b.originRequestPolicyId ? model.originRequestPolicies.get(b.originRequestPolicyId) : undefined;
      if (b.originRequestPolicyId && !orp)
        r.problems.push(
          `${b.label}: origin request policy ${b.originRequestPolicyId} not checked (${fetchHint('origin-request-policy', b.originRequestPolicyId)})`,
        );
      const cache = cacheOf(model, b, r.problems);
      if (
        (orp || !b.originRequestPolicyId) &&
        !forwardsHeader(orp?.headers, 'x-amz-content-sha256') &&
        !forwardsHeader(cache?.headers, 'x-amz-content-sha256')
      )
        r.problems.push(
          `${b.label}: x-amz-content-sha256 is not forwarded, so S3 cannot check the body of a signed upload`,
        );
      if (
        (orp || !b.originRequestPolicyId) &&
        !forwardsHeader(orp?.headers, 'origin') &&
        !forwardsHeader(cache?.headers, 'origin')
      )
        r.problems.push(
          `${b.label}: Origin is not forwarded, so S3 cannot answer a browser's upload preflight from the bucket's CORS rules`,
        );
      const rhp = b.responseHeadersPolicyId ? model.responseHeadersPolicies.get(b.responseHeadersPolicyId) : undefined;
      const c = rhp?.cors;
      if (!c || !(c.methods.includes('PUT') || c.methods.includes('ALL')))
        r.problems.push(`${b.label}: no CORS policy allowing PUT, so a browser cannot upload from another origin`);
      else if (!c.headers.includes('*') && !c.headers.map((h) => h.toLowerCase()).includes('x-amz-content-sha256'))
        r.problems.push(`${b.label}: CORS does not allow the x-amz-content-sha256 request header`);
    }
  }
  return results;
}

/** The rules' verdict: sound when no rule found a problem. */
export function isSound(results: readonly RuleResult[]): boolean {
  return results.every((r) => r.problems.length === 0);
}

import { ROUTES } from '../server/app/layout.ts';
import { DIRECTIVE_NAMES } from '../server/app/ll-hls.ts';
import { TYPES } from '../server/app/mime.ts';

// How a CloudFront distribution must deliver hls-gate's URL space, in one place: `hls-gate cloudfront stack` builds
// it and `hls-gate cloudfront check` holds an existing distribution to it. The paths come from the gateway's own
// routes (server/app/layout.ts), so the distribution covers exactly what the gateway signs cookies for.

/** `/videos/:videoId/*` -> `/videos/*`: the first segment of a route, as a CloudFront path pattern. */
function scope(route: string): string {
  return `/${route.split('/')[1]}/*`;
}

/**
 * The cache behaviors' path patterns. CloudFront matches them in order, `*` matching any characters including `/`,
 * case-sensitively (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html#DownloadDistValuesPathPattern),
 * so playlists come before the rest of a video's files.
 */
export const PATHS = {
  playlists: `${scope(ROUTES.media)}.m3u8`,
  media: scope(ROUTES.media),
  api: scope(ROUTES.access),
  uploads: scope(ROUTES.uploadSource),
} as const;

/**
 * Bucket key prefixes. Behind CloudFront a key equals its URL path (server/app/layout.ts, originKey): a video's
 * files are `videos/<id>/...`, a signed upload lands at `uploads/<id>/source`.
 */
export const MEDIA_PREFIX = ROUTES.media.split('/')[1] ?? 'videos';
export const UPLOADS_PREFIX = ROUTES.uploadSource.split('/')[1] ?? 'uploads';

/** Seconds; CloudFront's cache policy TTLs (MinTTL <= DefaultTTL <= MaxTTL). */
export interface Ttl {
  min: number;
  default: number;
  max: number;
}

/**
 * Segments, init segments, keys and posters never change under their name once written (a live packager writes a
 * new name for each): cached long. A day when the origin says nothing, so a video re-packaged under the same ID
 * shows within a day without an invalidation; up to a year when the origin says so. AWS's live guidance caches
 * segments 14 days (https://docs.aws.amazon.com/mediapackage/latest/ug/cdns.html).
 */
export const SEGMENT_TTL: Ttl = { min: 0, default: 86_400, max: 31_536_000 };

/**
 * Playlists. MinTTL is always 0, so the origin's `Cache-Control` wins (hls-gate's low-latency playlists are
 * `private, no-cache`: never kept). On demand a playlist is kept a minute by default. Live: at most 1 s, about half
 * a 2 s segment (hls-gate live's segment length) and AWS's figure for low-latency playlists
 * (https://docs.aws.amazon.com/mediapackage/latest/ug/cdns.html); any longer and a player is handed the same window
 * again and again, and playback freezes.
 */
export const PLAYLIST_TTL: Readonly<Record<'onDemand' | 'live', Ttl>> = {
  onDemand: { min: 0, default: 60, max: 3_600 },
  live: { min: 0, default: 1, max: 1 },
};

/**
 * Query parameters a live playlist's cache key keeps: the delivery directives, because the answer depends on them
 * (RFC 8216bis 6.2.5). Nothing else: the signed-URL parameters and the session parameter differ per viewer and
 * would give each viewer their own copy of every file (CloudFront checks them before the cache either way).
 */
export const LIVE_PLAYLIST_QUERY: readonly string[] = DIRECTIVE_NAMES;

/** File extensions a video's folder holds (the gateway's MIME table): each must be served behind the key group. */
export const MEDIA_EXTENSIONS: readonly string[] = Object.keys(TYPES);

/**
 * Headers a browser may send on a media request across origins. A media request must stay a CORS "simple" request:
 * a preflight (OPTIONS) carries no cookies, so CloudFront would refuse it on a behavior that trusts a key group.
 * `Range` is safelisted for a single range (https://fetch.spec.whatwg.org/#cors-safelisted-request-header).
 */
export const MEDIA_REQUEST_HEADERS: readonly string[] = ['Range'];

/**
 * Response headers a player reads across origins: hls.js uses `Age` to time low-latency reloads (hls.js #4915),
 * `Content-Range` and `Content-Length` for byte ranges.
 */
export const MEDIA_EXPOSED_HEADERS: readonly string[] = ['Age', 'Content-Length', 'Content-Range', 'ETag'];

/**
 * What a signed upload's PUT carries that S3 must see: with origin access control CloudFront signs the request to
 * S3 with SigV4 and the viewer supplies the body's SHA-256 (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html).
 */
export const UPLOAD_REQUEST_HEADERS: readonly string[] = ['x-amz-content-sha256', 'Content-Type'];

/**
 * What S3 needs to answer a browser's upload preflight from the bucket's CORS rules: the request's Origin and the
 * preflight's Access-Control-Request-* headers (the set AWS's managed CORS-S3Origin policy forwards,
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html).
 */
export const PREFLIGHT_HEADERS: readonly string[] = [
  'Origin',
  'Access-Control-Request-Method',
  'Access-Control-Request-Headers',
];

/**
 * How long CloudFront keeps an error from the bucket. The distribution may read objects but not list the bucket,
 * so S3 answers 403 for a file not written yet (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html);
 * CloudFront's default of 10 s would hand a live player that asked a moment early the same 403 for 10 s.
 */
export const ERROR_CACHING_SECONDS = 1;

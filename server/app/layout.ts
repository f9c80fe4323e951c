import type { Context } from 'hono';

// The URL layout of the gateway, in one place: every video's files live under `/videos/<id>/` (its playlists,
// segments, init segments and keys: one grant, one cookie Path, one policy Resource), the viewer API under `/api/`.
// When the gateway is mounted inside a host app (`app.route('/media', gateway)`), every path gains the mount
// prefix, which is read from the route Hono matched, so the same code serves at `/` and at any prefix.

export const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Every route of the gateway, as Hono patterns relative to where it is mounted. */
export const ROUTES = {
  health: '/healthz',
  /** Ready to serve: keys loaded, catalog valid, session store reachable (503 with the failing check otherwise). */
  ready: '/readyz',
  catalog: '/api/videos',
  access: '/api/videos/:videoId/access',
  deviceLink: '/api/videos/:videoId/device-link',
  demoToken: '/api/demo/token',
  uploads: '/api/uploads',
  upload: '/api/uploads/:videoId',
  uploadSource: '/uploads/:videoId/source',
  admin: '/api/admin/*',
  revocations: '/api/admin/revocations',
  media: '/videos/:videoId/*',
  playerPage: '/',
  /** The page with a trailing slash at a mount point (`/media/`); at the root `/` is playerPage itself. */
  playerPageSlash: '/:slash{/?}',
  playerFile: '/:file{[A-Za-z0-9_-]+\\.(?:js|css|map|html|svg|png|ico)}',
} as const;

/** The routes that issue a grant (on POST), and what they issue: what metrics and traces count as grants. */
export const GRANT_ROUTES: ReadonlyMap<string, 'cookies' | 'device-link' | 'upload-url'> = new Map([
  [ROUTES.access, 'cookies'],
  [ROUTES.deviceLink, 'device-link'],
  [ROUTES.uploads, 'upload-url'],
]);

/** Routes only the gateway's own origin calls: the health and readiness checks and the player page's files. */
const SAME_ORIGIN: readonly string[] = [
  ROUTES.health,
  ROUTES.ready,
  ROUTES.playerPage,
  ROUTES.playerPageSlash,
  ROUTES.playerFile,
];

/**
 * The URL spaces a page on another origin calls (the API, the media, the signed upload PUT), each as `/<first
 * segment>/*`: CORS (app/cors.ts) is mounted on every one, derived from ROUTES so that a new space cannot be missed
 * (a literal list once missed `/uploads/*`).
 */
export const CROSS_ORIGIN_SCOPES: readonly string[] = [
  ...new Set(
    Object.values(ROUTES)
      .filter((r) => !SAME_ORIGIN.includes(r))
      .map((r) => `/${r.split('/')[1]}/*`),
  ),
];

/** A route with its parameters filled in (each encoded as one path segment): `routePath(ROUTES.access, { videoId })`. */
export function routePath(route: string, params: Record<string, string>): string {
  return route.replace(/:([A-Za-z]+)/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
}

/** Every video's top playlist: what a grant's playlistUrl names, and (written last) what makes a video published. */
export const MASTER_PLAYLIST = 'master.m3u8';

/**
 * Where a video's files are kept. On disk (MEDIA_DIR) and in R2 a video is the folder `<id>/`, the gateway's storage
 * key for the URL `/videos/<id>/<file>`. In an S3 bucket behind CloudFront it is `videos/<id>/`: there CloudFront
 * serves the bucket itself, so each key must equal its URL path (without the leading slash).
 */
export function storageKey(videoId: string, file: string): string {
  return `${videoId}/${file}`;
}

/** The S3 key of a video's file when CloudFront serves the bucket: the URL path of `storageKey`. */
export function originKey(videoId: string, file: string): string {
  return `videos/${storageKey(videoId, file)}`;
}

/**
 * A video is published once its master playlist exists: every publisher writes it last, so a player never finds a
 * half-published video, and a folder without one is not listed.
 */
export function publishedKey(videoId: string): string {
  return storageKey(videoId, MASTER_PLAYLIST);
}

/**
 * Uploads are kept beside the media under `.uploads/<id>/` (the source, its owner's reservation, the body's claim,
 * the packaging state): no video ID starts with ".", so no media URL can reach them.
 */
export const UPLOADS_FOLDER = '.uploads';
export function uploadKey(videoId: string, part: 'source' | 'reservation' | 'claim' | 'state.json'): string {
  return `${UPLOADS_FOLDER}/${videoId}/${part}`;
}

/** A video being packaged is written to a `.package-<id>-*` folder beside the media, then renamed into place. */
export const PACKAGING_PREFIX = '.package-';

/** The path the gateway is mounted at ('' at the root), from the route pattern this handler was registered with. */
export function mountPrefix(c: Context, ownPattern: string): string {
  const matched = c.req.routePath;
  // Hono joins a mount path and '/' as the mount path alone ('/media', not '/media/').
  if (ownPattern === '/') return matched === '/' ? '' : matched;
  return matched.endsWith(ownPattern) ? matched.slice(0, matched.length - ownPattern.length) : '';
}

/** `<prefix>/videos/<id>/`: the folder a grant covers, and its cookies' Path. */
export function videoFolder(prefix: string, videoId: string): string {
  return `${prefix}/videos/${videoId}/`;
}

// Turns the part of a media URL after /videos/<id>/ into a storage key, refusing anything that could leave the
// video's folder by any encoding: dot segments, empty segments, encoded separators (%2f, %5c), backslashes,
// NUL and double encoding (a `%` left after decoding once). WHATWG URL parsing has already resolved literal and
// %2e dot segments, so a request can never even reach here with `..` unless it was disguised.
export function mediaKey(videoId: string, rawRest: string): string | null {
  if (!VIDEO_ID.test(videoId) || rawRest.length === 0 || rawRest.length > 1024) return null;
  const out: string[] = [];
  for (const raw of rawRest.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (seg === '' || seg === '.' || seg === '..' || /[/\\\u0000-\u001f%]/.test(seg)) return null;
    out.push(seg);
  }
  return `${videoId}/${out.join('/')}`;
}

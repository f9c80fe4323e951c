import type { Context } from 'hono';

// The URL layout of the gateway, in one place: every video's files live under `/videos/<id>/` (its playlists,
// segments, init segments and keys: one grant, one cookie Path, one policy Resource), the viewer API under `/api/`.
// When the gateway is mounted inside a host app (`app.route('/media', gateway)`), every path gains the mount
// prefix, which is read from the route Hono matched, so the same code serves at `/` and at any prefix.

export const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;

export const ROUTES = {
  access: '/api/videos/:videoId/access',
  deviceLink: '/api/videos/:videoId/device-link',
  catalog: '/api/videos',
  demoToken: '/api/demo/token',
  media: '/videos/:videoId/*',
  health: '/healthz',
} as const;

/** The path the gateway is mounted at ('' at the root), from the route pattern this handler was registered with. */
export function mountPrefix(c: Context, ownPattern: string): string {
  const matched = c.req.routePath;
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

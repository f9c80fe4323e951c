import type { StoredObject } from './storage.ts';
import { problem } from './responses.ts';

// Tokenized playlists (device links): a playlist requested with a signed-URL query is returned with the same query
// appended to every URI that belongs to the same video, so a device without cookies (AirPlay, Chromecast, a TV,
// VLC, ffmpeg) carries the grant to every child: variant and rendition playlists, segments (with or without
// EXT-X-BYTERANGE), EXT-X-MAP, EXT-X-KEY / EXT-X-SESSION-KEY, EXT-X-SESSION-DATA, and LL-HLS EXT-X-PART,
// EXT-X-PRELOAD-HINT and EXT-X-RENDITION-REPORT (RFC 8216 and draft-pantos-hls-rfc8216bis). An existing query is
// kept (the token is added after it); every other byte of the playlist is unchanged.
//
// Which URIs get the token is decided conservatively, because the player, not hls-gate, resolves them, and parsers
// disagree: WHATWG URL (browsers, hls.js) turns `\` into `/`, drops tabs and newlines and decodes `%2e` as a dot,
// while RFC 3986 readers (ffmpeg, AVPlayer) keep them, so `http://gw\@other/../videos/v/a.ts` is a file of video
// v to one and a request to `other` to the other; ffmpeg also ends a line at a lone CR, hls.js at U+2028. So the
// token goes only on a URI that every reading resolves to the same place inside the video's folder on the same
// origin (ownUri below): a relative path of plain segments from a strict character set, an absolute path, or the
// media origin written exactly as the gateway writes it; in a line that every reading splits the same way. Any
// other URI is left exactly as it is, without the token (it may still play if it needs no grant).
//
// Size: a playlist over MAX_PLAYLIST_BYTES (known from storage metadata before any byte is read) or
// MAX_PLAYLIST_LINES is refused with `500 playlist-too-large`; an allowed one is tokenized a slice of lines at a
// time, each slice a task of its own, so the event loop keeps answering other requests, and the answer is streamed
// as the client reads it rather than built whole.

/** Tags whose URI="..." attribute names a resource of the stream. */
const URI_TAGS = new Set([
  '#EXT-X-MEDIA:',
  '#EXT-X-I-FRAME-STREAM-INF:',
  '#EXT-X-MAP:',
  '#EXT-X-KEY:',
  '#EXT-X-SESSION-KEY:',
  '#EXT-X-SESSION-DATA:',
  '#EXT-X-PART:',
  '#EXT-X-PRELOAD-HINT:',
  '#EXT-X-RENDITION-REPORT:',
]);

/** Playlists larger than this are refused for tokenizing (a 10,000-segment playlist is ~300 KB). */
export const MAX_PLAYLIST_BYTES = 4 * 1024 * 1024;
/** Playlists with more lines than this are refused for tokenizing (six hours of 1 s segments are ~65,000 lines). */
export const MAX_PLAYLIST_LINES = 100_000;
/** Longer lines are left alone (a URI of the stream is far shorter): the work per line stays small. */
const MAX_LINE_CHARS = 16 * 1024;
/** A playlist this small (up to ~1,000 segments) is tokenized in one go, and answered with a Content-Length. */
const WHOLE_LINES = 2000;
const WHOLE_BYTES = 64 * 1024;
/** One slice of tokenizing, one task: at most this many lines, or about this many bytes of the playlist. */
const SLICE_LINES = 128;
const SLICE_BYTES = 16 * 1024;
/** Reading a playlist yields to other tasks after each this many bytes. */
const READ_YIELD_BYTES = 128 * 1024;

/**
 * Characters allowed in a tokenized URI (after the origin, when it is written): RFC 3986 unreserved, the sub-delims
 * but `;` (a path parameter, `..;/`, to some servers), `/`, `?`, `#`, and `%` (checked below). Never `\`, `@`, `:`,
 * whitespace, controls, quotes, `{}` (HLS variables) or anything non-ASCII.
 */
const URI_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,=/?#%]+$/;
/** A percent-escape is allowed only for a byte that means nothing to any parser: never `.`, `/`, `\`, `%`, etc. */
const SAFE_ESCAPE = /^[A-Za-z0-9\-_~ !$&'()*+,=]$/;
/** `%` not followed by two hex digits. */
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
const ESCAPES = /%([0-9A-Fa-f]{2})/g;

/**
 * One attribute of a tag's attribute list, read strictly (RFC 8216 section 4.2): an upper-case name, `=`, a quoted
 * string without quotes, backslashes (ffmpeg reads `\"` as an escape), controls or line separators, or an unquoted
 * value without those, commas or whitespace; then a comma (and spaces, which every reader skips) or the end.
 */
const ATTRIBUTE =
  /([A-Z0-9-]+)=("[^"\\\u0000-\u001f\u007f-\u009f\u2028\u2029]*"|[^",\\\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+)(, *|$)/y;

interface Scope {
  /** `https://media.example.com` */
  origin: string;
  /** `/videos/abc/` */
  folder: string;
  /** The playlist's own directory, e.g. `/videos/abc/720p/`. */
  dir: string;
}

function scopeOf(playlistUrl: string, folderUrl: string): Scope | null {
  let playlist: URL;
  let folder: URL;
  try {
    playlist = new URL(playlistUrl);
    folder = new URL(folderUrl);
  } catch {
    return null;
  }
  const origin = folder.origin;
  // The folder must be written plainly (the gateway builds it so): then a URI written with that origin means it.
  if (origin === 'null' || folderUrl !== `${origin}${folder.pathname}` || !folder.pathname.endsWith('/')) return null;
  if (playlist.origin !== origin || !playlist.pathname.startsWith(folder.pathname)) return null;
  return { origin, folder: folder.pathname, dir: playlist.pathname.slice(0, playlist.pathname.lastIndexOf('/') + 1) };
}

/**
 * Whether `uri` names a file inside the video's folder for every common reading (WHATWG, RFC 3986 as ffmpeg and
 * AVPlayer apply it): the exact origin followed by an absolute path, an absolute path, or a relative path; plain
 * non-empty segments only (`.` and `..` only as a leading run of a relative path, never climbing out of the folder);
 * then an optional query and fragment of the same characters.
 */
function ownUri(uri: string, scope: Scope): boolean {
  let rest = uri;
  let absolute = false;
  if (rest.startsWith(`${scope.origin}/`)) {
    rest = rest.slice(scope.origin.length);
    absolute = true;
  }
  if (!URI_CHARS.test(rest)) return false;
  if (rest.includes('%')) {
    if (BAD_PERCENT.test(rest)) return false;
    for (const m of rest.matchAll(ESCAPES))
      if (!SAFE_ESCAPE.test(String.fromCharCode(parseInt(m[1]!, 16)))) return false;
  }
  const hash = rest.indexOf('#');
  if (hash >= 0 && rest.indexOf('#', hash + 1) >= 0) return false;
  const beforeHash = hash < 0 ? rest : rest.slice(0, hash);
  const query = beforeHash.indexOf('?');
  const path = query < 0 ? beforeHash : beforeHash.slice(0, query);
  if (path.startsWith('/')) absolute = true;
  const segments = (absolute ? path.slice(1) : path).split('/');
  let dir = absolute ? '/' : scope.dir;
  let i = 0;
  if (!absolute) {
    for (; i < segments.length && (segments[i] === '.' || segments[i] === '..'); i++) {
      if (segments[i] === '..') {
        const up = dir.slice(0, dir.lastIndexOf('/', dir.length - 2) + 1);
        if (!up.startsWith(scope.folder)) return false; // never leaves the folder, not even on the way
        dir = up;
      }
    }
  }
  if (i === segments.length) return false; // no file named (`..`, `?x`, `#x`, empty)
  for (let j = i; j < segments.length; j++)
    if (segments[j] === '' || segments[j] === '.' || segments[j] === '..') return false;
  return `${dir}${segments.slice(i).join('/')}`.startsWith(scope.folder);
}

/** `uri` with `token` appended to its query (before any fragment). */
function withToken(uri: string, token: string): string {
  const hash = uri.indexOf('#');
  const [body, fragment] = hash < 0 ? [uri, ''] : [uri.slice(0, hash), uri.slice(hash)];
  return `${body}${body.includes('?') ? '&' : '?'}${token}${fragment}`;
}

/** One line of the playlist (without its `\n`), tokenized. */
function tokenizeLine(raw: string, scope: Scope, token: string): string {
  const cr = raw.endsWith('\r') ? '\r' : '';
  const line = cr ? raw.slice(0, -1) : raw;
  if (line.length === 0 || line.length > MAX_LINE_CHARS) return raw;
  if (line.charCodeAt(0) !== 0x23 /* # */) {
    // A URI line: the whole line but trailing spaces and tabs (which every reader drops) is the URI.
    let end = line.length;
    while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
    const uri = line.slice(0, end);
    return ownUri(uri, scope) ? `${withToken(uri, token)}${line.slice(end)}${cr}` : raw;
  }
  const colon = line.indexOf(':');
  if (colon < 0 || !URI_TAGS.has(line.slice(0, colon + 1))) return raw;
  // A second `#` could start a tag to a parser that looks for tags anywhere in a line (hls.js does for some).
  if (line.indexOf('#', 1) >= 0) return raw;
  // The attribute list must read strictly, with exactly one quoted URI attribute; otherwise the line is left alone.
  ATTRIBUTE.lastIndex = colon + 1;
  let uriAt = -1;
  let uriEnd = -1;
  for (;;) {
    const at = ATTRIBUTE.lastIndex;
    const m = ATTRIBUTE.exec(line);
    if (!m) return raw;
    if (m[1] === 'URI') {
      if (uriAt >= 0 || !m[2]!.startsWith('"')) return raw;
      uriAt = at + m[1].length + 2;
      uriEnd = uriAt + m[2]!.length - 2;
    }
    if (m[3] === '') break;
  }
  if (uriAt < 0) return raw;
  const uri = line.slice(uriAt, uriEnd);
  return ownUri(uri, scope) ? `${line.slice(0, uriAt)}${withToken(uri, token)}${line.slice(uriEnd)}${cr}` : raw;
}

/**
 * Appends `token` (a query string without `?`) to each URI of `text` that is a file inside `folderUrl`
 * (`https://media.example.com/videos/abc/`) for every common URI parser, `text` being the playlist at `playlistUrl`.
 */
export function tokenizePlaylist(text: string, playlistUrl: string, folderUrl: string, token: string): string {
  const scope = scopeOf(playlistUrl, folderUrl);
  if (!scope) return text;
  return text
    .split('\n')
    .map((raw) => tokenizeLine(raw, scope, token))
    .join('\n');
}

/** The number of LF bytes in `bytes`, counted up to `max + 1`. */
function countNewlines(bytes: Uint8Array, max: number): number {
  let n = 0;
  for (let at = bytes.indexOf(0x0a); at >= 0 && n <= max; at = bytes.indexOf(0x0a, at + 1)) n++;
  return n;
}

/**
 * The playlist's bytes, or null when it holds more than MAX_PLAYLIST_BYTES (it may have grown since its size was
 * read) or MAX_PLAYLIST_LINES; reading stops there, and the rest is never read. A stream is read into one buffer of
 * its stored size, lines counted as it comes, a task at a time every READ_YIELD_BYTES.
 */
export async function readPlaylist(object: StoredObject): Promise<Uint8Array | null> {
  const body = object.body;
  const linesOf = (bytes: Uint8Array, newlines: number) =>
    newlines + (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a ? 1 : 0);
  if (body instanceof Uint8Array) {
    return body.byteLength > MAX_PLAYLIST_BYTES ||
      linesOf(body, countNewlines(body, MAX_PLAYLIST_LINES)) > MAX_PLAYLIST_LINES
      ? null
      : body;
  }
  const reader = body.getReader();
  let buffer = new Uint8Array(Math.min(object.meta.size, MAX_PLAYLIST_BYTES));
  let length = 0;
  let newlines = 0;
  let unyielded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    newlines += countNewlines(value, MAX_PLAYLIST_LINES);
    if (length + value.byteLength > MAX_PLAYLIST_BYTES || newlines > MAX_PLAYLIST_LINES) {
      await reader.cancel().catch(() => {});
      return null;
    }
    if (length + value.byteLength > buffer.length) {
      const grown = new Uint8Array(
        Math.min(MAX_PLAYLIST_BYTES, Math.max(2 * buffer.length, length + value.byteLength)),
      );
      grown.set(buffer.subarray(0, length));
      buffer = grown;
    }
    buffer.set(value, length);
    length += value.byteLength;
    unyielded += value.byteLength;
    if (unyielded >= READ_YIELD_BYTES) {
      unyielded = 0;
      await nextTask();
    }
  }
  const bytes = buffer.subarray(0, length);
  return linesOf(bytes, newlines) > MAX_PLAYLIST_LINES ? null : bytes;
}

/**
 * Resolves in a later task of the event loop. A message to oneself, not a timer: on Node, a stream paced by
 * `setTimeout` kept the server from accepting new connections until it ended (measured: /healthz waited ~1 s
 * behind four tokenized playlists), while messages, like `setImmediate`, let the poll phase in between.
 */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    // Workers before compatibility date 2025-08-15 have no MessageChannel; a timer is fine there.
    const Channel = (globalThis as { MessageChannel?: new () => MessageChannelLike }).MessageChannel;
    if (!Channel) {
      setTimeout(resolve, 0);
      return;
    }
    const { port1, port2 } = new Channel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}
/** The part of MessageChannel used here (not in every runtime's type declarations). */
interface MessageChannelLike {
  port1: { onmessage: (() => void) | null; close(): void };
  port2: { postMessage(message: null): void };
}

const tooLarge = () =>
  problem(
    'playlist-too-large',
    `The playlist is too large to tokenize for a device link (over ${MAX_PLAYLIST_BYTES} bytes or ${MAX_PLAYLIST_LINES} lines).`,
  );

export interface TokenizeRequest {
  /** The public URL of the playlist (media origin + path). */
  playlistUrl: string;
  /** The public URL of the video's folder, `https://media.example.com/videos/abc/`. */
  folderUrl: string;
  /** The grant's query, without `?`. */
  token: string;
  /** A HEAD request: the same status and headers, no body. */
  head: boolean;
  contentType: string;
}

/**
 * The answer to a device link's playlist request: the playlist tokenized, `Cache-Control: private, no-store`, or
 * `500 playlist-too-large` when it is over MAX_PLAYLIST_BYTES (by its stored size, before reading it) or
 * MAX_PLAYLIST_LINES. A long playlist is tokenized and sent a slice at a time, as the client reads it.
 */
export async function tokenizedPlaylist(object: StoredObject, req: TokenizeRequest): Promise<Response> {
  if (object.meta.size > MAX_PLAYLIST_BYTES) {
    if (!(object.body instanceof Uint8Array)) await object.body.cancel().catch(() => {});
    return tooLarge();
  }
  const bytes = await readPlaylist(object);
  if (!bytes) return tooLarge();
  const headers = { 'Content-Type': req.contentType, 'Cache-Control': 'private, no-store' };
  if (req.head) return new Response(null, { headers });
  const scope = scopeOf(req.playlistUrl, req.folderUrl);
  if (!scope)
    return new Response(new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(bytes), { headers }); // nothing gets the token

  // Slices end after a LF byte, which is never inside a UTF-8 sequence; one decoder keeps a leading BOM as it is.
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  let at = 0;
  /** The next slice of the answer: at most `lines` lines, or about `size` bytes of the playlist. */
  const slice = (lines = SLICE_LINES, size = SLICE_BYTES): string => {
    let end = at;
    for (let n = 0; n < lines && end - at < size && end < bytes.length; n++) {
      const nl = bytes.indexOf(0x0a, end);
      end = nl < 0 ? bytes.length : nl + 1;
    }
    const text = decoder.decode(bytes.subarray(at, end), { stream: end < bytes.length });
    at = end;
    return text
      .split('\n')
      .map((line) => tokenizeLine(line, scope, req.token))
      .join('\n');
  };
  const first =
    bytes.length <= WHOLE_BYTES && countNewlines(bytes, WHOLE_LINES) < WHOLE_LINES
      ? slice(Infinity, Infinity)
      : slice();
  if (at >= bytes.length) return new Response(first, { headers });
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(first));
    },
    async pull(controller) {
      // Each slice is its own task: other requests (and /healthz) are answered between slices.
      await nextTask();
      controller.enqueue(encoder.encode(slice()));
      if (at >= bytes.length) controller.close();
    },
  });
  return new Response(body, { headers });
}

import type { ByteRange, MediaStorage, ObjectMeta, StoredObject } from './storage.ts';
import type { Freshness } from './freshness.ts';
import { contentTypeFor } from './mime.ts';
import { readPlaylist } from './tokenize.ts';

// Serves one stored object with HTTP semantics done once for every storage adapter: a single Range
// (RFC 9110 section 14: 206, or 416 when unsatisfiable; several ranges are answered with the whole body, which
// the RFC allows), ETag + If-None-Match (304), If-Range, Last-Modified, HEAD. Bodies are streamed.

type RangeResult = ByteRange | 'unsatisfiable' | null;

const UTF8 = new TextDecoder();

/**
 * What a runtime's own server may need of a stored object's answer, kept on the Response under a symbol (set here
 * only, read with storedFileOf). Not a header: nothing to strip again, nothing a client or an upstream could send.
 * Not read from `body`: that would turn @hono/node-server's lightweight Response into a full one on every answer.
 * The Node server finds a span of an open file in `body` and sends it itself, or hands it to nginx, which keeps its
 * verdict for `keepFor` (node/file-responses.ts); other runtimes ignore it.
 */
const STORED_FILE = Symbol('hls-gate stored file');

export interface StoredFile {
  /** The storage's body, as it gave it: a stream, or the bytes of a small file or a playlist. */
  body: ReadableStream<Uint8Array> | Uint8Array;
  /** Seconds a copy of this answer may be reused unchecked: the max-age the viewer got; 0 when every request is judged. */
  keepFor: number;
  /** A held answer (blocking playlist reload): a proxy in front passes it on as it comes, unbuffered. */
  held?: boolean;
}

type StoredFileResponse = Response & { [STORED_FILE]?: StoredFile };

export function storedFileOf(res: Response): StoredFile | undefined {
  return (res as StoredFileResponse)[STORED_FILE];
}

function bodyResponse(body: StoredObject['body'], status: number, headers: Headers, keepFor: number): Response {
  const res: StoredFileResponse = new Response(body as BodyInit, { status, headers });
  res[STORED_FILE] = { body, keepFor };
  return res;
}

export function parseRange(header: string | null, size: number): RangeResult {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // malformed or multiple ranges: ignore the header
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { offset: start, length: end - start + 1 };
}

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const weakless = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => weakless(t) === weakless(etag));
}

function baseHeaders(key: string, meta: ObjectMeta, cacheControl: string): Headers {
  return new Headers({
    'Content-Type': contentTypeFor(key),
    ETag: meta.etag,
    'Last-Modified': meta.lastModified.toUTCString(),
    'Accept-Ranges': 'bytes',
    'Cache-Control': cacheControl,
  });
}

/** Serves a file whose freshness does not depend on its content (segments, keys): see app/freshness.ts. */
export async function serveObject(
  storage: MediaStorage,
  key: string,
  request: Request,
  { cacheControl, keepFor }: Freshness,
): Promise<Response | null> {
  if (storage.open) {
    // One open: headers and bytes come from the same file, so they always agree.
    const opened = await storage.open(key);
    if (!opened) return null;
    const plan = respond(key, opened.meta, request, cacheControl);
    if (plan instanceof Response) {
      await opened.close();
      return plan;
    }
    return bodyResponse(await opened.read(plan.range), plan.status, plan.headers, keepFor);
  }
  // head() then get(): if the object is replaced in between, the headers would describe the wrong bytes: start
  // again once from the new version.
  for (let attempt = 0; attempt < 2; attempt++) {
    const res = await serveOnce(storage, key, request, cacheControl, keepFor);
    if (res !== 'changed') return res;
  }
  return stillChanging();
}

/** A file that changed under every attempt to read one version of it: ask again in a second. */
export function stillChanging(): Response {
  return new Response(null, { status: 503, headers: { 'Retry-After': '1', 'Cache-Control': 'no-store' } });
}

/** One version of a playlist, read whole: its bytes, its text, and metadata whose ETag is of these very bytes. */
export interface PlaylistVersion {
  bytes: Uint8Array;
  text: string;
  meta: ObjectMeta;
}

/**
 * Reads a playlist whole (playlists are small: at most MAX_PLAYLIST_BYTES, else 'too-large'), with an ETag from its
 * content: a playlist rewritten several times a second keeps the same size and, to a second, the same modification
 * time, so a validator made of those would answer 304 for bytes the viewer never saw.
 */
export async function readPlaylistVersion(
  storage: MediaStorage,
  key: string,
): Promise<PlaylistVersion | null | 'too-large' | 'changing'> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const object = await storage.get(key);
    if (!object) return null;
    const bytes = await readPlaylist(object);
    if (!bytes) return 'too-large';
    // A file rewritten in place while it was read (a writer that does not rename): read it again.
    if (bytes.byteLength !== object.meta.size) continue;
    return { bytes, text: UTF8.decode(bytes), meta: { ...object.meta, etag: await contentEtag(bytes) } };
  }
  return 'changing';
}

/** A strong ETag from the bytes themselves (SHA-256, 128 bits kept). */
export async function contentEtag(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest.subarray(0, 16)) hex += b.toString(16).padStart(2, '0');
  return `"${hex}"`;
}

/** The bytes and ETag of what is served instead of a version's text, made once per version and text. */
const servedCache = new WeakMap<PlaylistVersion, { text: string; bytes: Uint8Array; meta: ObjectMeta }>();
async function servedVersion(version: PlaylistVersion, text: string): Promise<{ bytes: Uint8Array; meta: ObjectMeta }> {
  const known = servedCache.get(version);
  if (known?.text === text) return known;
  const bytes = new TextEncoder().encode(text);
  const made = { text, bytes, meta: { ...version.meta, size: bytes.byteLength, etag: await contentEtag(bytes) } };
  servedCache.set(version, made);
  return made;
}

/**
 * The answer for one playlist version, whose freshness follows what it says (a live playlist is kept briefly, a
 * finished one long). `served` replaces the text sent (a delta update, a rewritten server-control line): it then has
 * its own ETag.
 */
export async function playlistResponse(
  key: string,
  version: PlaylistVersion,
  request: Request,
  { cacheControl, keepFor }: Freshness,
  served?: string,
): Promise<Response> {
  let { bytes, meta } = version;
  if (served !== undefined && served !== version.text) ({ bytes, meta } = await servedVersion(version, served));
  const plan = respond(key, meta, request, cacheControl);
  if (plan instanceof Response) return plan;
  const body = plan.range ? bytes.subarray(plan.range.offset, plan.range.offset + plan.range.length) : bytes;
  return bodyResponse(body, plan.status, plan.headers, keepFor);
}

/** The response for `meta` when no body is needed (304, 416, HEAD), or the status, headers and range of the body. */
function respond(
  key: string,
  meta: ObjectMeta,
  request: Request,
  cacheControl: string,
): Response | { status: number; headers: Headers; range: ByteRange | undefined } {
  const headers = baseHeaders(key, meta, cacheControl);
  const inm = request.headers.get('If-None-Match');
  if (inm && etagMatches(inm, meta.etag)) return new Response(null, { status: 304, headers });

  let range = parseRange(request.headers.get('Range'), meta.size);
  const ifRange = request.headers.get('If-Range');
  if (range && ifRange && ifRange.trim() !== meta.etag) range = null; // the file changed: send it whole
  if (range === 'unsatisfiable') {
    headers.set('Content-Range', `bytes */${meta.size}`);
    headers.delete('Content-Type');
    return new Response(null, { status: 416, headers });
  }
  const status = range ? 206 : 200;
  const length = range ? range.length : meta.size;
  headers.set('Content-Length', String(length));
  if (range) headers.set('Content-Range', `bytes ${range.offset}-${range.offset + range.length - 1}/${meta.size}`);
  if (request.method === 'HEAD') return new Response(null, { status, headers });
  return { status, headers, range: range ?? undefined };
}

async function serveOnce(
  storage: MediaStorage,
  key: string,
  request: Request,
  cacheControl: string,
  keepFor: number,
): Promise<Response | null | 'changed'> {
  const meta = await storage.head(key);
  if (!meta) return null;
  const plan = respond(key, meta, request, cacheControl);
  if (plan instanceof Response) return plan;
  const { status, headers, range } = plan;
  const object = await storage.get(key, range);
  if (!object) return null; // deleted between head and get: 404, like any absent file
  if (object.meta.etag !== meta.etag || object.meta.size !== meta.size) {
    if (!(object.body instanceof Uint8Array)) await object.body.cancel();
    return 'changed';
  }
  return bodyResponse(object.body, status, headers, keepFor);
}

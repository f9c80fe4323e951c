import type { MediaStorage } from './storage.ts';
import { MASTER_PLAYLIST, VIDEO_ID, publishedKey } from './layout.ts';
import { JsonError, parseStrictJson } from '../core/json.ts';
import { HlsGateError } from '../core/errors.ts';
import { Lru } from '../core/lru.ts';

// The catalog lives beside the media as catalog.json:
//   { "videos": [{ "id", "title", "description"?, "durationSeconds"?, "playlist"?, "poster"? }] }
// It is validated whole when read, and an error names the line to fix. A catalog that breaks while the gateway
// runs (a bad edit) is reported in the log and the last good one stays in use; at start-up it is refused.

export interface CatalogEntry {
  id: string;
  title: string;
  description?: string;
  durationSeconds?: number;
  playlist: string;
  poster?: string;
  /** Being streamed live now (`hls-gate live` sets it while it runs): listed first, played from the live edge. */
  live?: boolean;
}

/** catalog.json is not a valid catalog: the message names the line and what is wrong, never the file's text. */
export class CatalogError extends HlsGateError<'ERR_CATALOG'> {
  override readonly name = 'CatalogError';
  constructor(message: string) {
    super('ERR_CATALOG', `catalog.json: ${message}`);
  }
}

const KNOWN = ['id', 'title', 'description', 'durationSeconds', 'playlist', 'poster', 'live'];
/** A path inside the video's folder: plain segments, no `..`, no leading `/`, no backslash or `%`. */
const RELATIVE_PATH = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/** Parses and validates catalog.json text; throws CatalogError naming the line of the first problem. */
export function parseCatalog(text: string): CatalogEntry[] {
  const lines = new WeakMap<object, number>();
  let doc: unknown;
  try {
    doc = parseStrictJson(text, { lines, maxDepth: 8 });
  } catch (err) {
    throw new CatalogError(err instanceof JsonError ? `not valid JSON: ${err.message}` : 'not valid JSON');
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(doc) || !Array.isArray(doc.videos))
    throw new CatalogError('must be an object { "videos": [ ... ] } at line 1');
  const seen = new Set<string>();
  return doc.videos.map((v: unknown, i: number) => {
    const at = (isObject(v) && lines.get(v)) || lines.get(doc.videos as object) || 1;
    const fail = (why: string): never => {
      throw new CatalogError(`videos[${i}] at line ${at}: ${why}`);
    };
    if (!isObject(v)) return fail('each video must be an object');
    for (const key of Object.keys(v))
      if (!KNOWN.includes(key)) fail(`unknown field "${key}" (known: ${KNOWN.join(', ')})`);
    if (typeof v.id !== 'string' || !VIDEO_ID.test(v.id)) fail('"id" must be 1 to 64 letters, digits, "-" or "_"');
    const id = v.id as string;
    if (seen.has(id)) fail(`"id" "${id}" appears twice`);
    seen.add(id);
    if (v.title !== undefined && typeof v.title !== 'string') fail('"title" must be a string');
    if (v.description !== undefined && typeof v.description !== 'string') fail('"description" must be a string');
    if (v.durationSeconds !== undefined && !(typeof v.durationSeconds === 'number' && v.durationSeconds >= 0))
      fail('"durationSeconds" must be a number of seconds');
    if (v.live !== undefined && typeof v.live !== 'boolean') fail('"live" must be true or false');
    for (const field of ['playlist', 'poster'] as const) {
      const p = v[field];
      if (p !== undefined && !(typeof p === 'string' && RELATIVE_PATH.test(p)))
        fail(`"${field}" must be a path inside the video's folder, like ${MASTER_PLAYLIST}`);
    }
    const entry: CatalogEntry = {
      id,
      title: (v.title as string | undefined) ?? id,
      playlist: (v.playlist as string | undefined) ?? MASTER_PLAYLIST,
    };
    if (v.description !== undefined) entry.description = v.description as string;
    if (v.durationSeconds !== undefined) entry.durationSeconds = v.durationSeconds as number;
    if (v.poster !== undefined) entry.poster = v.poster as string;
    if (v.live === true) entry.live = true;
    return entry;
  });
}

/** catalog.json text for these entries, one video per line (what `hls-gate catalog` and `package` write). */
export function serialiseCatalog(entries: readonly CatalogEntry[]): string {
  return `{\n  "videos": [\n${entries.map((e) => `    ${JSON.stringify(e)}`).join(',\n')}\n  ]\n}\n`;
}

async function readAll(body: ReadableStream<Uint8Array> | Uint8Array): Promise<string> {
  return body instanceof Uint8Array ? new TextDecoder().decode(body) : new Response(body).text();
}

async function loadCatalog(storage: MediaStorage): Promise<CatalogEntry[]> {
  const object = await storage.get('catalog.json');
  return object ? parseCatalog(await readAll(object.body)) : [];
}

// Read at most every few seconds: the access endpoint consults it on every grant.
const CACHE_MS = 5000;
interface CatalogState {
  at: number;
  entries: Promise<CatalogEntry[]>;
  lastGood?: CatalogEntry[];
  reported?: string;
  /** Videos without a catalog entry found by their master playlist during this read's life (found ones only). */
  masters?: Lru<CatalogEntry>;
}
const cached = new WeakMap<MediaStorage, CatalogState>();

/**
 * The catalog, re-read every few seconds. When a re-read fails, the last good catalog is kept and `onError` hears
 * about it once per distinct error; with no good catalog yet, the error is thrown.
 */
export function readCatalog(
  storage: MediaStorage,
  nowMs = Date.now(),
  onError?: (err: Error) => void,
): Promise<CatalogEntry[]> {
  const state = cached.get(storage);
  if (state && nowMs - state.at < CACHE_MS) return state.entries;
  const next: CatalogState = {
    at: nowMs,
    entries: Promise.resolve([]),
    ...(state?.lastGood ? { lastGood: state.lastGood } : {}),
    ...(state?.reported ? { reported: state.reported } : {}),
  };
  next.entries = loadCatalog(storage).then(
    (entries) => {
      next.lastGood = entries;
      delete next.reported;
      return entries;
    },
    (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      if (next.reported !== error.message) {
        next.reported = error.message;
        onError?.(error);
      }
      if (next.lastGood) return next.lastGood;
      cached.delete(storage); // nothing good to fall back on: try again on the next request
      throw error;
    },
  );
  cached.set(storage, next);
  return next.entries;
}

/**
 * Whether the catalog reads valid now, without touching the cache the routes use (so a probe never drops the last
 * good catalog the gateway is serving from): for /readyz.
 */
export async function catalogReadsValid(storage: MediaStorage): Promise<void> {
  await loadCatalog(storage);
}

/** Reads and validates the catalog once, at start-up: a broken one stops the gateway with the line to fix. */
export async function checkCatalog(storage: MediaStorage): Promise<void> {
  cached.delete(storage);
  await readCatalog(storage);
}

/** Each catalog's entries by ID, made once per catalog read (the access endpoint looks one up on every grant). */
const indexes = new WeakMap<CatalogEntry[], Map<string, CatalogEntry>>();

/**
 * A video exists when the catalog lists it, or when it has a master playlist. A video found by its playlist is
 * remembered as long as the catalog read is (a few seconds), like the catalog itself; an unknown ID is looked up
 * every time, so nothing a client makes up is kept.
 */
export async function findVideo(
  storage: MediaStorage,
  videoId: string,
  nowMs = Date.now(),
  onError?: (err: Error) => void,
): Promise<CatalogEntry | null> {
  const entries = await readCatalog(storage, nowMs, onError);
  let index = indexes.get(entries);
  if (!index) indexes.set(entries, (index = new Map(entries.map((v) => [v.id, v]))));
  const entry = index.get(videoId);
  if (entry) return entry;
  const state = cached.get(storage);
  const known = state?.masters?.get(videoId);
  if (known) return known;
  if (!(await storage.head(publishedKey(videoId)))) return null;
  const found: CatalogEntry = { id: videoId, title: videoId, playlist: MASTER_PLAYLIST };
  if (state) (state.masters ??= new Lru<CatalogEntry>(1000)).set(videoId, found);
  return found;
}

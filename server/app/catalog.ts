import type { MediaStorage } from './storage.ts';
import { VIDEO_ID } from './media-path.ts';

// The catalog lives beside the media as catalog.json: { "videos": [{ id, title, durationSeconds?, playlist? }] }.

export interface CatalogEntry {
  id: string;
  title: string;
  description?: string;
  durationSeconds?: number;
  playlist: string;
}

async function readAll(body: ReadableStream<Uint8Array> | Uint8Array): Promise<string> {
  return body instanceof Uint8Array ? new TextDecoder().decode(body) : new Response(body).text();
}

// Read at most every few seconds: the access endpoint consults it on every grant.
const CACHE_MS = 5000;
const cached = new WeakMap<MediaStorage, { at: number; entries: Promise<CatalogEntry[]> }>();

export function readCatalog(storage: MediaStorage, nowMs = Date.now()): Promise<CatalogEntry[]> {
  const hit = cached.get(storage);
  if (hit && nowMs - hit.at < CACHE_MS) return hit.entries;
  const entries = loadCatalog(storage);
  cached.set(storage, { at: nowMs, entries });
  entries.catch(() => cached.delete(storage));
  return entries;
}

async function loadCatalog(storage: MediaStorage): Promise<CatalogEntry[]> {
  const object = await storage.get('catalog.json');
  if (!object) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(await readAll(object.body));
  } catch {
    throw new Error('catalog.json is not valid JSON');
  }
  const videos = (doc as { videos?: unknown }).videos;
  if (!Array.isArray(videos)) throw new Error('catalog.json must be { "videos": [...] }');
  return videos
    .filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && typeof v.id === 'string' && VIDEO_ID.test(v.id))
    .map((v) => ({
      id: v.id as string,
      title: typeof v.title === 'string' ? v.title : (v.id as string),
      ...(typeof v.description === 'string' ? { description: v.description } : {}),
      ...(typeof v.durationSeconds === 'number' ? { durationSeconds: v.durationSeconds } : {}),
      playlist: typeof v.playlist === 'string' && !v.playlist.includes('..') ? v.playlist : 'master.m3u8',
    }));
}

/** A video exists when the catalog lists it, or when it has a master playlist. */
export async function findVideo(storage: MediaStorage, videoId: string): Promise<CatalogEntry | null> {
  const entry = (await readCatalog(storage)).find((v) => v.id === videoId);
  if (entry) return entry;
  return (await storage.head(`${videoId}/master.m3u8`)) ? { id: videoId, title: videoId, playlist: 'master.m3u8' } : null;
}

import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { join, resolve, sep } from 'node:path';
import type { ByteRange, MediaStorage, ObjectMeta, StoredObject } from '../app/storage.ts';

// Local-disk storage: MEDIA_DIR/<videoId>/<path>. Keys arrive validated (see app/media-path.ts); the resolved
// path is still checked to stay inside the root, as a second line of defence.

/** Objects up to this size are one stream chunk anyway: read them in one call (playlists, keys). */
const SMALL = 64 * 1024;
/** Larger chunks mean fewer trips through the stream machinery per segment; 200 clients x 256 KiB stays small. */
const CHUNK = 256 * 1024;
/** head() then get() for one request would stat twice; a stat is reused for this long. */
const STAT_TTL_MS = 1000;

export function createFsStorage(root: string): MediaStorage {
  const base = resolve(root);
  const stats = new Map<string, { at: number; meta: ObjectMeta }>();

  function pathOf(key: string): string | null {
    const full = resolve(join(base, key));
    return full.startsWith(base + sep) ? full : null;
  }

  async function head(key: string): Promise<ObjectMeta | null> {
    const path = pathOf(key);
    if (!path) return null;
    const now = Date.now();
    const hit = stats.get(key);
    if (hit && now - hit.at < STAT_TTL_MS) return hit.meta;
    try {
      const s = await stat(path);
      if (!s.isFile()) return null;
      const meta = { size: s.size, etag: `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`, lastModified: s.mtime };
      if (stats.size > 10_000) stats.clear();
      stats.set(key, { at: now, meta });
      return meta;
    } catch {
      return null;
    }
  }

  async function get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    const meta = await head(key);
    const path = pathOf(key);
    if (!meta || !path) return null;
    if (!range && meta.size <= SMALL) {
      try {
        return { meta, body: new Uint8Array(await readFile(path)) };
      } catch {
        return null;
      }
    }
    const stream = createReadStream(path, { highWaterMark: CHUNK, ...(range ? { start: range.offset, end: range.offset + range.length - 1 } : {}) });
    return { meta, body: Readable.toWeb(stream) as ReadableStream<Uint8Array> };
  }

  return { head, get };
}

import { open, readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { ByteRange, MediaStorage, ObjectMeta, StoredObject } from '../app/storage.ts';

// Local-disk storage: MEDIA_DIR/<videoId>/<path>. Keys arrive validated (see app/media-path.ts); the resolved
// path is still checked to stay inside the root, as a second line of defence.

/** Objects up to this size are one stream chunk anyway: read them in one call (playlists, keys). */
const SMALL = 64 * 1024;
/** One read per pull: with 200 clients in flight, at most 200 chunks are held in memory. */
const CHUNK = 32 * 1024;
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
    return { meta, body: await fileStream(path, range ? range.offset : 0, range ? range.length : meta.size) };
  }

  return { head, get };
}

/**
 * A pull-based stream over a byte span of a file: a chunk is read only when the consumer asks for one, so a slow
 * viewer holds one chunk, never the file. (stream.Readable.toWeb would buffer ahead without bound here.)
 */
async function fileStream(path: string, offset: number, length: number): Promise<ReadableStream<Uint8Array>> {
  const file = await open(path, 'r');
  let position = offset;
  const end = offset + length;
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await file.close();
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const size = Math.min(CHUNK, end - position);
          const chunk = size > 0 ? new Uint8Array(size) : null;
          const { bytesRead } = chunk ? await file.read(chunk, 0, size, position) : { bytesRead: 0 };
          if (!chunk || bytesRead === 0) {
            await close();
            controller.close();
            return;
          }
          position += bytesRead;
          controller.enqueue(bytesRead === size ? chunk : chunk.subarray(0, bytesRead));
          if (position >= end) {
            await close();
            controller.close();
          }
        } catch (err) {
          await close();
          controller.error(err);
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
}

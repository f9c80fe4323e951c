import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { join, resolve, sep } from 'node:path';
import type { ByteRange, MediaStorage, ObjectMeta, StoredObject } from '../app/storage.ts';

// Local-disk storage: MEDIA_DIR/<videoId>/<path>. Keys arrive validated (see app/media-path.ts); the resolved
// path is still checked to stay inside the root, as a second line of defence.

export function createFsStorage(root: string): MediaStorage {
  const base = resolve(root);

  function pathOf(key: string): string | null {
    const full = resolve(join(base, key));
    return full.startsWith(base + sep) ? full : null;
  }

  async function head(key: string): Promise<ObjectMeta | null> {
    const path = pathOf(key);
    if (!path) return null;
    try {
      const s = await stat(path);
      if (!s.isFile()) return null;
      return { size: s.size, etag: `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`, lastModified: s.mtime };
    } catch {
      return null;
    }
  }

  async function get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    const meta = await head(key);
    const path = pathOf(key);
    if (!meta || !path) return null;
    const stream = createReadStream(path, range ? { start: range.offset, end: range.offset + range.length - 1 } : {});
    return { meta, body: Readable.toWeb(stream) as ReadableStream<Uint8Array> };
  }

  return { head, get };
}

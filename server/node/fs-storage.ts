import { constants, realpathSync } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { ByteRange, MediaStorage, ObjectMeta, OpenedObject, StoredObject } from '../app/storage.ts';

// Local-disk storage: MEDIA_DIR/<videoId>/<path>. Keys arrive validated (see app/layout.ts), but the text of a
// path proves nothing on disk: a symlink can point anywhere. So containment is checked on the file actually
// opened: its real path must lie inside the real MEDIA_DIR *and* inside that video's own folder. Symlinks are
// therefore allowed only within one video's folder (e.g. a rendition sharing another's init segment); a symlink
// to another video, to the rest of the host, or a video folder that is itself a symlink is answered 404.
// FIFOs and devices are never opened for reading (O_NONBLOCK, then "regular file only").

/** Objects up to this size are one stream chunk anyway: read them in one call (playlists, keys). */
const SMALL = 64 * 1024;
/** One read per pull: with 200 clients in flight, at most 200 chunks are held in memory. */
const CHUNK = 32 * 1024;
/** Where Linux shows the path of an open descriptor: the check then holds for the very file being read. */
const FD_PATHS = '/proc/self/fd';

interface Opened {
  handle: FileHandle;
  meta: ObjectMeta;
}

export function createFsStorage(root: string): MediaStorage {
  const base = realpathSync(resolve(root));
  let procFd: boolean | undefined;

  /** The real path of an open file: from the descriptor itself where the OS shows it, else resolved by name. */
  async function realPathOf(handle: FileHandle, path: string): Promise<string> {
    if (procFd !== false) {
      try {
        const p = await readlink(`${FD_PATHS}/${handle.fd}`);
        procFd = true;
        return p.endsWith(' (deleted)') ? p.slice(0, -' (deleted)'.length) : p;
      } catch {
        procFd = false;
      }
    }
    return realpath(path);
  }

  async function openChecked(key: string): Promise<Opened | null> {
    // Media keys are `<videoId>/...` and must stay in that folder; a top-level key (catalog.json) in MEDIA_DIR.
    const slash = key.indexOf('/');
    if (slash === 0) return null;
    const videoDir = slash < 0 ? base + sep : join(base, key.slice(0, slash)) + sep;
    const path = join(base, key);
    if (!path.startsWith(videoDir)) return null;
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return null; // absent (or deleted since), unreadable, a symlink loop: not found
    }
    try {
      const real = await realPathOf(handle, path);
      const s = await handle.stat();
      if (real.startsWith(videoDir) && s.isFile()) {
        return { handle, meta: { size: s.size, etag: `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`, lastModified: s.mtime } };
      }
    } catch {
      // fall through: refused
    }
    await handle.close();
    return null;
  }

  async function head(key: string): Promise<ObjectMeta | null> {
    const opened = await openChecked(key);
    if (!opened) return null;
    await opened.handle.close();
    return opened.meta;
  }

  /** The bytes of an opened file: small whole files in one read, anything else streamed; the handle is released. */
  async function read({ handle, meta }: Opened, range?: ByteRange): Promise<StoredObject['body']> {
    if (!range && meta.size <= SMALL) {
      try {
        const bytes = new Uint8Array(meta.size);
        let got = 0;
        while (got < meta.size) {
          const { bytesRead } = await handle.read(bytes, got, meta.size - got, got);
          if (bytesRead === 0) return shortened(); // shrank since its size was read: never send a short body
          got += bytesRead;
        }
        return bytes;
      } finally {
        await handle.close();
      }
    }
    return fileStream(handle, range ? range.offset : 0, range ? range.length : meta.size);
  }

  async function openObject(key: string): Promise<OpenedObject | null> {
    const opened = await openChecked(key);
    if (!opened) return null;
    return { meta: opened.meta, read: (range) => read(opened, range), close: () => opened.handle.close() };
  }

  async function get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    const opened = await openChecked(key);
    if (!opened) return null;
    return { meta: opened.meta, body: await read(opened, range) };
  }

  return { open: openObject, head, get };
}

/** A body that fails at once: the HTTP layer aborts the connection rather than send fewer bytes than announced. */
function shortened(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.error(new Error('the file became shorter while it was being sent')) });
}

/**
 * A pull-based stream over a byte span of an open file: a chunk is read only when the consumer asks for one, so a
 * slow viewer holds one chunk, never the file. (stream.Readable.toWeb would buffer ahead without bound here.)
 * If the file ends early (truncated while being sent) the stream errors, and the HTTP layer aborts the connection:
 * the client sees a failed download at once instead of waiting for bytes that will never come.
 */
function fileStream(file: FileHandle, offset: number, length: number): ReadableStream<Uint8Array> {
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
          if (size <= 0) {
            await close();
            controller.close();
            return;
          }
          const chunk = new Uint8Array(size);
          const { bytesRead } = await file.read(chunk, 0, size, position);
          if (bytesRead === 0) throw new Error('the file became shorter while it was being sent');
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

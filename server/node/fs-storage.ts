import { closeSync, constants, fstatSync, openSync, readSync, readlinkSync, realpathSync, watch } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { ByteRange, MediaStorage, ObjectMeta, OpenedObject, StoredObject } from '../app/storage.ts';
import { leaseBuffer } from './file-buffers.ts';
import { FileSpan } from './file-spans.ts';

// Local-disk storage: MEDIA_DIR/<videoId>/<path>. Keys arrive validated (see app/layout.ts), but the text of a
// path proves nothing on disk: a symlink can point anywhere. So containment is checked on the file actually
// opened: its real path must lie inside the real MEDIA_DIR *and* inside that video's own folder. Symlinks are
// therefore allowed only within one video's folder (e.g. a rendition sharing another's init segment); a symlink
// to another video, to the rest of the host, or a video folder that is itself a symlink is answered 404.
// FIFOs and devices are never opened for reading (O_NONBLOCK, then "regular file only").
//
// File calls are synchronous, as nginx's are by default (`aio off`): for media on a local disk, mostly in the page
// cache, each takes microseconds, while sending each through libuv's thread pool cost more than the call itself
// (five round trips per segment request; bench/serving.ts). Media on a slow network filesystem would stall the
// event loop: put nginx in front (SERVE_VIA_NGINX) or a cache there.

/** Objects up to this size are one stream chunk anyway: read them in one call (playlists, keys). */
const SMALL = 64 * 1024;
/** One read per pull: with 200 clients in flight, at most 200 chunks are held in memory. */
const CHUNK = 32 * 1024;
/** Where Linux shows the path of an open descriptor: the check then holds for the very file being read. */
const FD_PATHS = '/proc/self/fd';

/** Descriptors whose stream was dropped unread are closed when it is collected (a safety net, not the plan). */
const orphans = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
});

interface Opened {
  fd: number;
  meta: ObjectMeta;
  /** The real path of the opened file (what the containment check judged). */
  real: string;
}

export interface FsStorageOptions {
  /**
   * Bodies of files of at least `minBytes` are lazy streams that are spans of the open file (FileSpan, file-spans.ts),
   * never read ahead: the Node server (node/file-responses.ts) then moves the bytes itself (minBytes above one read:
   * smaller files are quicker as bytes), or hands every file to nginx (minBytes 0). This is the one place that
   * decides: the server takes every FileSpan it is given and never compares sizes. Unset for embedders whose server
   * reads the stream.
   */
  handOff?: { minBytes: number };
}

/**
 * What the Node server hands off: files it moves faster itself than as bytes through the web Response. Up to
 * 256 KB (a playlist, a 200 KB segment) one read into one buffer is quicker still (no stream built); 200 viewers
 * stalled mid-segment then hold at most 50 MB.
 */
export const NODE_HAND_OFF = { minBytes: 256 * 1024 + 1 };
/** With nginx in front: every file (nginx serves them all). */
export const NGINX_HAND_OFF = { minBytes: 0 };

/**
 * The ETag nginx gives a static file ("<mtime seconds hex>-<size hex>", ngx_http_set_etag), so the gateway alone and
 * nginx serving for it (SERVE_VIA_NGINX) answer If-None-Match and If-Range alike.
 */
export function fileEtag(size: number, mtimeMs: number): string {
  return `"${Math.floor(mtimeMs / 1000).toString(16)}-${size.toString(16)}"`;
}

export function createFsStorage(root: string, options: FsStorageOptions = {}): MediaStorage {
  const base = realpathSync(resolve(root));
  let procFd: boolean | undefined;

  /** The real path of an open file: from the descriptor itself where the OS shows it, else resolved by name. */
  function realPathOf(fd: number, path: string): string {
    if (procFd !== false) {
      try {
        const p = readlinkSync(`${FD_PATHS}/${fd}`);
        procFd = true;
        return p.endsWith(' (deleted)') ? p.slice(0, -' (deleted)'.length) : p;
      } catch {
        procFd = false;
      }
    }
    return realpathSync(path);
  }

  function openChecked(key: string): Opened | null {
    // Media keys are `<videoId>/...` and must stay in that folder; a top-level key (catalog.json) in MEDIA_DIR.
    const slash = key.indexOf('/');
    if (slash === 0) return null;
    const videoDir = slash < 0 ? base + sep : join(base, key.slice(0, slash)) + sep;
    const path = join(base, key);
    if (!path.startsWith(videoDir)) return null;
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return null; // absent (or deleted since), unreadable, a symlink loop: not found
    }
    try {
      const real = realPathOf(fd, path);
      const s = fstatSync(fd);
      if (real.startsWith(videoDir) && s.isFile()) {
        return { fd, real, meta: { size: s.size, etag: fileEtag(s.size, s.mtimeMs), lastModified: s.mtime } };
      }
    } catch {
      // fall through: refused
    }
    closeSync(fd);
    return null;
  }

  async function head(key: string): Promise<ObjectMeta | null> {
    const opened = openChecked(key);
    if (!opened) return null;
    closeSync(opened.fd);
    return opened.meta;
  }

  /** The bytes of an opened file: small whole files in one read, anything else streamed; the descriptor is released. */
  async function read({ fd, meta, real }: Opened, range?: ByteRange): Promise<StoredObject['body']> {
    if (options.handOff && (range ? range.length : meta.size) >= options.handOff.minBytes) {
      const offset = range ? range.offset : 0;
      const length = range ? range.length : meta.size;
      return fileStream(fd, offset, length, real, base);
    }
    const bytesUpTo = options.handOff ? options.handOff.minBytes - 1 : SMALL;
    if (!range && meta.size <= bytesUpTo) {
      try {
        // Every byte is overwritten below, or the body fails. For the Node server, a segment's buffer is one it
        // reuses once the socket has taken it (file-buffers.ts); a playlist's is small enough to be cheap new.
        const bytes = options.handOff && meta.size > SMALL ? leaseBuffer(meta.size) : Buffer.allocUnsafe(meta.size);
        let got = 0;
        while (got < meta.size) {
          const bytesRead = readSync(fd, bytes, got, meta.size - got, got);
          if (bytesRead === 0) return shortened(); // shrank since its size was read: never send a short body
          got += bytesRead;
        }
        return bytes;
      } finally {
        closeSync(fd);
      }
    }
    return fileStream(fd, range ? range.offset : 0, range ? range.length : meta.size);
  }

  async function openObject(key: string): Promise<OpenedObject | null> {
    const opened = openChecked(key);
    if (!opened) return null;
    return { meta: opened.meta, read: (range) => read(opened, range), close: async () => closeSync(opened.fd) };
  }

  async function get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    const opened = openChecked(key);
    if (!opened) return null;
    return { meta: opened.meta, body: await read(opened, range) };
  }

  return { open: openObject, head, get, watch: (key, onChange) => watchKey(base, key, onChange) };
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
 * With the file's real path (and the real MEDIA_DIR), the stream is a FileSpan the Node server sends itself.
 */
function fileStream(fd: number, offset: number, length: number, path?: string, root = ''): ReadableStream<Uint8Array> {
  let position = offset;
  const end = offset + length;
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      orphans.unregister(token);
      closeSync(fd);
    }
  };
  const token = {};
  const source: UnderlyingDefaultSource<Uint8Array> = {
    pull(controller) {
      try {
        const size = Math.min(CHUNK, end - position);
        if (size <= 0) {
          close();
          controller.close();
          return;
        }
        const chunk = new Uint8Array(size);
        const bytesRead = readSync(fd, chunk, 0, size, position);
        if (bytesRead === 0) throw new Error('the file became shorter while it was being sent');
        position += bytesRead;
        controller.enqueue(bytesRead === size ? chunk : chunk.subarray(0, bytesRead));
        if (position >= end) {
          close();
          controller.close();
        }
      } catch (err) {
        close();
        controller.error(err);
      }
    },
    cancel: close,
  };
  const stream =
    path === undefined
      ? new ReadableStream(source, { highWaterMark: 0 })
      : new FileSpan(source, fd, offset, length, path, root);
  orphans.register(stream, fd, token);
  return stream;
}

/**
 * One inotify watch on the key's folder (a writer replaces a playlist by rename, which a watch on the file itself
 * would lose), for events naming the file. The folder must really be inside the video's folder: a symlinked folder
 * is refused like a symlinked file.
 */
function watchKey(base: string, key: string, onChange: () => void): (() => void) | null {
  const slash = key.indexOf('/');
  if (slash <= 0) return null;
  const videoDir = join(base, key.slice(0, slash));
  const folder = dirname(join(base, key));
  try {
    const real = realpathSync(folder);
    if (real !== videoDir && !real.startsWith(videoDir + sep)) return null;
    const name = basename(key);
    const watcher = watch(real, { persistent: false }, (_event, file) => {
      if (file === null || file === name) onChange();
    });
    // A folder removed or unwatchable: tell the hub once (it reads: gone), then stop.
    watcher.on('error', () => {
      watcher.close();
      onChange();
    });
    return () => watcher.close();
  } catch {
    return null;
  }
}

import { createHash, randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type {
  PendingUploads,
  Reservation,
  UploadOwner,
  UploadResult,
  UploadSink,
  UploadStatus,
} from '../app/storage.ts';
import { UploadError } from '../app/upload-guard.ts';
import { UPLOADS_FOLDER } from '../app/layout.ts';

// Uploaded sources on disk: MEDIA_DIR/.uploads/<id>/ (the folder's name starts with "." so the gateway never serves
// it: no video ID does). One folder per ID, made with an exclusive mkdir by the uploader who reserves the ID:
//   reservation.json  { owner, expiresAt }: who may PUT and read the status
//   claim             made with O_EXCL by the one PUT that gets to send the body (exactly one, whatever the concurrency)
//   source, sha256    the accepted body, renamed into place only when its hash matched
//   state.json        where packaging stands (upload-queue.ts)
// A body is written to a temporary file beside it while its SHA-256 is computed; any failure (a wrong hash, too
// large, not media, the client gone halfway) removes it and releases the claim.

const enoent = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';
const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Written atomically (a temporary file renamed over it): a reader sees the old or the new text, never half. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(value));
  await rename(tmp, path);
}

export interface FsUploads extends UploadSink {
  /** MEDIA_DIR/.uploads */
  root: string;
}

/**
 * `minFreeBytes`: uploads are refused when they would leave less free space than this; `onAccepted` hands a received
 * source to the packaging queue.
 */
/**
 * Reserves `videoId` under `root` for an owner: an exclusive mkdir, so of two uploaders only one gets a new ID; the same
 * owner extends its reservation; an abandoned one (expired, no body) is taken over in one rename.
 */
async function reserveIn(
  root: string,
  videoId: string,
  reservation: Reservation,
  now: number,
  retried = false,
): Promise<'reserved' | 'taken'> {
  await mkdir(root, { recursive: true });
  try {
    await mkdir(join(root, videoId));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const held = await readJson<Reservation>(join(root, videoId, 'reservation.json'));
    if (!held) return 'taken'; // being reserved this instant by someone else
    if (held.owner === reservation.owner) {
      await writeJson(join(join(root, videoId), 'reservation.json'), {
        owner: held.owner,
        expiresAt: Math.max(held.expiresAt, reservation.expiresAt),
      });
      return 'reserved';
    }
    // Another owner's ID stays theirs while the reservation runs, and for good once a body was sent under it
    // (until the retention sweep removes a failed one).
    if (
      retried ||
      held.expiresAt > now ||
      (await exists(join(root, videoId, 'claim'))) ||
      (await readJson<UploadStatus>(join(root, videoId, 'state.json')))
    )
      return 'taken';
    // Abandoned: moved aside in one rename, so of two uploaders taking it over only one succeeds.
    const trash = join(root, `.trash-${randomBytes(6).toString('hex')}`);
    try {
      await rename(join(root, videoId), trash);
    } catch {
      return 'taken';
    }
    await rm(trash, { recursive: true, force: true });
    return reserveIn(root, videoId, reservation, now, true);
  }
  await writeJson(join(join(root, videoId), 'reservation.json'), reservation);
  return 'reserved';
}

export function createFsUploads(
  mediaDir: string,
  minFreeBytes: number,
  onAccepted?: (videoId: string) => void,
): FsUploads {
  const root = join(realpathSync(resolve(mediaDir)), UPLOADS_FOLDER); // made on the first upload
  const dir = (id: string) => join(root, id);
  const reservationOf = (id: string) => readJson<Reservation>(join(dir(id), 'reservation.json'));
  const stateOf = (id: string) => readJson<UploadStatus>(join(dir(id), 'state.json'));
  const claimed = (id: string) => exists(join(dir(id), 'claim'));

  return {
    root,
    reserve: (videoId, reservation, now) => reserveIn(root, videoId, reservation, now),
    reservation: reservationOf,
    async pending(owner: UploadOwner, now: number): Promise<PendingUploads> {
      let count = 0;
      let bytes = 0;
      for (const id of await readdir(root).catch(() => [] as string[])) {
        if (id.startsWith('.')) continue;
        const held = await reservationOf(id);
        if (held?.owner !== owner) continue;
        const state = await stateOf(id);
        if (state?.status === 'ready' || state?.status === 'failed') continue;
        const size = await stat(join(dir(id), 'source')).then(
          (s) => s.size,
          () => null,
        );
        if (size === null && held.expiresAt <= now && !(await claimed(id))) continue; // an expired reservation
        count++;
        bytes += size ?? 0;
      }
      return { count, bytes };
    },
    async claim(videoId) {
      try {
        await (await open(join(dir(videoId), 'claim'), 'wx')).close();
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' || enoent(err)) return false;
        throw err;
      }
    },
    async release(videoId) {
      if (!(await stateOf(videoId))) await rm(join(dir(videoId), 'claim'), { force: true });
    },
    receive: (videoId, body, expect) => receiveSource(root, videoId, body, expect.sha256, onAccepted),
    async acceptedHash(videoId) {
      if (!(await exists(join(dir(videoId), 'source'))) && !(await stateOf(videoId))) return null;
      return (await readFile(join(dir(videoId), 'sha256'), 'utf8').catch(() => null)) ?? null;
    },
    async status(videoId) {
      const state = await stateOf(videoId);
      if (!state) return null;
      const { at: _at, ...rest } = state as UploadStatus & { at?: number };
      return rest;
    },
    async hasRoom(bytes) {
      const s = await statfs((await exists(root)) ? root : resolve(mediaDir));
      return s.bavail * s.bsize - bytes >= minFreeBytes;
    },
  };
}

/**
 * The body written to a temporary file beside the uploads while its SHA-256 is computed, then renamed into place as
 * the source with its state `uploaded`; anything short of that leaves nothing, and the claim is given back.
 */
async function receiveSource(
  root: string,
  videoId: string,
  body: ReadableStream<Uint8Array>,
  sha256: string,
  onAccepted?: (videoId: string) => void,
): Promise<UploadResult> {
  const dir = join(root, videoId);
  const tmp = join(root, `.tmp-${videoId}-${randomBytes(6).toString('hex')}`);
  const file = await open(tmp, 'wx', 0o644);
  const hash = createHash('sha256');
  let bytes = 0;
  let done = false;
  try {
    const reader = body.getReader();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      hash.update(value);
      bytes += value.byteLength;
      await file.write(value);
    }
    await file.close();
    if (hash.digest('hex') !== sha256) return { ok: false, reason: 'hash-mismatch' };
    await writeFile(join(dir, 'sha256'), sha256);
    await rename(tmp, join(dir, 'source'));
    await writeJson(join(dir, 'state.json'), { status: 'uploaded', at: Date.now() });
    done = true;
    onAccepted?.(videoId);
    return { ok: true, bytes };
  } catch (err) {
    if (err instanceof UploadError) return { ok: false, reason: err.code };
    return { ok: false, reason: 'incomplete' }; // the client went away, or the stream broke
  } finally {
    if (!done) {
      await file.close().catch(() => {});
      await rm(tmp, { force: true });
      await rm(join(dir, 'sha256'), { force: true });
      await rm(join(dir, 'claim'), { force: true }); // the owner may send the body again
    }
  }
}

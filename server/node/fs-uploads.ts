import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { UploadResult, UploadSink } from '../app/storage.ts';
import { UploadError } from '../app/upload-guard.ts';
import { createUploadQueue, type QueueOptions } from './upload-queue.ts';

// Uploaded sources on disk: MEDIA_DIR/.uploads/<id>/source. The folder's name starts with "." so the gateway never
// serves it (no video ID does). A body is written to a temporary file beside it while its SHA-256 is computed; the
// file is renamed into place only when the hash matches, and removed on any failure (a wrong hash, too large, not
// media, or the client gone halfway), so a refused upload leaves nothing behind.

export function createFsUploads(mediaDir: string, packager?: QueueOptions['run']): UploadSink {
  const root = join(realpathSync(resolve(mediaDir)), '.uploads'); // made on the first upload
  const queue = packager ? createUploadQueue({ mediaDir: realpathSync(resolve(mediaDir)), uploadsDir: root, run: packager }) : undefined;
  return {
    async receive(videoId, body, expect): Promise<UploadResult> {
      mkdirSync(root, { recursive: true });
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
        if (hash.digest('hex') !== expect.sha256) return { ok: false, reason: 'hash-mismatch' };
        mkdirSync(join(root, videoId), { recursive: true });
        await rename(tmp, join(root, videoId, 'source'));
        writeFileSync(join(root, videoId, 'sha256'), expect.sha256);
        done = true;
        queue?.enqueue(videoId);
        return { ok: true, bytes };
      } catch (err) {
        if (err instanceof UploadError) return { ok: false, reason: err.reason };
        return { ok: false, reason: 'incomplete' }; // the client went away, or the stream broke
      } finally {
        if (!done) {
          await file.close().catch(() => {});
          await rm(tmp, { force: true });
        }
      }
    },
    async acceptedHash(videoId) {
      try {
        return readFileSync(join(root, videoId, 'sha256'), 'utf8');
      } catch {
        return null;
      }
    },
    async status(videoId) {
      const state = queue?.status(videoId);
      if (state) return state;
      try {
        await stat(join(root, videoId, 'source'));
        return { status: 'uploaded' };
      } catch {
        return null;
      }
    },
  };
}

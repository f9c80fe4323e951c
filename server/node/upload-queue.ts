import { availableParallelism } from 'node:os';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { UploadStatus } from '../app/storage.ts';

// Packages uploaded sources in the background: at most one ffmpeg job per core, the rest queued. Each upload's state
// lives beside its source (.uploads/<id>/state.json, written atomically), so a restart finds every queued or
// half-done job and runs it again from the start: `hls-gate package` builds in a hidden folder and publishes with one
// rename, so an interrupted job never left anything half-published (and its leftover folder is removed here).

export interface QueueOptions {
  mediaDir: string;
  uploadsDir: string;
  /** Runs the packager; resolves with null on success or the reason it failed. */
  run: (videoId: string, source: string, onProgress: (fraction: number) => void) => Promise<string | null>;
  concurrency?: number;
}

export function createUploadQueue(opts: QueueOptions) {
  const limit = opts.concurrency ?? Math.max(1, availableParallelism());
  const waiting: string[] = [];
  let running = 0;
  const stateFile = (id: string) => join(opts.uploadsDir, id, 'state.json');

  function write(id: string, state: UploadStatus): void {
    const tmp = `${stateFile(id)}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, stateFile(id));
  }
  function read(id: string): UploadStatus | null {
    try {
      return JSON.parse(readFileSync(stateFile(id), 'utf8')) as UploadStatus;
    } catch {
      return null;
    }
  }

  function pump(): void {
    while (running < limit && waiting.length > 0) {
      const id = waiting.shift()!;
      running++;
      let last = -1;
      write(id, { status: 'packaging', percent: 0 });
      void opts
        .run(id, join(opts.uploadsDir, id, 'source'), (fraction) => {
          const percent = Math.floor(fraction * 100);
          if (percent !== last) {
            last = percent;
            write(id, { status: 'packaging', percent });
          }
        })
        .then(
          (failure) => {
            if (failure) write(id, { status: 'failed', reason: failure });
            else {
              write(id, { status: 'ready' });
              rmSync(join(opts.uploadsDir, id, 'source'), { force: true });
            }
          },
          (err: unknown) => write(id, { status: 'failed', reason: err instanceof Error ? err.message : 'packaging failed' }),
        )
        .finally(() => {
          running--;
          pump();
        });
    }
  }

  function enqueue(id: string): void {
    if (!waiting.includes(id)) waiting.push(id);
    write(id, { status: 'uploaded' });
    pump();
  }

  // After a restart: leftovers of interrupted packaging runs go, queued and half-done jobs run again.
  for (const f of existsSync(opts.mediaDir) ? readdirSync(opts.mediaDir) : []) if (f.startsWith('.package-')) rmSync(join(opts.mediaDir, f), { recursive: true, force: true });
  for (const id of existsSync(opts.uploadsDir) ? readdirSync(opts.uploadsDir) : []) {
    const state = read(id);
    if (state && (state.status === 'uploaded' || state.status === 'packaging') && existsSync(join(opts.uploadsDir, id, 'source'))) enqueue(id);
  }

  return { enqueue, status: read, limit };
}

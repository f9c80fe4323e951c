import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventLog } from '../app/log.ts';
import type { UploadFailure, UploadStatus } from '../app/storage.ts';
import { writeJson } from './fs-uploads.ts';
import { PACKAGING_PREFIX } from '../app/layout.ts';

// Packages uploaded sources in the background, `concurrency` jobs at a time, the rest queued. Each upload's state
// lives beside its source (.uploads/<id>/state.json, written atomically), so a restart finds every queued or
// half-done job and runs it again from the start: the packager builds in a hidden folder and publishes with one
// rename, so an interrupted job never left anything half-published (its leftover folder is removed here).
// A sweep removes what is no longer wanted after `retentionMs`: failed sources, finished uploads' records,
// abandoned reservations and temporary files.

/** One packaging job: resolves when published, rejects with a failure (code and safe sentence) and the operator's detail. */
export type PackageJob = (
  videoId: string,
  source: string,
  signal: AbortSignal,
  onProgress: (fraction: number) => void,
) => Promise<void>;

export class JobFailure extends Error {
  constructor(
    readonly failure: UploadFailure,
    readonly detail?: string,
  ) {
    super(failure.reason);
  }
}

export interface QueueOptions {
  mediaDir: string;
  uploadsDir: string;
  run: PackageJob;
  concurrency: number;
  /** How long failed sources and finished uploads' records are kept (ms). */
  retentionMs: number;
  events: EventLog;
  now?: () => number;
  /** Told when a job ends ready or failed, with how long it ran (metrics); not for one stopped by close(). */
  onFinished?: (status: 'ready' | 'failed', seconds: number) => void;
}

type Stored = UploadStatus & { at?: number };

/** One entry of .uploads/ (not queued or running) removed if past its retention, or left midway by an earlier process. */
async function sweepEntry(
  opts: QueueOptions,
  name: string,
  t: number,
  starting: boolean,
  read: (id: string) => Promise<Stored | null>,
): Promise<void> {
  const path = join(opts.uploadsDir, name);
  if (name.startsWith('.trash-')) return rm(path, { recursive: true, force: true });
  if (name.startsWith('.tmp-')) {
    // A body still arriving is written to all the time; one untouched for an hour was left by a crash.
    const age = await stat(path).then(
      (s) => t - s.mtimeMs,
      () => 0,
    );
    if (starting || age > Math.max(opts.retentionMs, 3_600_000)) await rm(path, { force: true });
    return;
  }
  if (name.startsWith('.')) return;
  const state = await read(name);
  if (state) {
    if ((state.status === 'failed' || state.status === 'ready') && t - (state.at ?? 0) >= opts.retentionMs)
      await rm(path, { recursive: true, force: true });
    return;
  }
  // No body: an expired reservation goes; a claim whose PUT died with an earlier process is released.
  const reservation = await readFile(join(path, 'reservation.json'), 'utf8').then(
    (s) => JSON.parse(s) as { expiresAt: number },
    () => null,
  );
  const claim = await stat(join(path, 'claim')).then(
    (s) => t - s.mtimeMs,
    () => null,
  );
  if (claim !== null && (starting || claim > 86_400_000)) await rm(join(path, 'claim'), { force: true });
  else if (claim !== null) return;
  if (!reservation || reservation.expiresAt <= t) await rm(path, { recursive: true, force: true });
}

/** Packages one upload, its state written as it goes: packaging with a percentage, then ready or failed. */
async function packageOne(
  opts: QueueOptions,
  id: string,
  source: string,
  signal: AbortSignal,
  write: (id: string, state: UploadStatus) => Promise<void>,
): Promise<void> {
  let last = -1;
  let writing = Promise.resolve();
  const started = performance.now();
  const finished = (status: 'ready' | 'failed') => opts.onFinished?.(status, (performance.now() - started) / 1000);
  try {
    await write(id, { status: 'packaging', percent: 0 });
    await opts.run(id, source, signal, (fraction) => {
      const percent = Math.min(99, Math.floor(fraction * 100));
      if (percent === last) return;
      last = percent;
      writing = writing.then(() => write(id, { status: 'packaging', percent })).catch(() => {});
    });
    await writing;
    await write(id, { status: 'ready' });
    finished('ready');
    await rm(source, { force: true });
  } catch (err) {
    await writing;
    const failure =
      err instanceof JobFailure
        ? err.failure
        : { code: 'encode-failed' as const, reason: 'The video could not be transcoded.' };
    if (signal.aborted) return; // stopped by close(): it runs again after a restart
    opts.events('warn', 'upload packaging failed', {
      videoId: id,
      code: failure.code,
      detail: err instanceof JobFailure ? err.detail : String(err),
    });
    await write(id, { status: 'failed', ...failure }).catch(() => {});
    finished('failed');
  }
}

export function createUploadQueue(opts: QueueOptions) {
  const now = opts.now ?? (() => Date.now());
  const waiting: string[] = [];
  const running = new Map<string, AbortController>();
  const dir = (id: string) => join(opts.uploadsDir, id);
  const write = (id: string, state: UploadStatus) => writeJson(join(dir(id), 'state.json'), { ...state, at: now() });
  const read = async (id: string): Promise<Stored | null> => {
    try {
      return JSON.parse(await readFile(join(dir(id), 'state.json'), 'utf8')) as Stored;
    } catch {
      return null;
    }
  };

  async function runOne(id: string): Promise<void> {
    const abort = new AbortController();
    running.set(id, abort);
    try {
      await packageOne(opts, id, join(dir(id), 'source'), abort.signal, write);
    } finally {
      running.delete(id);
    }
  }

  function pump(): void {
    while (running.size < opts.concurrency && waiting.length > 0) {
      const id = waiting.shift()!;
      void runOne(id).finally(pump);
    }
  }

  function enqueue(id: string): void {
    if (!waiting.includes(id) && !running.has(id)) waiting.push(id);
    pump();
  }

  /** Removes what is past its retention; on start also what an earlier process left midway. */
  async function sweep(starting = false): Promise<void> {
    const t = now();
    for (const name of await readdir(opts.uploadsDir).catch(() => [] as string[])) {
      if (!running.has(name) && !waiting.includes(name)) await sweepEntry(opts, name, t, starting, read);
    }
  }

  // After a restart: leftovers of interrupted packaging runs go, queued and half-done jobs run again.
  const ready = (async () => {
    for (const f of await readdir(opts.mediaDir).catch(() => [] as string[]))
      if (f.startsWith(PACKAGING_PREFIX)) await rm(join(opts.mediaDir, f), { recursive: true, force: true });
    await sweep(true);
    for (const id of await readdir(opts.uploadsDir).catch(() => [] as string[])) {
      const state = await read(id);
      if (state && (state.status === 'uploaded' || state.status === 'packaging')) enqueue(id);
    }
  })().catch((err: unknown) => opts.events('error', 'upload queue could not resume', { error: String(err) }));
  const every = Math.min(600_000, Math.max(1000, opts.retentionMs / 2));
  const timer = setInterval(() => void sweep().catch(() => {}), every);
  timer.unref();

  return {
    enqueue,
    ready,
    sweep,
    /** Jobs waiting and running now (metrics). */
    counts: () => ({ queued: waiting.length, running: running.size }),
    /** Stops the timer and the running jobs (they are resumed by the next start). */
    async close(): Promise<void> {
      clearInterval(timer);
      waiting.length = 0;
      for (const abort of running.values()) abort.abort();
      while (running.size > 0) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

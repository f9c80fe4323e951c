import { readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { contentTypeFor } from '../server/app/mime.ts';
import { parseCatalog, serialiseCatalog, type CatalogEntry } from '../server/app/catalog.ts';
import { MASTER_PLAYLIST, originKey, publishedKey, storageKey } from '../server/app/layout.ts';
import { PackageError } from './errors.ts';
import { filesOf, openR2Bucket, s3Client, type Bucket, type R2Target, type S3Target } from './publish.ts';

// A live stream published where the on-demand packager publishes, while it is written: S3 (`videos/<id>/...`, for
// CloudFront in front) or R2 (`<id>/...` and the bucket's catalog.json, for the Worker). The media folder stays the
// working copy; a mirror copies it every quarter second in the order a player can rely on: new segments (and init
// segments) first, then the media playlists that name them, the master last, and only then removes the segments the
// window slid past. Each object is replaced whole by its PUT (S3 and R2 never show half an object), so a viewer never
// gets a playlist that names a segment not yet there.

/** Where a live stream's files go, by their path inside the video's folder. */
export interface LiveSink {
  /** Where, for messages (`s3://bucket/videos/<id>/`, `r2://bucket/<id>/`). */
  label: string;
  /** Whether a video with this ID is already published there. */
  exists(): Promise<boolean>;
  put(path: string, bytes: Uint8Array): Promise<void>;
  remove(path: string): Promise<void>;
  /** Changes the catalog kept beside the media (R2's catalog.json); S3 has none (the gateway's MEDIA_DIR holds it). */
  catalog?(change: (entries: CatalogEntry[]) => CatalogEntry[]): Promise<void>;
  close(): Promise<void>;
}

export function s3LiveSink(id: string, target: S3Target): LiveSink {
  const { client, base } = s3Client(target);
  const call = async (method: string, path: string, body?: Uint8Array<ArrayBuffer>) => {
    const res = await client.fetch(`${base}/${originKey(id, path)}`, {
      method,
      ...(body
        ? { body, headers: { 'Content-Type': contentTypeFor(path), 'Content-Length': String(body.length) } }
        : {}),
    });
    if (!res.ok && !(method === 'DELETE' && res.status === 404) && !(method === 'HEAD' && res.status === 404))
      throw new PackageError('publish-failed', `S3 answered ${res.status} to ${method} ${originKey(id, path)}`);
    return res;
  };
  return {
    label: `${target.url.replace(/\/$/, '')}/${originKey(id, '')}`,
    exists: async () => (await call('HEAD', MASTER_PLAYLIST)).ok,
    put: async (path, bytes) => void (await call('PUT', path, new Uint8Array(bytes))),
    remove: async (path) => void (await call('DELETE', path)),
    close: async () => {},
  };
}

/**
 * Opens the bucket without letting it take over Ctrl-C: Miniflare (local R2) registers SIGINT/SIGTERM handlers that
 * exit the process at once, which would end a live stream without its EXT-X-ENDLIST. Its handlers are removed; the
 * stream's own (cli/live.ts) end it cleanly.
 */
async function openQuietly(target: R2Target, env: Record<string, string | undefined>): Promise<Bucket> {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const bucket = await openR2Bucket(target, env);
  for (const s of signals)
    for (const listener of process.listeners(s)) if (!before.get(s)!.has(listener)) process.removeListener(s, listener);
  return bucket;
}

export async function r2LiveSink(
  id: string,
  target: R2Target,
  env: Record<string, string | undefined>,
): Promise<LiveSink> {
  let bucket = await openQuietly(target, env);
  // A local bucket's runtime shares the terminal's process group, so Ctrl-C ends it too: the last writes of a
  // stream (ENDLIST, the catalog) go through a bucket opened again.
  const retried = async <T>(op: (b: Bucket) => Promise<T>): Promise<T> => {
    try {
      return await op(bucket);
    } catch {
      await bucket.close().catch(() => {});
      bucket = await openQuietly(target, env);
      return await op(bucket);
    }
  };
  return {
    label: `r2://${target.bucket}/${storageKey(id, '')}`,
    exists: () => retried(async (b) => (await b.get(publishedKey(id))) !== null),
    put: (path, bytes) => retried((b) => b.put(storageKey(id, path), bytes, contentTypeFor(path))),
    remove: (path) => retried((b) => b.delete(storageKey(id, path))),
    catalog: (change) =>
      retried(async (b) => {
        const current = await b.get('catalog.json');
        const text = serialiseCatalog(change(current ? parseCatalog(current) : []));
        parseCatalog(text); // never write what the gateway would refuse
        await b.put('catalog.json', new TextEncoder().encode(text), 'application/json');
      }),
    close: () => bucket.close(),
  };
}

/** Publishing order: everything else, then media playlists, then the master. */
function rank(path: string): number {
  if (path === MASTER_PLAYLIST) return 2;
  return path.endsWith('.m3u8') ? 1 : 0;
}

export interface Mirror {
  /** One more pass now (after the last playlist was written). */
  flush(): Promise<void>;
  stop(): Promise<void>;
  /** Paths published so far. */
  published(): string[];
}

/** Copies `folder` to `sink` every quarter second until stopped; a failed pass is told and tried again. */
export function startMirror(folder: string, sink: LiveSink, onNote: (text: string) => void): Mirror {
  const sent = new Map<string, string>();
  let pass = Promise.resolve();
  let stopped = false;
  const once = async () => {
    const paths = (await filesOf(folder).catch(() => [] as string[]))
      .map((f) => relative(folder, f).split(sep).join('/'))
      .filter((p) => !p.endsWith('.tmp') && !p.split('/').some((s) => s.startsWith('.')))
      .sort((a, b) => rank(a) - rank(b));
    for (const path of paths) {
      const info = await stat(join(folder, path)).catch(() => null);
      if (!info) continue; // the window slid past it meanwhile
      const stamp = `${info.mtimeMs}:${info.size}`;
      if (sent.get(path) === stamp) continue;
      const bytes = await readFile(join(folder, path)).catch(() => null);
      if (!bytes) continue;
      await sink.put(path, bytes);
      sent.set(path, stamp);
    }
    // Only once the playlists that no longer name them are out.
    const present = new Set(paths);
    for (const path of [...sent.keys()])
      if (!present.has(path)) {
        await sink.remove(path);
        sent.delete(path);
      }
  };
  let busy = false;
  const run = () => {
    pass = pass
      .then(once)
      .catch((err: unknown) => onNote(`publishing: ${err instanceof Error ? err.message : String(err)}`));
    return pass;
  };
  // One pass at a time: a slow store (wrangler per file) skips ticks rather than queueing them.
  const timer = setInterval(() => {
    if (stopped || busy) return;
    busy = true;
    void run().finally(() => (busy = false));
  }, 250);
  return {
    flush: () => run(),
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await pass;
    },
    published: () => [...sent.keys()],
  };
}

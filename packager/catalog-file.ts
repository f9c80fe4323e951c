import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCatalog, serialiseCatalog, type CatalogEntry } from '../server/app/catalog.ts';

// catalog.json edited safely: read and validated with the gateway's own rules, changed, validated again, and
// replaced atomically (a temporary file renamed over it), under a lock file so two edits do not lose each other.
// The gateway never sees a half-written catalog. Asynchronous throughout: waiting for the lock never blocks the
// event loop of the process that edits (the gateway, when it publishes an upload).

const LOCK_STALE_MS = 60_000;

export function catalogPath(mediaDir: string): string {
  return join(mediaDir, 'catalog.json');
}

export async function readCatalogFile(mediaDir: string): Promise<CatalogEntry[]> {
  let text: string;
  try {
    text = await readFile(catalogPath(mediaDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return parseCatalog(text);
}

async function lock(mediaDir: string): Promise<() => Promise<void>> {
  const path = join(mediaDir, '.catalog.lock');
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await (await open(path, 'wx')).close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(path).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > LOCK_STALE_MS) await rm(path, { force: true });
      else if (Date.now() > deadline)
        throw new Error(
          `catalog.json is locked by another edit (${path}); remove the lock file if no edit is running`,
          { cause: err },
        );
      else await sleep(50);
    }
  }
}

/** Applies `change` to the catalog and writes the result atomically; returns the new entries. */
export async function updateCatalog(
  mediaDir: string,
  change: (entries: CatalogEntry[]) => CatalogEntry[],
): Promise<CatalogEntry[]> {
  const release = await lock(mediaDir);
  try {
    const next = change(await readCatalogFile(mediaDir));
    const text = serialiseCatalog(next);
    parseCatalog(text); // never write what the gateway would refuse
    const tmp = join(mediaDir, `.catalog.json.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    await writeFile(tmp, text);
    await rename(tmp, catalogPath(mediaDir));
    return next;
  } finally {
    await release();
  }
}

/** Adds or replaces one entry (by id). */
export function upsertEntry(mediaDir: string, entry: CatalogEntry): Promise<CatalogEntry[]> {
  return updateCatalog(mediaDir, (entries) => {
    const i = entries.findIndex((e) => e.id === entry.id);
    return i < 0 ? [...entries, entry] : entries.map((e, j) => (j === i ? entry : e));
  });
}

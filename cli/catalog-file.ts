import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCatalog, serialiseCatalog, type CatalogEntry } from '../server/app/catalog.ts';

// catalog.json edited safely: read and validated with the gateway's own rules, changed, validated again, and
// replaced atomically (a temporary file renamed over it), under a lock file so two edits do not lose each other.
// The gateway never sees a half-written catalog.

const LOCK_STALE_MS = 60_000;

export function catalogPath(mediaDir: string): string {
  return join(mediaDir, 'catalog.json');
}

export function readCatalogFile(mediaDir: string): CatalogEntry[] {
  const path = catalogPath(mediaDir);
  return existsSync(path) ? parseCatalog(readFileSync(path, 'utf8')) : [];
}


function lock(mediaDir: string): () => void {
  const path = join(mediaDir, '.catalog.lock');
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      closeSync(openSync(path, 'wx'));
      return () => rmSync(path, { force: true });
    } catch {
      if (existsSync(path) && Date.now() - statSync(path).mtimeMs > LOCK_STALE_MS) rmSync(path, { force: true });
      else if (Date.now() > deadline) throw new Error(`catalog.json is locked by another edit (${path}); remove the lock file if no edit is running`);
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

/** Applies `change` to the catalog and writes the result atomically; returns the new entries. */
export function updateCatalog(mediaDir: string, change: (entries: CatalogEntry[]) => CatalogEntry[]): CatalogEntry[] {
  const release = lock(mediaDir);
  try {
    const next = change(readCatalogFile(mediaDir));
    const text = serialiseCatalog(next);
    parseCatalog(text); // never write what the gateway would refuse
    const tmp = join(mediaDir, `.catalog.json.${process.pid}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, catalogPath(mediaDir));
    return next;
  } finally {
    release();
  }
}

/** Adds or replaces one entry (by id). */
export function upsertEntry(mediaDir: string, entry: CatalogEntry): CatalogEntry[] {
  return updateCatalog(mediaDir, (entries) => {
    const i = entries.findIndex((e) => e.id === entry.id);
    return i < 0 ? [...entries, entry] : entries.map((e, j) => (j === i ? entry : e));
  });
}

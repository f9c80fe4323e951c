import { readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

// The player page's static files (player/dist, built by scripts/build-player.mjs), served at `/`.

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  json: 'application/json',
};

const PLACEHOLDER = `<!doctype html><meta charset="utf-8"><title>hls-gate</title>
<p>The player page is not built yet: run <code>node scripts/build-player.mjs</code> (npm start does it).</p>`;

export function createAssets(dir: string) {
  const root = resolve(dir);
  return async function assets(path: string): Promise<Response | null> {
    const rel = path === '/' ? 'index.html' : path.slice(1);
    if (rel.includes('..') || rel.includes('\\')) return null;
    const full = resolve(join(root, rel));
    if (!full.startsWith(root + sep)) return null;
    try {
      if (!(await stat(full)).isFile()) return null;
      const ext = full.slice(full.lastIndexOf('.') + 1);
      return new Response(await readFile(full), {
        headers: {
          'Content-Type': TYPES[ext] ?? 'application/octet-stream',
          'Cache-Control': ext === 'html' ? 'no-cache' : 'public, max-age=300',
        },
      });
    } catch {
      return path === '/'
        ? new Response(PLACEHOLDER, { headers: { 'Content-Type': 'text/html; charset=utf-8' } })
        : null;
    }
  };
}

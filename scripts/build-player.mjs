// Bundles the player page (player/src + hls.js) into player/dist: index.html, app.js, app.css.
// Run by `npm start` and `npm test`, so a fresh clone serves a working page.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../player/', import.meta.url));
mkdirSync(`${root}dist`, { recursive: true });
const started = Date.now();
await build({
  entryPoints: { app: `${root}src/main.ts`, 'app-style': `${root}src/style.css` },
  outdir: `${root}dist`,
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'iife',
  target: 'es2020',
  logLevel: 'warning',
});
// esbuild names CSS entries after the key; keep the page's plain name.
copyFileSync(`${root}dist/app-style.css`, `${root}dist/app.css`);
rmSync(`${root}dist/app-style.css`);
// Source maps stay for local debugging; `wrangler deploy` publishes player/dist as static assets, never them.
// https://developers.cloudflare.com/workers/static-assets/binding/#ignoring-assets
writeFileSync(`${root}dist/.assetsignore`, '*.map\n');
copyFileSync(`${root}index.html`, `${root}dist/index.html`);
console.error(`player built into player/dist in ${Date.now() - started} ms`);

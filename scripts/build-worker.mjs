// Bundles the Workers entry into dist/worker/index.js: the same bundle the tests run in workerd (through
// Miniflare). `wrangler deploy` / `wrangler dev` bundle server/worker/index.ts themselves.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export async function buildWorker(outfile = `${root}dist/worker/index.js`) {
  await build({
    entryPoints: [`${root}server/worker/index.ts`],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    logLevel: 'warning',
  });
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) console.error(`built ${await buildWorker()}`);

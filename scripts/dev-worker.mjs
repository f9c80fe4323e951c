// `npm run dev:worker`: the gateway in workerd (wrangler's local mode) with a local R2 bucket seeded from
// media/, the player as static assets. Honours PORT and HOST like `npm start`; with no configuration it is the
// same zero-config demo.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedLocalR2 } from './r2-seed.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
execFileSync(process.execPath, [join(root, 'scripts/build-player.mjs')], { stdio: 'inherit' });
console.error(`seeded ${await seedLocalR2()} objects into the local R2 bucket`);
const port = process.env.PORT || '8787';
const host = process.env.HOST || '127.0.0.1';
const args = [
  'dev',
  '--local',
  '--ip',
  host,
  '--port',
  port,
  '--inspector-port',
  '0',
  '--persist-to',
  join(root, '.wrangler/state'),
];
// Keep wrangler offline and quiet (shared/guides/toolchain.md).
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME ?? mkdtempSync(join(tmpdir(), 'wrangler-')),
};
const child = spawn(join(root, 'node_modules/.bin/wrangler'), args, { cwd: root, env, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code) => process.exit(code ?? 0));

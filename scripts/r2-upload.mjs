// Uploads a packaged video folder (master.m3u8, renditions, segments, keys) to R2 under <video-id>/:
//   node scripts/r2-upload.mjs <folder> --video-id ID [--bucket NAME] [--remote]
// --remote uploads to your Cloudflare account (wrangler login first); without it, to the local dev bucket.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const TYPES = { m3u8: 'application/vnd.apple.mpegurl', ts: 'video/mp2t', m4s: 'video/iso.segment', mp4: 'video/mp4', aac: 'audio/aac', vtt: 'text/vtt', key: 'application/octet-stream' };
const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'video-id': { type: 'string' }, bucket: { type: 'string', default: 'hls-gate-media' }, remote: { type: 'boolean', default: false } } });
const folder = positionals[0];
const id = values['video-id'];
if (!folder || !id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
  console.error('usage: node scripts/r2-upload.mjs <folder> --video-id ID [--bucket NAME] [--remote]   (ID: letters, digits, - and _)');
  process.exit(2);
}
const files = (dir) => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
const list = files(folder);
if (!list.some((f) => relative(folder, f) === 'master.m3u8')) console.error(`warning: ${folder} has no master.m3u8; the gateway links to <id>/master.m3u8 unless catalog.json says otherwise`);
for (const file of list) {
  const key = `${id}/${relative(folder, file).split(sep).join('/')}`;
  const type = TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
  const r = spawnSync(join(root, 'node_modules/.bin/wrangler'), ['r2', 'object', 'put', `${values.bucket}/${key}`, '--file', file, '--content-type', type, values.remote ? '--remote' : '--local', ...(values.remote ? [] : ['--persist-to', join(root, '.wrangler/state')])], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } });
  if (r.status !== 0) process.exit(r.status ?? 1);
  console.error(`uploaded ${key}`);
}
console.error(`${list.length} files uploaded to ${values.bucket}/${id}/ (${values.remote ? 'remote' : 'local'}). Add the video to catalog.json in the bucket to list it.`);

import { existsSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { nginxConfig } from '../server/node/nginx-config.ts';
import { nginxHandOff } from '../server/node/start.ts';
import { UsageError, type Io } from './io.ts';

// `hls-gate nginx-config`: the nginx server block for the gateway as the environment configures it (MEDIA_DIR, HOST,
// PORT, VERDICT_CACHE), to drop into /etc/nginx/conf.d/. The gateway runs with SERVE_VIA_NGINX=true.

export async function nginxConfigCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { listen: { type: 'string', default: '80' }, 'cache-dir': { type: 'string', default: '/var/cache/nginx/hls-gate' } }, strict: true });
  const listen = values.listen;
  if (!/^(?:(?:\d{1,3}\.){3}\d{1,3}:|\[[0-9a-f:]+\]:)?\d{1,5}(?: ssl)?$/i.test(listen)) throw new UsageError(`--listen "${listen}" must be a port or address:port, e.g. 80 or 127.0.0.1:8080`);
  const cacheDir = resolve(values['cache-dir']);
  if (/[\s;{}"']/.test(cacheDir)) throw new UsageError('--cache-dir cannot hold spaces, quotes, braces or semicolons');
  const media = resolve(io.env.MEDIA_DIR || 'media');
  if (!existsSync(media) || !statSync(media).isDirectory()) throw new UsageError(`MEDIA_DIR="${media}" is not a folder; set MEDIA_DIR as the gateway has it`);
  // nginx is told the real path: hls-gate names files by their real path, and nginx follows no symlink.
  const mediaDir = realpathSync(media);
  if (/[\s;{}"'$\\]/.test(mediaDir)) throw new UsageError(`MEDIA_DIR "${mediaDir}" holds a character nginx would misread (space, quote, brace, $, \\ or ;): move it`);
  const port = io.env.PORT || '8787';
  if (!/^\d{1,5}$/.test(port) || port === '0') throw new UsageError(`PORT="${port}" must be the fixed port the gateway listens on`);
  const host = io.env.HOST || '127.0.0.1';
  if (!/^[0-9a-z.:-]+$/i.test(host)) throw new UsageError(`HOST="${host}" is not an address`);
  const upstream = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const handOff = nginxHandOff({ ...io.env, SERVE_VIA_NGINX: 'true' });
  io.stdout(nginxConfig({ listen, upstream, mediaDir, cacheDir, verdictCache: handOff!.verdictCache }));
  if (io.env.SERVE_VIA_NGINX === undefined) io.stderr('hls-gate: run the gateway with SERVE_VIA_NGINX=true behind this configuration\n');
  return 0;
}

import { chmodSync, existsSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NGINX_PATH, nginxConfig } from '../server/node/nginx-config.ts';
import { nginxHandOff } from '../server/node/settings.ts';
import { UsageError, type Io } from './io.ts';

// `hls-gate nginx-config`: the nginx server block for the gateway as the environment configures it (MEDIA_DIR, HOST,
// PORT, VERDICT_CACHE, NGINX_PROXY_SECRET), to drop into /etc/nginx/conf.d/. The gateway runs with SERVE_VIA_NGINX=true.
// The output holds NGINX_PROXY_SECRET (nginx sends it to the gateway with every request): to stdout, or with --out to a
// file only its owner can read (nginx's master process, root, reads it), never to stderr.

export async function nginxConfigCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '80' },
      'cache-dir': { type: 'string', default: '/var/cache/nginx/hls-gate' },
      'access-log': { type: 'string', default: '/var/log/nginx/access.log' },
      'error-log': { type: 'string', default: '/var/log/nginx/error.log' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const listen = values.listen;
  if (!/^(?:(?:\d{1,3}\.){3}\d{1,3}:|\[[0-9a-f:]+\]:)?\d{1,5}(?: ssl)?$/i.test(listen))
    throw new UsageError(`--listen "${listen}" must be a port or address:port, e.g. 80 or 127.0.0.1:8080`);
  const cacheDir = resolve(values['cache-dir']);
  if (/[\s;{}"']/.test(cacheDir)) throw new UsageError('--cache-dir cannot hold spaces, quotes, braces or semicolons');
  const accessLog = values['access-log'];
  if (accessLog !== 'off' && !NGINX_PATH.test(accessLog))
    throw new UsageError(
      `--access-log "${accessLog}" must be an absolute path without spaces, quotes, braces, $, \\ or ; (or off)`,
    );
  const errorLog = values['error-log'];
  if (!NGINX_PATH.test(errorLog))
    throw new UsageError(
      `--error-log "${errorLog}" must be an absolute path without spaces, quotes, braces, $, \\ or ;`,
    );
  const media = resolve(io.env.MEDIA_DIR || 'media');
  if (!existsSync(media) || !statSync(media).isDirectory())
    throw new UsageError(`MEDIA_DIR="${media}" is not a folder; set MEDIA_DIR as the gateway has it`);
  // nginx is told the real path: hls-gate names files by their real path, and nginx follows no symlink.
  const mediaDir = realpathSync(media);
  if (/[\s;{}"'$\\]/.test(mediaDir))
    throw new UsageError(
      `MEDIA_DIR "${mediaDir}" holds a character nginx would misread (space, quote, brace, $, \\ or ;): move it`,
    );
  const port = io.env.PORT || '8787';
  if (!/^\d{1,5}$/.test(port) || port === '0')
    throw new UsageError(`PORT="${port}" must be the fixed port the gateway listens on`);
  const host = io.env.HOST || '127.0.0.1';
  if (!/^[0-9a-z.:-]+$/i.test(host)) throw new UsageError(`HOST="${host}" is not an address`);
  const upstream = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  // The gateway's own checks (VERDICT_CACHE, NGINX_PROXY_SECRET), as if SERVE_VIA_NGINX were set; a refusal is one line.
  const handOff = nginxHandOff({ ...io.env, SERVE_VIA_NGINX: 'true' })!;
  const config = nginxConfig({
    listen,
    upstream,
    mediaDir,
    cacheDir,
    verdictCache: handOff.verdictCache,
    proxySecret: handOff.proxySecret,
    accessLog,
    errorLog,
  });
  if (values.out !== undefined) {
    writePrivate(resolve(values.out), config);
    io.stderr(`hls-gate: wrote ${resolve(values.out)} (readable by its owner only: it holds NGINX_PROXY_SECRET)\n`);
  } else {
    io.stdout(config);
    io.stderr(
      'hls-gate: this configuration holds NGINX_PROXY_SECRET: keep the file readable by root only (--out FILE writes it so)\n',
    );
  }
  if (io.env.SERVE_VIA_NGINX === undefined)
    io.stderr(
      'hls-gate: run the gateway with SERVE_VIA_NGINX=true and the same NGINX_PROXY_SECRET behind this configuration\n',
    );
  return 0;
}

/**
 * Writes `text` to `file` readable by its owner only, whole or not at all: a temporary file beside it (a name nginx's
 * `include conf.d/*.conf` does not match), made private before the secret is written, then renamed over the file.
 */
function writePrivate(file: string, text: string): void {
  const dir = dirname(file);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--out: the folder ${dir} does not exist`);
  const temp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, '', { mode: 0o600, flag: 'wx' });
    chmodSync(temp, 0o600); // whatever the umask
    writeFileSync(temp, text);
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

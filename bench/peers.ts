// Processes for the serving benchmarks: gateway children, nginx (static and secure_link), and wrk.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../server/node/load-env.ts';
import { freePort } from '../test/helpers/ports.ts';

export const TMP = join(REPO_ROOT, 'bench/.tmp');
export const MEDIA = join(TMP, 'media');

/** bench/.tmp/media/bench: a playlist, a 200 KB and a 2 MB segment, a 4 MB segment for the memory test. */
export function prepareMedia(): void {
  const dir = join(MEDIA, 'bench');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(REPO_ROOT, 'media/ladder/240p/index.m3u8'), join(dir, 'index.m3u8'));
  for (const [name, size] of [['seg200k.ts', 200_000], ['seg2m.ts', 2_000_000], ['seg4m.ts', 4_000_000]] as const) {
    if (!existsSync(join(dir, name))) writeFileSync(join(dir, name), randomBytes(size));
  }
}

export async function startGateway(ungated: boolean): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(join(REPO_ROOT, 'node_modules/.bin/tsx'), [join(REPO_ROOT, 'bench/server.ts'), MEDIA, ...(ungated ? ['--ungated'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error('bench server exited')));
  });
  return { url, pid: gatewayPid(child), stop: () => stop(child) };
}

/** tsx runs the script in a child node process; the gateway's own PID is that grandchild. */
function gatewayPid(child: ChildProcess): number {
  try {
    const kids = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    return kids.length > 0 ? Number(kids[kids.length - 1]) : child.pid!;
  } catch {
    return child.pid!;
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

export const NGINX_SECRET = 'bench-secure-link-secret';

export async function startNginx(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const prefix = join(TMP, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  // The usual tokenised-HLS setup: /secure/ checks an MD5 token and expiry (secure_link), /static/ does not.
  writeFileSync(join(prefix, 'nginx.conf'), `
user root;
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  client_body_temp_path ${prefix}/tmp;
  proxy_temp_path ${prefix}/tmp;
  fastcgi_temp_path ${prefix}/tmp;
  uwsgi_temp_path ${prefix}/tmp;
  scgi_temp_path ${prefix}/tmp;
  server {
    listen 127.0.0.1:${port};
    location /static/ { alias ${MEDIA}/; }
    location /secure/ {
      secure_link $arg_md5,$arg_expires;
      secure_link_md5 "$secure_link_expires$uri ${NGINX_SECRET}";
      if ($secure_link = "") { return 403; }
      if ($secure_link = "0") { return 410; }
      alias ${MEDIA}/;
    }
  }
}
`);
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  const child = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`${url}/static/bench/index.m3u8`);
      return { url, stop: () => stop(child) };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nginx did not start: ${readFileSync(join(prefix, 'logs/error.log'), 'utf8').slice(-500)}`);
}

export function secureLinkQuery(uri: string, expires: number): string {
  const md5 = createHash('md5').update(`${expires}${uri} ${NGINX_SECRET}`).digest('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=/g, '');
  return `md5=${md5}&expires=${expires}`;
}

export interface WrkResult {
  requestsPerSec: number;
  mbPerSec: number;
  non2xx: number;
}

/** wrk on one thread (the machine has two cores; the server gets the other). */
export function wrk(url: string, seconds: number, connections: number, headers: Record<string, string> = {}): WrkResult {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  const out = execFileSync('wrk', args, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const t = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(out);
  const mult = { B: 1 / 1e6, KB: 1024 / 1e6, MB: 1048576 / 1e6, GB: 1073741824 / 1e6 }[t?.[2] ?? 'B'] ?? 0;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { requestsPerSec: rps, mbPerSec: Number(t?.[1] ?? 0) * mult, non2xx };
}

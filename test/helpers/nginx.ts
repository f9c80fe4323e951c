// nginx in front of a gateway (SERVE_VIA_NGINX): the configuration `hls-gate nginx-config` prints, in a private
// prefix on loopback. Used by the shared HTTP suite (test/nginx/) and the benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nginxConfig } from '../../server/node/nginx-config.ts';
import { freePort } from './ports.ts';

/** The NGINX_PROXY_SECRET of the test gateways behind nginx: give it to the gateway (startNginx puts it in nginx's configuration). */
export const NGINX_TEST_SECRET = 'nginx-proxy-secret-for-tests-0123456789abcdef';

export interface RunningNginx {
  url: string;
  pid: number;
  /** What nginx has written to its access and error logs so far. */
  logs(): { access: string; error: string };
  stop(): Promise<void>;
}

/**
 * Starts nginx (one worker) in front of the gateway at `upstream`, serving `mediaDir`. `extraHttp` is added to the
 * http block (the benchmarks add a static location); `cpu` pins it (taskset) for the benchmarks.
 */
export async function startNginx(options: {
  upstream: string;
  mediaDir: string;
  verdictCache?: number;
  proxySecret?: string;
  extraServer?: string;
  cpu?: number;
  accessLog?: boolean;
  retries?: number;
}): Promise<RunningNginx> {
  const port = await freePort();
  const prefix = mkdtempSync(join(tmpdir(), 'hls-gate-nginx-'));
  for (const d of ['logs', 'tmp', 'cache']) mkdirSync(join(prefix, d));
  const accessLog = join(prefix, 'logs/access.log');
  const errorLog = join(prefix, 'logs/error.log');
  const server = nginxConfig({
    listen: `127.0.0.1:${port}`,
    upstream: options.upstream,
    mediaDir: realpathSync(options.mediaDir),
    cacheDir: join(prefix, 'cache'),
    verdictCache: options.verdictCache ?? 1,
    proxySecret: options.proxySecret ?? NGINX_TEST_SECRET,
    accessLog: options.accessLog === false ? 'off' : accessLog,
    errorLog,
  });
  const withExtra = options.extraServer ? server.replace(/\n}\n$/, `\n${options.extraServer}\n}\n`) : server;
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${errorLog} warn;
events { worker_connections 4096; }
http {
  # nginx's default format: the printed server replaces it with its own (a configuration without one would use this).
  access_log ${options.accessLog === false ? 'off' : accessLog};
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${prefix}/tmp;
  proxy_temp_path ${prefix}/tmp;
  fastcgi_temp_path ${prefix}/tmp;
  uwsgi_temp_path ${prefix}/tmp;
  scgi_temp_path ${prefix}/tmp;
${withExtra}
}
`,
  );
  if (process.getuid?.() === 0)
    writeFileSync(join(prefix, 'nginx.conf'), `user root;\n${readFileSync(join(prefix, 'nginx.conf'), 'utf8')}`);
  const args = ['-p', prefix, '-c', join(prefix, 'nginx.conf')];
  const child: ChildProcess =
    options.cpu === undefined
      ? spawn('nginx', args, { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('taskset', ['-c', String(options.cpu), 'nginx', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return ''; // nothing written yet
    }
  };
  const logs = () => ({ access: read(accessLog), error: read(errorLog) });
  const stop = () =>
    new Promise<void>((done) => {
      const finish = () => {
        rmSync(prefix, { recursive: true, force: true });
        done();
      };
      if (child.exitCode !== null) return finish();
      child.once('exit', finish);
      child.kill('SIGTERM');
    });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    try {
      await fetch(`${url}/_hls-gate/files/`);
      // Another test's nginx may hold this port (two picked it at once): then ours fails to bind and exits, and the
      // answer came from theirs. Ours must still be running a moment later, or the port is chosen again.
      await new Promise((r) => setTimeout(r, 150));
      if (child.exitCode !== null) {
        await stop();
        if ((options.retries ?? 0) < 3) return startNginx({ ...options, retries: (options.retries ?? 0) + 1 });
        break;
      }
      return { url, pid: child.pid!, logs, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const log = logs().error;
  await stop();
  throw new Error(`nginx did not start: ${stderr}${log}`.slice(-800));
}

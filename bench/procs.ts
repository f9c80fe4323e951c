// The processes the HTTP benchmarks measure, as production runs them: the gateway is the installed command
// (`node bin/hls-gate.js serve`, compiled, request log on, written to a file), nginx runs the configuration
// `hls-gate nginx-config` prints. Servers are pinned to core 0 and the load generator (wrk.ts) to core 1, so neither
// steals the other's CPU.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../server/node/load-env.ts';
import { freePort } from '../test/helpers/ports.ts';
import { NGINX_TEST_SECRET, startNginx, type RunningNginx } from '../test/helpers/nginx.ts';

export const TMP = join(REPO_ROOT, 'bench/.tmp');
export const MEDIA = join(TMP, 'media');
export const KEY_PAIR_ID = 'K2JCJMDEHXQW5F';
export const JWT_SECRET = 'bench-secret-that-is-long-enough-for-hs256';
export const RSA_PEM = readFileSync(join(REPO_ROOT, 'test/fixtures/keys/rsa-pkcs8.pem'), 'utf8');
export const EC_PEM = readFileSync(join(REPO_ROOT, 'test/fixtures/keys/ec-pkcs8.pem'), 'utf8');
/** Servers on core 0, load on core 1 (when the machine has two). */
export const SERVER_CPU = 0;
export const LOAD_CPU = cpus().length > 1 ? 1 : 0;

/**
 * bench/.tmp/media/bench: playlists (a small one and one of 10,000 segments), 200 KB, 2 MB and 4 MB segments; and two
 * catalogs (3 and 1,001 videos) in catalog3/ and catalog1001/.
 */
export function prepareMedia(): void {
  const dir = join(MEDIA, 'bench');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(REPO_ROOT, 'media/ladder/240p/index.m3u8'), join(dir, 'index.m3u8'));
  copyFileSync(join(REPO_ROOT, 'media/ladder/master.m3u8'), join(dir, 'master.m3u8'));
  for (const [name, size] of [
    ['seg200k.ts', 200_000],
    ['seg2m.ts', 2_000_000],
    ['seg4m.ts', 4_000_000],
  ] as const) {
    if (!existsSync(join(dir, name))) writeFileSync(join(dir, name), randomBytes(size));
  }
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-TARGETDURATION:4',
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
  ];
  for (let i = 0; i < 10_000; i++) lines.push('#EXTINF:4.000000,', `segment_${String(i).padStart(5, '0')}.ts`);
  writeFileSync(join(dir, 'big.m3u8'), `${lines.join('\n')}\n#EXT-X-ENDLIST\n`);
  for (const count of [3, 1001]) {
    const root = join(TMP, `catalog${count}`);
    mkdirSync(root, { recursive: true });
    const videos = Array.from({ length: count }, (_, i) => ({
      id: `video-${i}`,
      title: `Video number ${i}`,
      description: 'A video in a large catalog, listed for the benchmark',
      durationSeconds: 600,
      playlist: 'master.m3u8',
    }));
    writeFileSync(join(root, 'catalog.json'), JSON.stringify({ videos }));
  }
}

export interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

/** The gateway as installed, pinned to the server core; `env` adds to the bench configuration. */
export async function startGateway(
  env: Record<string, string> = {},
  name = 'gateway',
): Promise<Server & { port: number }> {
  const port = await freePort();
  const logFile = join(TMP, `${name}.log`);
  const out = openSync(logFile, 'w');
  const child = spawn(
    'taskset',
    ['-c', String(SERVER_CPU), process.execPath, join(REPO_ROOT, 'bin/hls-gate.js'), 'serve'],
    {
      env: {
        PATH: process.env.PATH!,
        CLOUDFRONT_KEY_PAIR_ID: KEY_PAIR_ID,
        CLOUDFRONT_PRIVATE_KEY: RSA_PEM,
        AUTH_JWT_SECRET: JWT_SECRET,
        MEDIA_HOSTS: '127.0.0.1',
        MEDIA_DIR: MEDIA,
        PORT: String(port),
        ...(env.SERVE_VIA_NGINX ? { NGINX_PROXY_SECRET: NGINX_TEST_SECRET } : {}),
        ...env,
      },
      stdio: ['ignore', out, 'pipe'],
    },
  );
  closeSync(out);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    try {
      await fetch(`${url}/healthz`);
      return { url, port, pid: child.pid!, stop: () => stopChild(child) };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await stopChild(child);
  throw new Error(`the gateway did not start (is dist/ built? npm run build): ${stderr.slice(-500)}`);
}

/**
 * A floor server (bench/floor-servers.mjs: what node:http, or Hono on it, allows with none of hls-gate's work), pinned
 * to the server core like the gateway, its log lines written to a file.
 */
export async function startFloor(kind: 'files' | 'grants', env: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  const out = openSync(join(TMP, `floor-${kind}.log`), 'w');
  const child = spawn(
    'taskset',
    ['-c', String(SERVER_CPU), process.execPath, join(REPO_ROOT, 'bench/floor-servers.mjs'), kind, String(port), MEDIA],
    {
      env: { PATH: process.env.PATH!, ...env },
      stdio: ['ignore', out, 'inherit'],
    },
  );
  closeSync(out);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200 && child.exitCode === null; i++) {
    try {
      await fetch(`${url}/bench/index.m3u8`);
      return { url, pid: child.pid!, stop: () => stopChild(child) };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await stopChild(child);
  throw new Error(`the ${kind} floor server did not start`);
}

/** nginx with hls-gate's generated configuration in front of `gateway`, plus /static/ serving the same media. */
export function startFrontNginx(gatewayPort: number, verdictCache: number, mediaDir = MEDIA): Promise<RunningNginx> {
  return startNginx({
    upstream: `127.0.0.1:${gatewayPort}`,
    mediaDir,
    verdictCache,
    cpu: SERVER_CPU,
    extraServer: `  location /static/ { alias ${mediaDir}/; }`,
  });
}

/** The PIDs of nginx's worker processes (the master only forks them). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Resident memory of a process, in MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

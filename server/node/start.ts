import { serve, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import type { Hono } from 'hono';
import { ConfigError, parseConfig, parseDuration, type Env, type GatewayConfig } from '../app/config.ts';
import { buildGateway } from '../app/build.ts';
import { defaultEventLog, type EventLog, type LogEntry } from '../app/log.ts';
import { NGINX_HAND_OFF, NODE_HAND_OFF, createFsStorage } from './fs-storage.ts';
import { BufferReturningResponse } from './file-buffers.ts';
import { withFileResponses } from './file-responses.ts';
import { stdoutLog } from './stdout-log.ts';
import { responseSent } from './response-sent.ts';
import { PROXY_SECRET, type NginxHandOff } from './nginx-config.ts';
import { parseBool } from '../app/mode.ts';
import { createAssets } from './assets.ts';
import { withNodeCrypto } from './native-key.ts';
import { signInBatches } from './sign-batches.ts';
import { createRedisStore } from './redis-store.ts';
import type { UploadSink } from '../app/storage.ts';
import { uploadJobConfig, type UploadJobConfig } from './upload-jobs.ts';
import { REPO_ROOT, loadNodeEnv, readPublicKeyFiles, type DevKey } from './load-env.ts';

export interface RunningGateway {
  url: string;
  config: GatewayConfig;
  app: Hono;
  zeroConfig: boolean;
  /** Start-up warnings for the operator (printed by `npm start`). */
  warnings: string[];
  /** The demo's development key, when it is in use. */
  devKey?: DevKey;
  close(): Promise<void>;
}

export interface StartOptions {
  log?: (entry: LogEntry) => void;
  /** Lines about the gateway itself (session store failures, a broken catalog). Default: JSON on the console. */
  events?: EventLog;
  now?: () => number;
  assetsDir?: string;
}

/**
 * Every connection has a deadline (seconds; see the README): HEADERS_TIMEOUT for the request head (slowloris),
 * REQUEST_TIMEOUT for the whole request, IDLE_TIMEOUT between keep-alive requests, STALL_TIMEOUT without any progress.
 */
export function connectionLimits(env: Env, uploads = false): { headers: number; request: number; idle: number; stall: number } {
  const read = (name: string, fallback: string, max: number): number => {
    const seconds = parseDuration(env[name]?.trim() || fallback, name);
    if (seconds < 1 || seconds > max) throw new ConfigError(`${name} must be between 1 second and ${max} seconds`);
    return seconds;
  };
  const limits = { headers: read('HEADERS_TIMEOUT', '10', 300), request: read('REQUEST_TIMEOUT', uploads ? '3600' : '30', 86400), idle: read('IDLE_TIMEOUT', '5', 600), stall: read('STALL_TIMEOUT', '30', 3600) };
  if (limits.request < limits.headers) throw new ConfigError('REQUEST_TIMEOUT must be at least HEADERS_TIMEOUT');
  return limits;
}

/**
 * SERVE_VIA_NGINX=true: nginx in front serves the granted files (node/nginx-config.ts, `hls-gate nginx-config`).
 * The viewer's address then comes from nginx's X-Forwarded-For, so TRUST_PROXY is implied; VERDICT_CACHE (seconds,
 * default 1, at most 60) is how long nginx may reuse a granted verdict. NGINX_PROXY_SECRET (required, 32 to 1024
 * characters) is what nginx sends with every request to prove it came through nginx: anyone else reaching the
 * gateway's port could otherwise choose its X-Forwarded-For and ask for a hand-off. A request without it is refused
 * (file-responses.ts). The secret is never part of a message.
 */
export function nginxHandOff(env: Env): NginxHandOff | undefined {
  const secret = env.NGINX_PROXY_SECRET?.trim() ?? '';
  if (!parseBool(env.SERVE_VIA_NGINX?.trim() || undefined, 'SERVE_VIA_NGINX')) {
    if (env.VERDICT_CACHE?.trim()) throw new ConfigError('VERDICT_CACHE is for nginx in front: set SERVE_VIA_NGINX=true too, or leave VERDICT_CACHE unset');
    if (secret) throw new ConfigError('NGINX_PROXY_SECRET is for nginx in front: set SERVE_VIA_NGINX=true too, or leave NGINX_PROXY_SECRET unset');
    return undefined;
  }
  if (parseBool(env.TRUST_PROXY?.trim() || undefined, 'TRUST_PROXY') === false) {
    throw new ConfigError('SERVE_VIA_NGINX=true needs the viewer address nginx forwards: leave TRUST_PROXY unset (it is implied) or set it to true');
  }
  const verdictCache = parseDuration(env.VERDICT_CACHE?.trim() || '1', 'VERDICT_CACHE');
  if (verdictCache > 60) throw new ConfigError('VERDICT_CACHE must be at most 60 seconds (0 turns the verdict cache off)');
  const make = 'make one with `openssl rand -hex 32` and give the gateway and `hls-gate nginx-config` the same value';
  if (!secret) throw new ConfigError(`SERVE_VIA_NGINX=true needs NGINX_PROXY_SECRET, which nginx sends with every request so that the gateway answers nginx alone: ${make}`);
  if (!PROXY_SECRET.test(secret)) throw new ConfigError(`NGINX_PROXY_SECRET must be 32 to 1024 characters of A-Z a-z 0-9 . _ ~ + / = - : ${make}`);
  if ([env.AUTH_JWT_SECRET, env.SESSION_SECRET, env.ADMIN_SECRET].some((other) => other?.trim() === secret)) {
    throw new ConfigError('NGINX_PROXY_SECRET must differ from AUTH_JWT_SECRET, SESSION_SECRET and ADMIN_SECRET: it is written into nginx\'s configuration');
  }
  return { verdictCache, proxySecret: secret };
}

/**
 * Uploads on disk and their packaging queue. Loaded on demand: without UPLOADS=true the gateway never loads the
 * packager (nor aws4fetch or m3u8-parser, which it uses).
 */
async function startUploads(mediaDir: string, jobs: UploadJobConfig, options: StartOptions): Promise<{ sink: UploadSink; close(): Promise<void> }> {
  const [{ createFsUploads }, { createUploadQueue }, { packageUpload }] = await Promise.all([import('./fs-uploads.ts'), import('./upload-queue.ts'), import('./package-upload.ts')]);
  const { realpathSync } = await import('node:fs');
  const media = realpathSync(mediaDir);
  let queue: ReturnType<typeof createUploadQueue> | undefined;
  const sink = createFsUploads(media, jobs.minFreeBytes, (id) => queue?.enqueue(id));
  queue = createUploadQueue({
    mediaDir: media,
    uploadsDir: sink.root,
    concurrency: jobs.jobs,
    retentionMs: jobs.retentionSeconds * 1000,
    events: options.events ?? defaultEventLog,
    ...(options.now ? { now: options.now } : {}),
    run: packageUpload({
      mediaDir: media,
      limits: { maxSeconds: jobs.maxSeconds, maxWidth: jobs.maxWidth, maxHeight: jobs.maxHeight, wallBaseSeconds: jobs.wallBaseSeconds, wallFactor: jobs.wallFactor },
      placement: { nice: 10, ...(jobs.cpus ? { cpus: jobs.cpus } : {}) },
      env: process.env, // where ffmpeg is: PATH, FFMPEG_PATH, FFPROBE_PATH
    }),
  });
  return { sink, close: () => queue.close() };
}

/** Starts the gateway on Node: validates config (throws ConfigError), imports keys, listens. */
export async function startNodeGateway(input: Env, options: StartOptions = {}): Promise<RunningGateway> {
  const loaded = await loadNodeEnv(input);
  const { mediaDir, zeroConfig, devKey } = loaded;
  const nginx = nginxHandOff(loaded.env);
  const env = nginx ? { ...loaded.env, TRUST_PROXY: 'true' } : loaded.env;
  const config = readPublicKeyFiles(parseConfig(env));
  const warnings: string[] = [];
  const sessionStore = config.sessions && config.sessions.store !== 'memory' ? createRedisStore(config.sessions.store) : undefined;
  const port = env.PORT === undefined || env.PORT === '' ? 8787 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT="${env.PORT}" must be a port number (0 picks a free one)`);
  const hostname = env.HOST || '127.0.0.1';
  let tls: { key: Buffer; cert: Buffer } | undefined;
  if (env.TLS_CERT_FILE || env.TLS_KEY_FILE) {
    if (!env.TLS_CERT_FILE || !env.TLS_KEY_FILE) throw new ConfigError('HTTPS needs both TLS_CERT_FILE and TLS_KEY_FILE');
    try {
      tls = { cert: readFileSync(env.TLS_CERT_FILE), key: readFileSync(env.TLS_KEY_FILE) };
    } catch {
      throw new ConfigError('cannot read TLS_CERT_FILE or TLS_KEY_FILE');
    }
  }
  const handOff = nginx ? NGINX_HAND_OFF : NODE_HAND_OFF;
  const jobConfig = uploadJobConfig(env, Boolean(config.uploads));
  const uploads = jobConfig ? await startUploads(mediaDir, jobConfig, options) : undefined;
  const stopped = new AbortController();
  const app = await buildGateway(config, createFsStorage(mediaDir, { handOff }), {
    background: stopped.signal,
    assets: createAssets(options.assetsDir ?? join(REPO_ROOT, 'player/dist')),
    clientIp: (c) => getConnInfo(c).remote.address ?? null,
    nativeSigner: (key, pem) => signInBatches(withNodeCrypto(key, pem)),
    warn: (message) => warnings.push(message),
    ...(sessionStore ? { sessionStore } : {}),
    ...(uploads ? { uploads: uploads.sink } : {}),
    log: options.log ?? stdoutLog(),
    whenSent: responseSent,
    ...(options.events ? { events: options.events } : {}),
    ...(options.now ? { now: options.now } : {}),
  });

  const limits = connectionLimits(env, Boolean(config.uploads));
  const serverOptions = {
    // Returns file buffers to their pool once sent (file-buffers.ts).
    ServerResponse: BufferReturningResponse,
    headersTimeout: limits.headers * 1000,
    requestTimeout: limits.request * 1000,
    keepAliveTimeout: limits.idle * 1000,
    // How often Node looks for requests over headersTimeout/requestTimeout (default 30 s, far coarser than them).
    connectionsCheckingInterval: Math.min(1000, limits.headers * 500),
  };
  const server: ServerType = await new Promise((resolveServer, reject) => {
    const s = serve(
      {
        fetch: withFileResponses(app.fetch, handOff, nginx),
        port,
        hostname,
        serverOptions: { ...serverOptions, ...(tls ?? {}) },
        ...(tls ? { createServer: createHttpsServer } : {}),
      },
      () => resolveServer(s),
    );
    s.once('error', reject);
  });
  // A connection with no progress either way for this long (a viewer that stopped reading, a stalled upload) is
  // reset, not closed: a FIN would queue behind the megabytes still unsent, and the kernel would keep them (and the
  // socket, in FIN-WAIT-1) for minutes after the gateway let go; a RST frees them at once. Node raises the same
  // event when a keep-alive connection has been idle for IDLE_TIMEOUT: there the whole answer has been handed to the
  // kernel and the viewer may still be reading it out of the socket buffers, so that connection is closed with a FIN
  // behind the data (a RST would discard it: a slow viewer's 2 MB segment cut short). Bytes the socket has not yet
  // handed to the kernel (writableLength) tell the two apart.
  server.setTimeout(limits.stall * 1000);
  server.on('timeout', (socket: Socket) => {
    if (socket.writableLength === 0) {
      socket.destroy();
      return;
    }
    try {
      socket.resetAndDestroy();
    } catch {
      socket.destroy(); // a handle that cannot be reset (TLS): closed as before
    }
  });
  if ('keepAliveTimeout' in server) server.keepAliveTimeout = limits.idle * 1000;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${address.port}`,
    config,
    app,
    zeroConfig,
    warnings,
    ...(devKey ? { devKey } : {}),
    close: () =>
      new Promise<void>((done) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        stopped.abort();
        server.close(() => {
          void sessionStore?.close();
          void (uploads?.close() ?? Promise.resolve()).then(done);
        });
      }),
  };
}

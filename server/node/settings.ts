import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError, parseConfig, refuseConfig, seconds, type Env, type GatewayConfig } from '../app/config.ts';
import { parseBool } from '../app/mode.ts';
import { PROXY_SECRET, type NginxHandOff } from './nginx-config.ts';
import { loadNodeEnv, readPublicKeyFiles, type DevKey } from './load-env.ts';

// Every setting of the gateway on Node, validated before anything starts: the gateway's own (app/config.ts, after
// the zero-configuration rule and the key files, node/load-env.ts), then the ones only Node has: where it listens,
// connection deadlines, nginx in front, and the packaging of uploads.

export interface ConnectionLimits {
  headers: number;
  request: number;
  idle: number;
  stall: number;
}

/**
 * Every connection has a deadline (seconds; see the README): HEADERS_TIMEOUT for the request head (slowloris),
 * REQUEST_TIMEOUT for the whole request, IDLE_TIMEOUT between keep-alive requests, STALL_TIMEOUT without any progress.
 */
export function connectionLimits(env: Env, uploads = false): ConnectionLimits {
  const limits = {
    headers: seconds(env, 'HEADERS_TIMEOUT', '10', { min: 1, max: 300 }),
    request: seconds(env, 'REQUEST_TIMEOUT', uploads ? '3600' : '30', { min: 1, max: 86400 }),
    idle: seconds(env, 'IDLE_TIMEOUT', '5', { min: 1, max: 600 }),
    stall: seconds(env, 'STALL_TIMEOUT', '30', { min: 1, max: 3600 }),
  };
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
    if (env.VERDICT_CACHE?.trim())
      throw new ConfigError(
        'VERDICT_CACHE is for nginx in front: set SERVE_VIA_NGINX=true too, or leave VERDICT_CACHE unset',
      );
    if (secret)
      throw new ConfigError(
        'NGINX_PROXY_SECRET is for nginx in front: set SERVE_VIA_NGINX=true too, or leave NGINX_PROXY_SECRET unset',
      );
    return undefined;
  }
  if (parseBool(env.TRUST_PROXY?.trim() || undefined, 'TRUST_PROXY') === false) {
    throw new ConfigError(
      'SERVE_VIA_NGINX=true needs the viewer address nginx forwards: leave TRUST_PROXY unset (it is implied) or set it to true',
    );
  }
  const verdictCache = seconds(env, 'VERDICT_CACHE', '1', { min: 0, max: 60, zero: '0 turns the verdict cache off' });
  const make = 'make one with `openssl rand -hex 32` and give the gateway and `hls-gate nginx-config` the same value';
  if (!secret)
    throw new ConfigError(
      `SERVE_VIA_NGINX=true needs NGINX_PROXY_SECRET, which nginx sends with every request so that the gateway answers nginx alone: ${make}`,
    );
  if (!PROXY_SECRET.test(secret))
    throw new ConfigError(`NGINX_PROXY_SECRET must be 32 to 1024 characters of A-Z a-z 0-9 . _ ~ + / = - : ${make}`);
  if ([env.AUTH_JWT_SECRET, env.SESSION_SECRET, env.ADMIN_SECRET].some((other) => other?.trim() === secret)) {
    throw new ConfigError(
      "NGINX_PROXY_SECRET must differ from AUTH_JWT_SECRET, SESSION_SECRET and ADMIN_SECRET: it is written into nginx's configuration",
    );
  }
  return { verdictCache, proxySecret: secret };
}

/**
 * Where and how uploads are packaged on Node (read only with UPLOADS=true): the limits a stranger's source must stay
 * within, how many jobs run at once and on which CPUs, the free-space floor, and how long leftovers are kept.
 */
export interface UploadJobConfig {
  maxSeconds: number;
  maxWidth: number;
  maxHeight: number;
  wallBaseSeconds: number;
  wallFactor: number;
  jobs: number;
  /** `taskset -c` list, or undefined for no pinning. */
  cpus?: string;
  minFreeBytes: number;
  retentionSeconds: number;
}

const NODE_UPLOAD_VARS = [
  'UPLOAD_MAX_SECONDS',
  'UPLOAD_JOBS',
  'UPLOAD_JOB_CPUS',
  'UPLOAD_MIN_FREE_BYTES',
  'UPLOAD_RETENTION',
];

/** A frame no larger than 4096 on either side (4K DCI): larger sources are refused before transcoding. */
const MAX_SIDE = 4096;

export function uploadJobConfig(env: Env, uploads: boolean): UploadJobConfig | undefined {
  const get = (name: string) => env[name]?.trim() || undefined;
  if (!uploads) {
    const stray = NODE_UPLOAD_VARS.find((n) => get(n) !== undefined);
    if (stray) throw new ConfigError(`${stray} needs UPLOADS=true`);
    return undefined;
  }
  const maxSeconds = seconds(env, 'UPLOAD_MAX_SECONDS', '3h', { min: 1, max: 86400, why: 'e.g. 3h' });
  const jobs = Number(get('UPLOAD_JOBS') ?? '1');
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64)
    throw new ConfigError('UPLOAD_JOBS must be a whole number from 1 to 64 (packaging jobs at once)');
  // By default the jobs keep off the first CPU (the gateway's event loop is scheduled there freely) when there are two
  // or more; `all` leaves them unpinned.
  const cpuCount = availableParallelism();
  const cpuSetting = get('UPLOAD_JOB_CPUS') ?? (cpuCount >= 2 ? `1-${cpuCount - 1}` : 'all');
  if (cpuSetting !== 'all' && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(cpuSetting))
    throw new ConfigError('UPLOAD_JOB_CPUS must be a CPU list such as 1 or 2-3 or 1,3, or all');
  const minFree = Number(get('UPLOAD_MIN_FREE_BYTES') ?? String(1024 ** 3));
  if (!Number.isInteger(minFree) || minFree < 0)
    throw new ConfigError('UPLOAD_MIN_FREE_BYTES must be a whole number of bytes (0 turns the floor off)');
  const retentionSeconds = seconds(env, 'UPLOAD_RETENTION', '1d', { min: 1, max: 30 * 86400 });
  return {
    maxSeconds,
    maxWidth: MAX_SIDE,
    maxHeight: MAX_SIDE,
    wallBaseSeconds: 120,
    wallFactor: 10,
    jobs,
    ...(cpuSetting !== 'all' ? { cpus: cpuSetting } : {}),
    minFreeBytes: minFree,
    retentionSeconds,
  };
}

export interface ListenSettings {
  port: number;
  hostname: string;
  tls?: { key: string; cert: string };
}

/** PORT (default 8787; 0 picks a free one), HOST (default 127.0.0.1), and HTTPS with TLS_CERT_FILE and TLS_KEY_FILE. */
export function listenSettings(env: Env): ListenSettings {
  const port = env.PORT === undefined || env.PORT === '' ? 8787 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    refuseConfig(`PORT="${env.PORT}" must be a port number (0 picks a free one)`);
  const hostname = env.HOST || '127.0.0.1';
  if (!env.TLS_CERT_FILE && !env.TLS_KEY_FILE) return { port, hostname };
  if (!env.TLS_CERT_FILE || !env.TLS_KEY_FILE) return refuseConfig('HTTPS needs both TLS_CERT_FILE and TLS_KEY_FILE');
  try {
    return {
      port,
      hostname,
      tls: { cert: readFileSync(env.TLS_CERT_FILE, 'utf8'), key: readFileSync(env.TLS_KEY_FILE, 'utf8') },
    };
  } catch {
    return refuseConfig('cannot read TLS_CERT_FILE or TLS_KEY_FILE');
  }
}

export interface OperationsSettings {
  /** METRICS_PORT: Prometheus metrics on their own listener (METRICS_HOST, default 127.0.0.1; METRICS_TOKEN). */
  metrics?: { host: string; port: number; token?: string };
  /** SHUTDOWN_GRACE: seconds in-flight responses get to finish after SIGTERM (default 10). */
  shutdownGrace: number;
  /** OTEL_*: traces to an OTLP endpoint (server/node/tracing.ts). */
  tracing: boolean;
}

/**
 * Whether the environment asks for traces (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
 * OTEL_TRACES_EXPORTER=otlp or an OTLP endpoint; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn them off.
 */
export function tracingWanted(env: Env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return false;
  const exporter = (env.OTEL_TRACES_EXPORTER ?? '').toLowerCase();
  if (exporter === 'none') return false;
  return exporter === 'otlp' || Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** Metrics, shutdown and traces: off unless asked for, refused at start-up when malformed. */
export function operationsSettings(env: Env): OperationsSettings {
  const shutdownGrace = seconds(env, 'SHUTDOWN_GRACE', '10', { min: 0, max: 600 });
  const tracing = tracingWanted(env);
  if (env.METRICS_PORT === undefined || env.METRICS_PORT === '') {
    if (env.METRICS_TOKEN || env.METRICS_HOST) refuseConfig('METRICS_TOKEN and METRICS_HOST need METRICS_PORT');
    return { shutdownGrace, tracing };
  }
  const port = Number(env.METRICS_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    refuseConfig(`METRICS_PORT="${env.METRICS_PORT}" must be a port number (0 picks a free one)`);
  const host = env.METRICS_HOST || '127.0.0.1';
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) refuseConfig(`METRICS_HOST="${host}" must be an address or host name`);
  const token = env.METRICS_TOKEN;
  if (token !== undefined && (token.length < 16 || /\s/.test(token)))
    refuseConfig('METRICS_TOKEN must be at least 16 characters without spaces (Prometheus sends it as a bearer token)');
  const loopback = host === 'localhost' || host.startsWith('127.') || host === '::1';
  if (!loopback && !token)
    refuseConfig(`METRICS_HOST=${host} exposes the metrics beyond this machine: set METRICS_TOKEN too`);
  return { metrics: { host, port, ...(token ? { token } : {}) }, shutdownGrace, tracing };
}

export interface NodeSettings {
  config: GatewayConfig;
  mediaDir: string;
  zeroConfig: boolean;
  /** The demo's development key, when it is in use. */
  devKey?: DevKey;
  listen: ListenSettings;
  limits: ConnectionLimits;
  /** SERVE_VIA_NGINX=true: nginx in front serves the granted files. */
  nginx?: NginxHandOff;
  /** UPLOADS=true: how uploads are packaged. */
  uploadJobs?: UploadJobConfig;
  operations: OperationsSettings;
}

/** All of them, in the order a refusal is reported; throws ConfigError with what to set. */
export async function loadNodeSettings(input: Env): Promise<NodeSettings> {
  const loaded = await loadNodeEnv(input);
  const nginx = nginxHandOff(loaded.env);
  // nginx forwards the viewer's address: TRUST_PROXY is implied.
  const env = nginx ? { ...loaded.env, TRUST_PROXY: 'true' } : loaded.env;
  const config = readPublicKeyFiles(parseConfig(env, loaded.mode));
  const listen = listenSettings(env);
  const uploadJobs = uploadJobConfig(env, Boolean(config.uploads));
  return {
    config,
    mediaDir: loaded.mediaDir,
    zeroConfig: loaded.mode.zeroConfig,
    ...(loaded.devKey ? { devKey: loaded.devKey } : {}),
    listen,
    limits: connectionLimits(env, Boolean(config.uploads)),
    ...(nginx ? { nginx } : {}),
    ...(uploadJobs ? { uploadJobs } : {}),
    operations: operationsSettings(env),
  };
}

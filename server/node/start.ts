import { serve, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import type { Hono } from 'hono';
import type { Env, GatewayConfig } from '../app/config.ts';
import { buildGateway, type BuildExtras } from '../app/build.ts';
import { defaultEventLog, type EventLog, type LogEntry } from '../app/log.ts';
import { NGINX_HAND_OFF, NODE_HAND_OFF, createFsStorage } from './fs-storage.ts';
import { BufferReturningResponse } from './file-buffers.ts';
import { withFileResponses } from './file-responses.ts';
import { stdoutLog } from './stdout-log.ts';
import { responseSent } from './response-sent.ts';
import { createAssets } from './assets.ts';
import { withNodeCrypto } from './native-key.ts';
import { signInBatches } from './sign-batches.ts';
import { createRedisStore } from './redis-store.ts';
import type { UploadSink } from '../app/storage.ts';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { createGatewayMetrics, serveMetrics, type MetricsListener } from './metrics.ts';
import type { Instrument } from '../app/instrument.ts';
import { REPO_ROOT, type DevKey } from './load-env.ts';
import { loadNodeSettings, type ConnectionLimits, type NodeSettings, type UploadJobConfig } from './settings.ts';

export interface RunningGateway {
  url: string;
  config: GatewayConfig;
  app: Hono;
  zeroConfig: boolean;
  /** Start-up warnings for the operator (printed by `npm start`). */
  warnings: string[];
  /** The demo's development key, when it is in use. */
  devKey?: DevKey;
  /** Where Prometheus scrapes, with METRICS_PORT. */
  metricsUrl?: string;
  /** Stops at once: every connection cut (tests). */
  close(): Promise<void>;
  /**
   * SIGTERM: stops accepting, lets responses in flight finish for up to SHUTDOWN_GRACE (then cuts them), stops the
   * packaging jobs (each resumes on the next start), closes the session store and the metrics listener.
   */
  shutdown(): Promise<void>;
}

export interface StartOptions {
  log?: (entry: LogEntry) => void;
  /** Lines about the gateway itself (session store failures, a broken catalog). Default: JSON on the console. */
  events?: EventLog;
  now?: () => number;
  assetsDir?: string;
  /** Traces to this exporter whatever OTEL_* says (tests: an in-memory exporter). */
  traceExporter?: SpanExporter;
}

/**
 * Uploads on disk and their packaging queue. Loaded on demand: without UPLOADS=true the gateway never loads the
 * packager (nor aws4fetch or m3u8-parser, which it uses).
 */
async function startUploads(
  mediaDir: string,
  jobs: UploadJobConfig,
  options: StartOptions,
  onFinished?: (status: 'ready' | 'failed', seconds: number) => void,
): Promise<{ sink: UploadSink; counts(): { queued: number; running: number }; close(): Promise<void> }> {
  const [{ createFsUploads }, { createUploadQueue }, { packageUpload }] = await Promise.all([
    import('./fs-uploads.ts'),
    import('./upload-queue.ts'),
    import('./package-upload.ts'),
  ]);
  const { realpathSync } = await import('node:fs');
  const media = realpathSync(mediaDir);
  // The sink tells the queue of each accepted upload; the queue is made after it, so the callback reads it late.
  const later: { queue?: ReturnType<typeof createUploadQueue> } = {};
  const sink = createFsUploads(media, jobs.minFreeBytes, (id) => later.queue?.enqueue(id));
  const queue = createUploadQueue({
    mediaDir: media,
    uploadsDir: sink.root,
    concurrency: jobs.jobs,
    retentionMs: jobs.retentionSeconds * 1000,
    events: options.events ?? defaultEventLog,
    ...(onFinished ? { onFinished } : {}),
    ...(options.now ? { now: options.now } : {}),
    run: packageUpload({
      mediaDir: media,
      limits: {
        maxSeconds: jobs.maxSeconds,
        maxWidth: jobs.maxWidth,
        maxHeight: jobs.maxHeight,
        wallBaseSeconds: jobs.wallBaseSeconds,
        wallFactor: jobs.wallFactor,
      },
      placement: { nice: 10, ...(jobs.cpus ? { cpus: jobs.cpus } : {}) },
      env: process.env, // where ffmpeg is: PATH, FFMPEG_PATH, FFPROBE_PATH
    }),
  });
  later.queue = queue;
  return { sink, counts: () => queue.counts(), close: () => queue.close() };
}

/** Starts the gateway on Node: validates config (throws ConfigError), imports keys, listens. */
export async function startNodeGateway(input: Env, options: StartOptions = {}): Promise<RunningGateway> {
  const settings = await loadNodeSettings(input);
  const { config, mediaDir, zeroConfig, devKey, nginx } = settings;
  const warnings: string[] = [];
  const sessionStore =
    config.sessions && config.sessions.store !== 'memory' ? createRedisStore(config.sessions.store) : undefined;
  const handOff = nginx ? NGINX_HAND_OFF : NODE_HAND_OFF;
  const ops = settings.operations;
  const { metrics, tracing, extras: observed } = await observability(settings, options);
  const uploads = settings.uploadJobs
    ? await startUploads(mediaDir, settings.uploadJobs, options, (status, seconds) =>
        metrics?.jobFinished(status, seconds),
      )
    : undefined;
  if (uploads) metrics?.sources({ uploadJobs: () => uploads.counts() });
  const stopped = new AbortController();
  const app = await buildGateway(config, createFsStorage(mediaDir, { handOff }), {
    background: stopped.signal,
    assets: createAssets(options.assetsDir ?? join(REPO_ROOT, 'player/dist')),
    clientIp: (c) => getConnInfo(c).remote.address ?? null,
    nativeSigner: (key, pem) => signInBatches(withNodeCrypto(key, pem)),
    warn: (message) => warnings.push(message),
    ...(sessionStore ? { sessionStore } : {}),
    ...(uploads ? { uploads: uploads.sink } : {}),
    ...observed,
    whenSent: responseSent,
    ...(options.events ? { events: options.events } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const server = await listen(withFileResponses(app.fetch, nginx), settings);
  const metricsListener: MetricsListener | undefined =
    metrics && ops.metrics ? await serveMetrics(metrics.registry, ops.metrics) : undefined;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const httpServer = server as { closeAllConnections?: () => void; closeIdleConnections?: () => void };
  /** Stops listening; connections still open after `graceMs` are cut; then everything else is closed. */
  const stop = (graceMs: number) =>
    new Promise<void>((done) => {
      stopped.abort();
      const cut = setTimeout(() => httpServer.closeAllConnections?.(), graceMs);
      server.close(() => {
        clearTimeout(cut);
        void Promise.all([
          sessionStore?.close(),
          uploads?.close(),
          metricsListener?.close(),
          tracing?.shutdown().catch(() => {}),
        ]).then(() => done());
      });
      // Keep-alive connections with nothing in flight go now; one finishing its response closes after it.
      httpServer.closeIdleConnections?.();
    });
  return {
    url: `${settings.listen.tls ? 'https' : 'http'}://${host}:${address.port}`,
    config,
    app,
    zeroConfig,
    warnings,
    ...(devKey ? { devKey } : {}),
    ...(metricsListener ? { metricsUrl: metricsListener.url } : {}),
    close: () => stop(0),
    shutdown: () => stop(ops.shutdownGrace * 1000),
  };
}

/** Metrics (METRICS_PORT) and traces (OTEL_*): what the build is given to time, log and trace with. */
async function observability(settings: NodeSettings, options: StartOptions) {
  const ops = settings.operations;
  const metrics = ops.metrics ? createGatewayMetrics() : undefined;
  // Traces are loaded only when asked for: without OTEL_* the gateway never loads OpenTelemetry.
  const traces = ops.tracing || options.traceExporter ? await import('./tracing.ts') : undefined;
  const tracing = traces ? await traces.createTracing(options.traceExporter) : undefined;
  const instrument: Instrument | undefined =
    tracing && metrics && traces
      ? traces.bothInstruments(tracing.instrument, metrics.instrument)
      : (tracing?.instrument ?? metrics?.instrument);
  const baseLog = options.log ?? stdoutLog();
  const extras: Pick<BuildExtras, 'log' | 'instrument' | 'observe' | 'built'> = {
    log: metrics
      ? (entry) => {
          metrics.request(entry);
          baseLog(entry);
        }
      : baseLog,
    ...(instrument ? { instrument } : {}),
    ...(tracing ? { observe: tracing.middleware } : {}),
    ...(metrics
      ? {
          built: (deps) =>
            metrics.sources({
              // The gateway's grants are SHA-1 (CloudFront's default), with the key's own algorithm.
              algorithm: `${deps.signingKey.type}-sha1`,
              verifier: () => deps.verifier.stats(),
              ...(deps.holdBudget ? { heldRequests: () => deps.holdBudget?.held ?? 0 } : {}),
              ...(deps.sessions
                ? {
                    revocations: async () =>
                      (await deps.sessions!.store.revocations(Math.floor(Date.now() / 1000))).length,
                    activeLeases: async () =>
                      (await deps.sessions!.store.activeLeases?.(Math.floor(Date.now() / 1000))) ?? 0,
                  }
                : {}),
            }),
        }
      : {}),
  };
  return { metrics, tracing, extras };
}

/** The HTTP(S) server with every connection deadline (settings.ts) in place, once it listens. */
async function listen(fetch: ReturnType<typeof withFileResponses>, settings: NodeSettings): Promise<ServerType> {
  const { limits, listen: where } = settings;
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
        fetch,
        port: where.port,
        hostname: where.hostname,
        serverOptions: { ...serverOptions, ...(where.tls ?? {}) },
        ...(where.tls ? { createServer: createHttpsServer } : {}),
      },
      () => resolveServer(s),
    );
    s.once('error', reject);
  });
  resetStalledConnections(server, limits);
  if ('keepAliveTimeout' in server) server.keepAliveTimeout = limits.idle * 1000;
  return server;
}

function resetStalledConnections(server: ServerType, limits: ConnectionLimits): void {
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
}

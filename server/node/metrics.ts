import { createServer, type Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DENIALS } from '../core/denials.ts';
import type { VerifierStats } from '../core/index.ts';
import { GRANT_ROUTES, ROUTES } from '../app/layout.ts';
import { PROBLEMS } from '../app/problems.ts';
import type { Instrument, Operation } from '../app/instrument.ts';
import type { LogEntry } from '../app/log.ts';

// Prometheus metrics for the Node gateway (prom-client), served on their own listener (METRICS_PORT, loopback by
// default) so that a public port never exposes them. Every label has a bounded set of values: routes are patterns
// (`/videos/:videoId/*`), refusal reasons come from the gateway's own tables (anything else is `other`), statuses are
// numbers; never a viewer, an address, a token or a path with an ID in it.
// Naming: https://prometheus.io/docs/practices/naming/ (base units, `_total` for counters, `_seconds`, `_bytes`).

const PREFIX = 'hlsgate_';
const KNOWN_REASONS = new Set<string>([...Object.keys(DENIALS), ...Object.keys(PROBLEMS)]);
const KNOWN_ROUTES = new Set<string>(Object.values(ROUTES));
/** The operations timed into histograms: signing (per grant) and the session store (per Redis round trip). */
const TIMED: readonly Operation[] = ['sign', 'session-store'];

export interface GatewayMetrics {
  registry: Registry;
  /** Counts one request from its log entry (route, status, bytes, refusal). */
  request(entry: LogEntry): void;
  /** Times operations (signing, verification, the session store, storage) into histograms. */
  instrument: Instrument;
  /** Read at each scrape: the verifier's counters, the revocations in force, held blocking requests, upload jobs. */
  sources(s: MetricSources): void;
  /** An upload packaging job ended. */
  jobFinished(status: 'ready' | 'failed', seconds: number): void;
}

export interface MetricSources {
  /** What the gateway signs with: `rsa-sha1`, `ecdsa-sha1`. */
  algorithm?: string;
  verifier?: () => VerifierStats;
  /** Leases live over every viewer (session control with stream limits). */
  activeLeases?: () => Promise<number>;
  /** Upload packaging jobs waiting and running (UPLOADS=true). */
  uploadJobs?: () => { queued: number; running: number };
  revocations?: () => Promise<number>;
  heldRequests?: () => number;
}

/** What each request adds to, and the operations' timings. */
function requestMetrics(registry: Registry) {
  const requests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'Requests answered, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const bytes = new Counter({
    name: `${PREFIX}http_response_bytes_total`,
    help: 'Response body bytes sent (as declared by Content-Length), by route pattern.',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Time from the request to the last byte sent, by route pattern.',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const grants = new Counter({
    name: `${PREFIX}grants_total`,
    help: 'Grants issued: signed cookies, device links, upload URLs.',
    labelNames: ['kind', 'algorithm'] as const,
    registers: [registry],
  });
  const refusals = new Counter({
    name: `${PREFIX}refusals_total`,
    help: 'Requests refused, by reason (the DENIALS and PROBLEMS tables; other when unknown).',
    labelNames: ['reason', 'status'] as const,
    registers: [registry],
  });
  const operations = new Histogram({
    name: `${PREFIX}operation_duration_seconds`,
    help: 'Signing, signature verification, session store and storage calls.',
    labelNames: ['operation'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const operationErrors = new Counter({
    name: `${PREFIX}operation_errors_total`,
    help: 'Calls that failed, by operation (session-store: the store errored or was unreachable).',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  const jobs = new Histogram({
    name: `${PREFIX}upload_job_duration_seconds`,
    help: 'Upload packaging jobs that ended, by outcome (ready, failed), and how long each ran.',
    labelNames: ['status'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  return { requests, bytes, duration, grants, refusals, operations, operationErrors, jobs };
}

/** Metrics read at each scrape from what the gateway already counts. */
function scrapeMetrics(registry: Registry, read: () => MetricSources): void {
  new Counter({
    name: `${PREFIX}verifications_total`,
    help: 'Signatures verified with the public key (a cache miss).',
    registers: [registry],
    collect() {
      const s = read().verifier?.();
      if (s) {
        this.reset();
        this.inc(s.verifications);
      }
    },
  });
  new Counter({
    name: `${PREFIX}verification_cache_hits_total`,
    help: 'Signature checks answered from the cache of verified signatures.',
    registers: [registry],
    collect() {
      const s = read().verifier?.();
      if (s) {
        this.reset();
        this.inc(s.cacheHits);
      }
    },
  });
  new Gauge({
    name: `${PREFIX}revocations`,
    help: 'Revocations in force (session control).',
    registers: [registry],
    async collect() {
      const revocations = read().revocations;
      if (revocations) this.set(await revocations().catch(() => Number.NaN));
    },
  });
  new Gauge({
    name: `${PREFIX}active_leases`,
    help: 'Device sessions holding a lease now, over every viewer (session control with MAX_STREAMS_PER_VIEWER).',
    registers: [registry],
    async collect() {
      const active = read().activeLeases;
      if (active) this.set(await active().catch(() => Number.NaN));
    },
  });
  new Gauge({
    name: `${PREFIX}upload_jobs`,
    help: 'Upload packaging jobs now, by state (queued, running).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const jobs = read().uploadJobs?.();
      if (!jobs) return;
      this.set({ state: 'queued' }, jobs.queued);
      this.set({ state: 'running' }, jobs.running);
    },
  });
  new Gauge({
    name: `${PREFIX}held_playlist_requests`,
    help: 'Low-latency playlist requests held until the playlist changes (blocking reload).',
    registers: [registry],
    collect() {
      const held = read().heldRequests;
      if (held) this.set(held());
    },
  });
}

/** The gateway's metrics; what it signs with (a label of every grant) comes with the sources, once keys are loaded. */
export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  // prom-client names three gauges `..._total`, which Prometheus reserves for counters (promtool check metrics
  // refuses them): the process's handle and request counts are left out rather than misnamed.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
    registry.removeSingleMetric(`${PREFIX}${name}`);
  const { requests, bytes, duration, grants, refusals, operations, operationErrors, jobs } = requestMetrics(registry);
  let sources: MetricSources = {};
  scrapeMetrics(registry, () => sources);
  // Every timed operation starts at 0, so rate() and alerts see a series before its first event.
  for (const op of TIMED) operationErrors.inc({ operation: op }, 0);
  // Label children kept per value set (each set is bounded): no label hashing on a request's path.
  const children = new Map<string, { inc(n?: number): void; observe?(v: number): void }>();
  const child = <T extends { inc(n?: number): void }>(key: string, make: () => T): T => {
    let c = children.get(key) as T | undefined;
    if (!c) children.set(key, (c = make()));
    return c;
  };
  const durations = new Map<string, { observe(v: number): void }>();

  return {
    registry,
    request(entry) {
      const route = entry.route && KNOWN_ROUTES.has(entry.route) ? entry.route : 'other';
      const status = String(entry.status);
      child(`r ${route} ${entry.method} ${status}`, () => requests.labels(route, entry.method, status)).inc();
      if (entry.bytes) child(`b ${route}`, () => bytes.labels(route)).inc(entry.bytes);
      let d = durations.get(route);
      if (!d) durations.set(route, (d = duration.labels(route)));
      d.observe(entry.ms / 1000);
      const kind = GRANT_ROUTES.get(route);
      if (kind && entry.status < 300 && entry.method === 'POST')
        grants.inc({ kind, algorithm: sources.algorithm ?? 'unknown' });
      if (entry.status >= 400) {
        const reason =
          entry.reason && KNOWN_REASONS.has(entry.reason) ? entry.reason : entry.status === 404 ? 'not-found' : 'other';
        child(`x ${reason} ${status}`, () => refusals.labels(reason, status)).inc();
      }
    },
    instrument: {
      // Only what the metrics report: a per-segment timer on storage and verification would cost every request for
      // a figure the request duration already gives (traces time those).
      covers: (op) => TIMED.includes(op),
      async run(op, _name, fn) {
        const start = performance.now();
        try {
          return await fn();
        } catch (err) {
          operationErrors.inc({ operation: op });
          throw err;
        } finally {
          operations.observe({ operation: op }, (performance.now() - start) / 1000);
        }
      },
    },
    jobFinished(status, seconds) {
      jobs.observe({ status }, seconds);
    },
    sources(s) {
      sources = { ...sources, ...s };
    },
  };
}

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/**
 * The scrape endpoint: GET /metrics on its own listener, with a bearer token when METRICS_TOKEN is set (compared in
 * constant time). Anything else is 404; the listener has the same kind of deadlines as the gateway's.
 */
export async function serveMetrics(
  registry: Registry,
  where: { host: string; port: number; token?: string },
): Promise<MetricsListener> {
  const expected = where.token ? Buffer.from(`Bearer ${where.token}`) : undefined;
  const server: Server = createServer({ headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    if (expected) {
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end();
        return;
      }
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(where.port, where.host, () => done());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : where.port;
  const host = where.host.includes(':') ? `[${where.host}]` : where.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

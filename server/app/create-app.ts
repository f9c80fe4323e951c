import { Hono, type Context } from 'hono';
import type { GatewayConfig } from './config.ts';
import type { MediaStorage } from './storage.ts';
import type { SigningKey, Verifier } from '../core/index.ts';
import type { ViewerAuth } from './auth.ts';
import { cors } from './cors.ts';
import { createMediaOrigin } from './hosts.ts';
import { problem } from './responses.ts';
import { createGrantIssuer } from './grants.ts';
import { accessRoutes } from './routes-access.ts';
import { mediaRoutes } from './routes-media.ts';
import { defaultEventLog, loggableError, requestLog, type EventLog, type LogEntry } from './log.ts';
import { CatalogError } from './catalog.ts';

export interface AppDeps {
  config: GatewayConfig;
  storage: MediaStorage;
  signingKey: SigningKey;
  verifier: Verifier;
  auth: ViewerAuth;
  /** One structured entry per request; default: a JSON line on the console. */
  log?: (entry: LogEntry) => void;
  /** Lines about the gateway itself (a catalog that broke while running); default: a JSON line on the console. */
  events?: EventLog;
  /** Static player assets; null when the path is not an asset. */
  assets?: (path: string, request: Request) => Promise<Response | null>;
  /** The viewer's address as the runtime knows it (socket address on Node, CF-Connecting-IP on Workers). */
  clientIp?: (c: Context) => string | null;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

export interface AppContext {
  deps: AppDeps;
  now: () => number;
  /** The public origin of the media routes for this request; null when the request's host may not name one. */
  mediaBase: (c: Context) => string | null;
  clientIp: (c: Context) => string | null;
  /** Told when catalog.json cannot be used (the last good catalog stays in use). */
  catalogError: (err: Error) => void;
}

export function createApp(deps: AppDeps): Hono {
  const { config } = deps;
  const now = deps.now ?? (() => Date.now());
  const mediaOrigin = createMediaOrigin(config);
  const ctx: AppContext = {
    deps,
    now,
    // Without MEDIA_BASE_URL the media is served from the origin the viewer used (single-origin deployments), when
    // its host is a plain one on MEDIA_HOSTS (app/hosts.ts).
    mediaBase: (c) => mediaOrigin(c.req.url),
    clientIp: (c) => {
      if (config.trustProxy) {
        // The address the proxy in front of us saw: the last X-Forwarded-For entry is the one it appended.
        const xff = c.req.header('X-Forwarded-For')?.split(',').map((s) => s.trim()).filter(Boolean);
        if (xff && xff.length > 0) return xff[xff.length - 1]!;
      }
      return deps.clientIp?.(c) ?? null;
    },
    catalogError: () => {},
  };
  const events = deps.events ?? defaultEventLog;
  ctx.catalogError = (err) => events('error', 'catalog.json cannot be used; the last good catalog stays in use', { error: loggableError(err) });
  const issuer = createGrantIssuer({ keyPairId: config.keyPairId, signingKey: deps.signingKey, ttl: config.accessTtl, window: config.grantWindow });

  const app = new Hono();
  app.use('*', requestLog(deps.log, now));
  app.use('/api/*', cors(config.allowedOrigins));
  app.use('/videos/*', cors(config.allowedOrigins));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  accessRoutes(app, ctx, issuer);
  mediaRoutes(app, ctx);

  app.all('/api/*', () => problem(404, 'not-found', 'No such API endpoint.'));
  app.on(['GET', 'HEAD'], '*', async (c) => {
    const asset = deps.assets ? await deps.assets(new URL(c.req.url).pathname, c.req.raw) : null;
    return asset ?? problem(404, 'not-found', 'Nothing here.');
  });
  app.notFound(() => problem(404, 'not-found', 'Nothing here.'));
  app.onError((err) => {
    // Never echo the error: it could carry a token or key material. The request log gets its class and a cleaned
    // message (log.ts).
    if (err instanceof CatalogError) return problem(500, 'catalog-invalid', 'The video catalog (catalog.json) is invalid; the gateway log says which line.');
    return problem(500, 'internal', 'The gateway failed to answer this request.');
  });
  return app;
}

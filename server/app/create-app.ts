import { BlockingReloads, holdBudget, type HoldBudget, type WatchableStorage } from './blocking-reload.ts';
import { readPlaylistVersion } from './http-file.ts';
import type { MediaStorage } from './storage.ts';
import { Hono, type MiddlewareHandler } from 'hono';
import type { AppContext, AppDeps, GatewayEnv } from './context.ts';
import { cors } from './cors.ts';
import { createMediaOrigin } from './hosts.ts';
import { problem } from './responses.ts';
import { createGrantIssuer } from './grants.ts';
import { accessRoutes } from './routes-access.ts';
import { deviceLinkRoutes } from './routes-device-link.ts';
import { catalogRoutes } from './routes-catalog.ts';
import { demoRoutes } from './routes-demo.ts';
import { mediaRoutes } from './routes-media.ts';
import { adminRoutes } from './routes-admin.ts';
import { uploadRoutes } from './routes-uploads.ts';
import { defaultEventLog, loggableError, requestLog } from './log.ts';
import { CatalogError } from './catalog.ts';
import { CROSS_ORIGIN_SCOPES, ROUTES, mountPrefix } from './layout.ts';
import { bodyLimit } from 'hono/body-limit';

const MAX_API_BODY = 16 * 1024;

export type { AppDeps } from './context.ts';

/**
 * The gateway as a Hono app that registers only its own routes (`/api/...`, `/videos/...`, `/uploads/...`,
 * `/healthz`, and the player page at `/` when `deps.assets` is given), so it can be mounted at any prefix beside a
 * host app's routes.
 */
/** Held requests for low-latency HLS, where the storage can say when a file changes (local disk). */
function blockingReloads(
  storage: MediaStorage,
  now: () => number,
  budget: HoldBudget,
): Pick<AppContext, 'holds' | 'partHolds'> {
  if (!storage.watch) return {};
  const watchable = storage as WatchableStorage;
  const options = { budget, sweepMs: 100, lingerMs: 10_000, now };
  return {
    holds: new BlockingReloads(
      watchable,
      async (key) => {
        const v = await readPlaylistVersion(storage, key);
        return typeof v === 'object' ? v : null;
      },
      options,
    ),
    partHolds: new BlockingReloads(watchable, async (key) => ({ meta: await storage.head(key) }), options),
  };
}

export function createApp(deps: AppDeps): Hono<GatewayEnv> {
  const { config } = deps;
  const now = deps.now ?? (() => Date.now());
  const mediaOrigin = createMediaOrigin(config);
  const events = deps.events ?? defaultEventLog;
  const ctx: AppContext = {
    deps,
    now,
    // Without MEDIA_BASE_URL the media is served from the origin the viewer used (single-origin deployments), when
    // its host is a plain one on MEDIA_HOSTS (app/hosts.ts).
    mediaBase: (c) => mediaOrigin(c.req.url),
    clientIp: (c) => {
      if (config.trustProxy) {
        // The address the proxy in front of us saw: the last X-Forwarded-For entry is the one it appended.
        const xff = c.req
          .header('X-Forwarded-For')
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (xff && xff.length > 0) return xff[xff.length - 1]!;
      }
      return deps.clientIp?.(c) ?? null;
    },
    catalogError: (err) =>
      events('error', 'catalog.json cannot be used; the last good catalog stays in use', { error: loggableError(err) }),
    ...blockingReloads(deps.storage, now, deps.holdBudget ?? holdBudget()),
  };
  const issuer = createGrantIssuer({
    keyPairId: config.keyPairId,
    signingKey: deps.signingKey,
    ttl: config.accessTtl,
    window: config.grantWindow,
  });

  const app = new Hono<GatewayEnv>();
  if (deps.observe) app.use('*', deps.observe);
  app.use('*', requestLog(deps.log, now, deps.whenSent));
  // CORS on every URL space a page on another origin calls: the API, the media, and the signed upload PUT (sent
  // cross-origin by a page on another host in the split deployment; its preflight is answered before any route).
  for (const scope of CROSS_ORIGIN_SCOPES) app.use(scope, cors(config.allowedOrigins));
  // API bodies are small JSON: memory spent on a request body is bounded before anything reads it.
  const tooLarge = () => problem('body-too-large', `API request bodies are at most ${MAX_API_BODY / 1024} KB.`);
  const limitStream: MiddlewareHandler<GatewayEnv> = bodyLimit({ maxSize: MAX_API_BODY, onError: tooLarge });
  const limitApiBody: MiddlewareHandler<GatewayEnv> = async (c, next) => {
    // A declared length (browsers send Content-Length: 0 on a POST without body) is compared without touching the
    // body, which would build a stream for every POST; any other body is counted as it is read.
    const length = c.req.header('Content-Length');
    if (length === undefined || c.req.header('Transfer-Encoding') !== undefined) return limitStream(c, next);
    return /^\s*\d+\s*$/.test(length) && Number(length) <= MAX_API_BODY ? next() : tooLarge();
  };
  app.use('/api/*', limitApiBody);

  app.get(ROUTES.health, (c) => c.json({ status: 'ok' }));
  app.get(ROUTES.ready, async (c) => {
    const r = (await deps.ready?.()) ?? { ready: true, checks: {} };
    c.header('Cache-Control', 'no-store');
    return c.json(r, r.ready ? 200 : 503);
  });
  adminRoutes(app, ctx);
  uploadRoutes(app, ctx);
  accessRoutes(app, ctx, issuer);
  deviceLinkRoutes(app, ctx);
  catalogRoutes(app, ctx);
  demoRoutes(app, ctx);
  mediaRoutes(app, ctx);
  app.all('/api/*', () => problem('not-found', 'No such API endpoint.'));

  const assets = deps.assets;
  if (assets) {
    // The player page: its index and its few files, by name (never a catch-all that would shadow a host's routes).
    const page = async (file: string, request: Request) =>
      (await assets(file, request)) ?? problem('not-found', 'Nothing here.');
    app.get(ROUTES.playerPage, async (c) => pageAt(await page('/', c.req.raw), mountPrefix(c, ROUTES.playerPage)));
    app.get(ROUTES.playerPageSlash, async (c) =>
      c.req.param('slash') === ''
        ? pageAt(await page('/', c.req.raw), mountPrefix(c, ROUTES.playerPageSlash))
        : problem('not-found', 'Nothing here.'),
    );
    app.get(ROUTES.playerFile, (c) => page(`/${c.req.param('file')}`, c.req.raw));
  }

  app.onError((err) => {
    // Never echo the error: it could carry a token or key material. The request log gets its class and a cleaned
    // message (log.ts).
    if (err instanceof CatalogError) return problem('catalog-invalid');
    return problem('internal');
  });
  return app;
}

const escapeAttribute = (s: string) => s.replace(/[&"<>]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * The player page at a mount point (`/media`): its files and API are under the prefix, whether the page was asked
 * for as `/media` or `/media/`, so the page says where (a <base> for app.css and app.js, the API origin's meta).
 */
async function pageAt(res: Response, prefix: string): Promise<Response> {
  if (!prefix || !(res.headers.get('Content-Type') ?? '').startsWith('text/html')) return res;
  const p = escapeAttribute(prefix);
  const html = (await res.text())
    .replace('<head>', `<head>\n  <base href="${p}/">`)
    .replace('<meta name="hls-gate-api" content="">', `<meta name="hls-gate-api" content="${p}">`);
  const headers = new Headers(res.headers);
  headers.delete('Content-Length');
  return new Response(html, { status: res.status, headers });
}

/** The gateway as the whole server (`npm start`, the Worker): mounted at `/`, JSON 404 for everything else. */
export function createStandaloneApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.route('/', createApp(deps));
  app.notFound(() => problem('not-found', 'Nothing here.'));
  return app;
}

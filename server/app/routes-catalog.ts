import type { Context, Hono } from 'hono';
import type { AppContext, GatewayEnv } from './context.ts';
import type { CatalogEntry } from './catalog.ts';
import { readCatalog } from './catalog.ts';
import { ROUTES, mountPrefix, videoFolder } from './layout.ts';
import { badHost, problem } from './responses.ts';
import { signUrl } from '../core/index.ts';
import { Lru } from '../core/lru.ts';

// The catalog listing (GET /api/videos): the videos a viewer may watch, each poster with its own short signed URL.

/** Poster links in the catalog listing: a canned signed URL for that one file, valid this long (rounded up). */
const POSTER_TTL = 600;

/** A catalog listing as sent to every viewer of all videos: JSON, and gzip made once on first demand. */
interface Listing {
  json: string;
  gzip?: Promise<Uint8Array<ArrayBuffer>>;
}

/** gzip with a non-zero quality in Accept-Encoding (RFC 9110 section 12.5.3); browsers always send it. */
function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** Web-standard gzip (CompressionStream: Node and Workers alike). */
async function gzipped(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Posters are shown before the viewer asks for a grant, without opening the gate: each listed video's poster gets
 * a canned-policy signed URL for exactly that file (CloudFront checks it too), shared by every viewer within a
 * window, so a listing costs one signature per poster and window.
 */
function posterSigner(ctx: AppContext) {
  const { config, signingKey } = ctx.deps;
  const signed = new Lru<Promise<string>>(1000);
  const window = (nowMs: number) => {
    const w = Math.max(60, config.grantWindow);
    return Math.ceil((nowMs / 1000 + POSTER_TTL) / w) * w;
  };
  const url = (link: string, nowMs: number): Promise<string> => {
    const expires = window(nowMs);
    const key = `${expires} ${link}`;
    let out = signed.get(key);
    if (!out) {
      out = signUrl(link, { expires }, { keyPairId: config.keyPairId, privateKey: signingKey });
      signed.set(key, out);
    }
    return out;
  };
  return { window, url };
}

export function catalogRoutes(app: Hono<GatewayEnv>, ctx: AppContext): void {
  const { deps } = ctx;
  const posters = posterSigner(ctx);
  // A listing for a viewer of every video is the same bytes for everyone on one origin until the catalog is re-read
  // or the poster links' window turns: it is serialised once per catalog, origin and window, not per request.
  const listings = new WeakMap<object, Lru<Listing>>();

  /** The listing's body for this viewer, with the poster links signed for `mediaBase` under `prefix`. */
  async function listing(entries: CatalogEntry[], mediaBase: string, prefix: string, nowMs: number): Promise<string> {
    // Live videos first (a viewer opening the list during an event wants the event), the rest in catalog order.
    const ordered = [...entries.filter((v) => v.live), ...entries.filter((v) => !v.live)];
    const videos = await Promise.all(
      ordered.map(async (v) =>
        v.poster
          ? { ...v, posterUrl: await posters.url(`${mediaBase}${videoFolder(prefix, v.id)}${v.poster}`, nowMs) }
          : v,
      ),
    );
    return JSON.stringify({ videos });
  }

  /** The edge may compress on its own (Workers): then the listing goes out plain, never gzipped twice. */
  async function send(c: Context<GatewayEnv>, cached: Listing | undefined, body: string): Promise<Response> {
    const gzip = !deps.compressesResponses && acceptsGzip(c.req.header('Accept-Encoding'));
    if (!gzip || !cached) return c.body(body);
    c.header('Content-Encoding', 'gzip');
    return c.body(await (cached.gzip ??= gzipped(cached.json)));
  }

  app.get(ROUTES.catalog, async (c) => {
    const auth = await deps.auth.authenticate(c.req.header('Authorization'), ctx.now());
    if (!auth.ok) return problem(auth.code, auth.detail);
    const mediaBase = ctx.mediaBase(c);
    if (!mediaBase) return badHost();
    const prefix = mountPrefix(c, ROUTES.catalog);
    const nowMs = ctx.now();
    const catalog = await readCatalog(deps.storage, nowMs, ctx.catalogError);
    c.header('Cache-Control', 'no-store');
    c.header('Content-Type', 'application/json');
    c.header('Vary', 'Accept-Encoding', { append: true });
    const everything = auth.viewer.videos === '*';
    const key = `${posters.window(nowMs)} ${mediaBase}${prefix}`;
    const cached = everything ? listings.get(catalog)?.get(key) : undefined;
    if (cached !== undefined) return send(c, cached, cached.json);
    const allowed = everything ? null : new Set(auth.viewer.videos);
    const body = await listing(allowed ? catalog.filter((v) => allowed.has(v.id)) : catalog, mediaBase, prefix, nowMs);
    if (everything) {
      let perCatalog = listings.get(catalog);
      if (!perCatalog) listings.set(catalog, (perCatalog = new Lru<Listing>(16)));
      perCatalog.set(key, { json: body });
    }
    return c.body(body);
  });
}

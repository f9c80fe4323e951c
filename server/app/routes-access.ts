import type { Context, Hono } from 'hono';
import type { AppContext, GatewayEnv } from './context.ts';
import { clearGrantCookies, createGrantIssuer, setGrantCookies, setSessionCookie, SESSION_HEADER, type Grant, type GrantIssuer } from './grants.ts';
import { SESSION_PARAM } from '../core/cookies.ts';
import { entitled, type Viewer } from './auth.ts';
import { findVideo, readCatalog } from './catalog.ts';
import { ROUTES, VIDEO_ID, mountPrefix, videoFolder } from './layout.ts';
import { badHost, optionalJsonBody, problem } from './responses.ts';
import { parseIPv4 } from '../core/cidr.ts';
import { signUrl } from '../core/index.ts';
import { Lru } from '../core/lru.ts';

// The viewer-facing API: a host-issued JWT in, CloudFront signed cookies for one video's whole tree out.

/** Poster links in the catalog listing: a canned signed URL for that one file, valid this long (rounded up). */
const POSTER_TTL = 600;

/**
 * Cloudflare Workers compress responses on their own and would compress an already-gzipped body again
 * (https://developers.cloudflare.com/workers/runtime-apis/response/, encodeBody; https://hono.dev/middleware/builtin/compress):
 * there the listing goes out plain.
 */
const EDGE_COMPRESSES = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === 'Cloudflare-Workers';

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

export function accessRoutes(app: Hono<GatewayEnv>, ctx: AppContext, issuer: GrantIssuer): void {
  const { deps } = ctx;
  const scope = (mediaBase: string, prefix: string, videoId: string) => ({
    path: videoFolder(prefix, videoId),
    secure: mediaBase.startsWith('https:'),
    ...(deps.config.cookieDomain ? { domain: deps.config.cookieDomain } : {}),
  });

  type Issued = Pick<Grant, 'resource' | 'expiresAt'>;

  /** What both grant routes check first: the ID, the host, the viewer token, the entitlement, the catalog. */
  async function entitledVideo(c: Context) {
    const videoId = c.req.param('videoId') ?? '';
    if (!VIDEO_ID.test(videoId)) return problem('bad-video-id');
    const mediaBase = ctx.mediaBase(c);
    if (!mediaBase) return badHost();
    const auth = await deps.auth.authenticate(c.req.header('Authorization'), ctx.now());
    if (!auth.ok) return problem(auth.code, auth.detail);
    if (!entitled(auth.viewer, videoId)) return problem('not-entitled');
    const video = await findVideo(deps.storage, videoId, ctx.now(), ctx.catalogError);
    if (!video) return problem('unknown-video');
    return { videoId, mediaBase, viewer: auth.viewer, video };
  }

  /** The viewer's IPv4 address when the grant is to be bound to it (CloudFront policies take IPv4 only). */
  function boundIp(c: Context, bind: boolean): Response | string | undefined {
    if (!bind) return undefined;
    const clientIp = ctx.clientIp(c)?.replace(/^::ffff:/, '');
    if (!clientIp || parseIPv4(clientIp) === null) return problem('ip-binding-unavailable');
    return clientIp;
  }

  /** Under session control: the device session (a lease) for this grant, or the refusal. */
  async function deviceSession(c: Context, viewer: Viewer, presented: string | null, grant: Issued) {
    const sub = viewer.subject;
    if (!sub) return problem('no-subject', 'Session control needs the viewer token to carry a "sub" claim (who the viewer is).');
    c.set('sub', sub);
    const session = await deps.sessions!.issue(sub, presented, { keyPairId: deps.config.keyPairId, ...grant });
    if (!session.ok) return problem(session.code, session.detail);
    c.set('sessionId', session.sid);
    return session;
  }

  app.post(ROUTES.access, async (c) => {
    const found = await entitledVideo(c);
    if (found instanceof Response) return found;
    const { videoId, mediaBase, viewer, video } = found;
    const ip = boundIp(c, deps.config.bindIp);
    if (ip instanceof Response) return ip;
    const nowMs = ctx.now();
    const prefix = mountPrefix(c, ROUTES.access);
    const folder = videoFolder(prefix, videoId);
    const grant = await issuer.issue(`${mediaBase}${folder}*`, nowMs, ip);
    const cookieScope = scope(mediaBase, prefix, videoId);
    let sessionId: string | undefined;
    let sessionToken: string | undefined;
    if (deps.sessions) {
      // Session control: the grant is a lease of this device session (the player sends its token back on refresh).
      const session = await deviceSession(c, viewer, c.req.header(SESSION_HEADER) ?? null, grant);
      if (session instanceof Response) return session;
      sessionId = session.sid;
      sessionToken = session.token;
      setSessionCookie(c, session.cookie, cookieScope, grant.expiresAt, nowMs);
    }
    setGrantCookies(c, grant, cookieScope, nowMs);
    c.header('Cache-Control', 'no-store');
    c.set('keyPairId', deps.config.keyPairId);
    return c.json({
      videoId,
      playlistUrl: `${mediaBase}${folder}${video.playlist}`,
      expiresAt: new Date(grant.expiresAt * 1000).toISOString(),
      refreshAt: new Date(grant.refreshAt * 1000).toISOString(),
      ...(sessionId ? { sessionId, sessionToken } : {}),
    });
  });

  // Device links: one URL that plays the whole video on a device without cookies (AirPlay, Chromecast, a TV, VLC,
  // ffmpeg): the master playlist with a custom-policy signed query whose Resource is this video's folder; the
  // gateway hands the query on to every child URI (app/tokenize.ts). Its own TTL (DEVICE_LINK_TTL), optional IP
  // binding, and under session control its own device session, in the query.
  const linkIssuer = createGrantIssuer({ keyPairId: deps.config.keyPairId, signingKey: deps.signingKey, ttl: deps.config.deviceLinkTtl, window: deps.config.grantWindow });
  app.post(ROUTES.deviceLink, async (c) => {
    const found = await entitledVideo(c);
    if (found instanceof Response) return found;
    const { videoId, mediaBase, viewer, video } = found;
    const body = await optionalJsonBody(c.req, '{ "bindIp": true | false } (optional)');
    if (body instanceof Response) return body;
    if (body.bindIp !== undefined && typeof body.bindIp !== 'boolean') return problem('bad-bind-ip');
    const ip = boundIp(c, body.bindIp ?? deps.config.bindIp);
    if (ip instanceof Response) return ip;
    const folder = videoFolder(mountPrefix(c, ROUTES.deviceLink), videoId);
    const grant = await linkIssuer.issue(`${mediaBase}${folder}*`, ctx.now(), ip);
    // The cookies' values as signed-URL parameters (same bytes; CloudFront's URL names).
    const params = [['Policy', grant.cookies['CloudFront-Policy']], ['Signature', grant.cookies['CloudFront-Signature']], ['Key-Pair-Id', grant.cookies['CloudFront-Key-Pair-Id']], ['Hash-Algorithm', grant.cookies['CloudFront-Hash-Algorithm']]]
      .filter((p): p is [string, string] => p[1] !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    let sessionId: string | undefined;
    if (deps.sessions) {
      const session = await deviceSession(c, viewer, null, grant);
      if (session instanceof Response) return session;
      sessionId = session.sid;
      params.push(`${SESSION_PARAM}=${session.cookie}`);
    }
    c.header('Cache-Control', 'no-store');
    c.set('keyPairId', deps.config.keyPairId);
    return c.json({
      videoId,
      url: `${mediaBase}${folder}${video.playlist}?${params.join('&')}`,
      expiresAt: new Date(grant.expiresAt * 1000).toISOString(),
      ...(sessionId ? { sessionId } : {}),
    });
  });

  app.delete(ROUTES.access, async (c) => {
    const videoId = c.req.param('videoId');
    if (!VIDEO_ID.test(videoId)) return problem('bad-video-id');
    const mediaBase = ctx.mediaBase(c);
    if (!mediaBase) return badHost();
    const presented = c.req.header(SESSION_HEADER);
    if (deps.sessions && presented) {
      // Stopping playback gives the device's lease back; only with the session token the gateway minted for this viewer.
      const auth = await deps.auth.authenticate(c.req.header('Authorization'), ctx.now());
      if (auth.ok && auth.viewer.subject) {
        c.set('sub', auth.viewer.subject);
        const sid = await deps.sessions.release(auth.viewer.subject, presented);
        if (sid) c.set('sessionId', sid);
      }
    }
    clearGrantCookies(c, scope(mediaBase, mountPrefix(c, ROUTES.access), videoId), Boolean(deps.sessions));
    return c.body(null, 204);
  });

  // Posters are shown before the viewer asks for a grant, without opening the gate: each listed video's poster
  // gets a canned-policy signed URL for exactly that file (CloudFront checks it too), shared by every viewer within
  // a window, so a listing costs one signature per poster and window.
  const posterUrls = new Lru<Promise<string>>(1000);
  const posterUrl = (url: string, nowMs: number): Promise<string> => {
    const expires = posterWindow(nowMs);
    const key = `${expires} ${url}`;
    let signed = posterUrls.get(key);
    if (!signed) {
      signed = signUrl(url, { expires }, { keyPairId: deps.config.keyPairId, privateKey: deps.signingKey });
      posterUrls.set(key, signed);
    }
    return signed;
  };

  // A listing for a viewer of every video is the same bytes for everyone on one origin until the catalog is re-read
  // or the poster links' window turns: it is serialised once per catalog, origin and window, not per request.
  const listings = new WeakMap<object, Lru<Listing>>();
  const posterWindow = (nowMs: number) => {
    const window = Math.max(60, deps.config.grantWindow);
    return Math.ceil((nowMs / 1000 + POSTER_TTL) / window) * window;
  };

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
    const gzip = !EDGE_COMPRESSES && acceptsGzip(c.req.header('Accept-Encoding'));
    const everything = auth.viewer.videos === '*';
    const key = `${posterWindow(nowMs)} ${mediaBase}${prefix}`;
    const cached = everything ? listings.get(catalog)?.get(key) : undefined;
    if (cached !== undefined) {
      if (!gzip) return c.body(cached.json);
      c.header('Content-Encoding', 'gzip');
      return c.body(await (cached.gzip ??= gzipped(cached.json)));
    }
    const allowed = everything ? null : new Set(auth.viewer.videos);
    const entries = allowed ? catalog.filter((v) => allowed.has(v.id)) : catalog;
    const videos = await Promise.all(
      entries.map(async (v) => (v.poster ? { ...v, posterUrl: await posterUrl(`${mediaBase}${videoFolder(prefix, v.id)}${v.poster}`, nowMs) } : v)),
    );
    const body = JSON.stringify({ videos });
    if (everything) {
      let perCatalog = listings.get(catalog);
      if (!perCatalog) listings.set(catalog, (perCatalog = new Lru<Listing>(16)));
      perCatalog.set(key, { json: body });
    }
    return c.body(body);
  });

  app.post(ROUTES.demoToken, async (c) => {
    if (!deps.auth.issueDemoToken) return problem('demo-off');
    const body = await optionalJsonBody(c.req, '{ "videos": ["id"] | "*", "ttl": seconds }');
    if (body instanceof Response) return body;
    const videos = body.videos === undefined || body.videos === '*' ? '*' : body.videos;
    if (videos !== '*' && !(Array.isArray(videos) && videos.every((v) => typeof v === 'string' && VIDEO_ID.test(v)))) {
      return problem('bad-videos');
    }
    const ttl = body.ttl === undefined ? 3600 : body.ttl;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 86400) return problem('bad-ttl');
    const nowMs = ctx.now();
    const token = await deps.auth.issueDemoToken(videos as '*' | string[], ttl, nowMs);
    c.header('Cache-Control', 'no-store');
    return c.json({ token, expiresAt: new Date(Math.floor(nowMs / 1000) * 1000 + ttl * 1000).toISOString() });
  });
}

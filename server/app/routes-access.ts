import type { Hono } from 'hono';
import type { AppContext } from './create-app.ts';
import type { GrantIssuer } from './grants.ts';
import { entitled } from './auth.ts';
import { findVideo, readCatalog } from './catalog.ts';
import { VIDEO_ID } from './media-path.ts';
import { badHost, problem } from './responses.ts';
import { parseIPv4 } from '../core/cidr.ts';
import { COOKIE } from '../core/cookies.ts';

// The viewer-facing API: a host-issued JWT in, CloudFront signed cookies for one video's whole tree out.

/** The cookies a grant may set (custom policy), cleared together by DELETE. Names live in core/cookies.ts. */
const COOKIE_NAMES = [COOKIE.policy, COOKIE.signature, COOKIE.keyPairId, COOKIE.hash];

function cookieAttributes(ctx: AppContext, base: string, videoId: string, maxAge: number): string {
  // Path scopes each video's cookies to its folder so grants for several videos coexist (aws-sdk-go #505).
  const parts = [`Path=/videos/${videoId}/`, `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Lax'];
  if (ctx.deps.config.cookieDomain) parts.push(`Domain=${ctx.deps.config.cookieDomain}`);
  if (base.startsWith('https:')) parts.push('Secure');
  return parts.join('; ');
}

export function accessRoutes(app: Hono, ctx: AppContext, issuer: GrantIssuer): void {
  const { deps } = ctx;

  app.post('/api/videos/:videoId/access', async (c) => {
    const videoId = c.req.param('videoId');
    if (!VIDEO_ID.test(videoId)) return problem(400, 'bad-video-id', 'Video IDs are 1 to 64 letters, digits, "-" or "_".');
    const mediaBase = ctx.mediaBase(c);
    if (!mediaBase) return badHost();
    const auth = await deps.auth.authenticate(c.req.header('Authorization'), ctx.now());
    if (!auth.ok) return problem(auth.status, auth.code, auth.detail);
    if (!entitled(auth.viewer, videoId)) return problem(403, 'not-entitled', 'This viewer is not entitled to this video.');
    const video = await findVideo(deps.storage, videoId, ctx.now(), ctx.catalogError);
    if (!video) return problem(404, 'unknown-video', 'There is no such video.');

    let ip: string | undefined;
    if (deps.config.bindIp) {
      const clientIp = ctx.clientIp(c)?.replace(/^::ffff:/, '');
      // CloudFront policies take IPv4 only; an IPv6 viewer cannot get an IP-bound grant.
      if (!clientIp || parseIPv4(clientIp) === null) {
        return problem(403, 'ip-binding-unavailable', 'Grants are bound to the viewer IP address and only IPv4 addresses can be bound.');
      }
      ip = clientIp;
    }
    const nowMs = ctx.now();
    const grant = await issuer.issue(mediaBase, videoId, nowMs, ip);
    const maxAge = Math.max(0, grant.expiresAt - Math.floor(nowMs / 1000));
    const attrs = cookieAttributes(ctx, mediaBase, videoId, maxAge);
    for (const [name, value] of Object.entries(grant.cookies)) c.header('Set-Cookie', `${name}=${value}; ${attrs}`, { append: true });
    c.header('Cache-Control', 'no-store');
    c.set('keyPairId' as never, deps.config.keyPairId as never);
    return c.json({
      videoId,
      playlistUrl: `${mediaBase}/videos/${videoId}/${video.playlist}`,
      expiresAt: new Date(grant.expiresAt * 1000).toISOString(),
      refreshAt: new Date(grant.refreshAt * 1000).toISOString(),
    });
  });

  app.delete('/api/videos/:videoId/access', (c) => {
    const videoId = c.req.param('videoId');
    if (!VIDEO_ID.test(videoId)) return problem(400, 'bad-video-id', 'Video IDs are 1 to 64 letters, digits, "-" or "_".');
    const mediaBase = ctx.mediaBase(c);
    if (!mediaBase) return badHost();
    const attrs = cookieAttributes(ctx, mediaBase, videoId, 0);
    for (const name of COOKIE_NAMES) c.header('Set-Cookie', `${name}=; ${attrs}`, { append: true });
    return c.body(null, 204);
  });

  app.get('/api/videos', async (c) => {
    const auth = await deps.auth.authenticate(c.req.header('Authorization'), ctx.now());
    if (!auth.ok) return problem(auth.status, auth.code, auth.detail);
    const videos = (await readCatalog(deps.storage, ctx.now(), ctx.catalogError)).filter((v) => entitled(auth.viewer, v.id));
    c.header('Cache-Control', 'no-store');
    return c.json({ videos });
  });

  app.post('/api/demo/token', async (c) => {
    if (!deps.auth.issueDemoToken) return problem(404, 'demo-off', 'Demo mode is off (set DEMO=true to enable it).');
    let body: { videos?: unknown; ttl?: unknown } = {};
    if ((c.req.header('Content-Type') ?? '').includes('json')) {
      try {
        body = (await c.req.json()) as typeof body;
      } catch {
        return problem(400, 'bad-json', 'The body must be JSON: { "videos": ["id"] | "*", "ttl": seconds }.');
      }
    }
    const videos = body.videos === undefined || body.videos === '*' ? '*' : body.videos;
    if (videos !== '*' && !(Array.isArray(videos) && videos.every((v) => typeof v === 'string' && VIDEO_ID.test(v)))) {
      return problem(400, 'bad-videos', '"videos" must be "*" or a list of video IDs.');
    }
    const ttl = body.ttl === undefined ? 3600 : body.ttl;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 86400) return problem(400, 'bad-ttl', '"ttl" must be whole seconds, 1 to 86400.');
    const nowMs = ctx.now();
    const token = await deps.auth.issueDemoToken(videos as '*' | string[], ttl, nowMs);
    c.header('Cache-Control', 'no-store');
    return c.json({ token, expiresAt: new Date(Math.floor(nowMs / 1000) * 1000 + ttl * 1000).toISOString() });
  });
}

import type { Context, Hono } from 'hono';
import type { AppContext, GatewayEnv } from './context.ts';
import { clearGrantCookies, setGrantCookies, setSessionCookie, SESSION_HEADER, type GrantIssuer } from './grants.ts';
import { grantChecks, type GrantChecks } from './grant-checks.ts';
import { ROUTES, VIDEO_ID, mountPrefix, videoFolder } from './layout.ts';
import { badHost, problem } from './responses.ts';

// The viewer-facing grant: a host-issued JWT in, CloudFront signed cookies for one video's whole tree out
// (POST), and back (DELETE: the cookies cleared, the device's lease given back under session control).

export function accessRoutes(app: Hono<GatewayEnv>, ctx: AppContext, issuer: GrantIssuer): void {
  const checks = grantChecks(ctx);
  app.post(ROUTES.access, (c) => grantAccess(c, ctx, issuer, checks));
  app.delete(ROUTES.access, (c) => releaseAccess(c, ctx, checks));
}

async function grantAccess(
  c: Context<GatewayEnv>,
  ctx: AppContext,
  issuer: GrantIssuer,
  checks: GrantChecks,
): Promise<Response> {
  const { deps } = ctx;
  const found = await checks.entitledVideo(c);
  if (found instanceof Response) return found;
  const { videoId, mediaBase, viewer, video } = found;
  const ip = checks.boundIp(c, deps.config.bindIp);
  if (ip instanceof Response) return ip;
  const nowMs = ctx.now();
  const prefix = mountPrefix(c, ROUTES.access);
  const folder = videoFolder(prefix, videoId);
  const grant = await issuer.issue(`${mediaBase}${folder}*`, nowMs, ip);
  const cookieScope = checks.cookieScope(mediaBase, prefix, videoId);
  let sessionId: string | undefined;
  let sessionToken: string | undefined;
  if (deps.sessions) {
    // Session control: the grant is a lease of this device session (the player sends its token back on refresh).
    const session = await checks.deviceSession(c, viewer, c.req.header(SESSION_HEADER) ?? null, grant);
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
}

async function releaseAccess(c: Context<GatewayEnv>, ctx: AppContext, checks: GrantChecks): Promise<Response> {
  const { deps } = ctx;
  const videoId = c.req.param('videoId') ?? '';
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
  clearGrantCookies(c, checks.cookieScope(mediaBase, mountPrefix(c, ROUTES.access), videoId), Boolean(deps.sessions));
  return c.body(null, 204);
}

import type { Hono } from 'hono';
import type { AppContext, GatewayEnv } from './context.ts';
import { createGrantIssuer, type IssuedGrant } from './grants.ts';
import { grantChecks } from './grant-checks.ts';
import { COOKIE, SESSION_PARAM, type SignedUrlParam } from '../core/cookies.ts';
import { ROUTES, mountPrefix, videoFolder } from './layout.ts';
import { optionalJsonBody, problem } from './responses.ts';

// Device links: one URL that plays the whole video on a device without cookies (AirPlay, Chromecast, a TV, VLC,
// ffmpeg): the master playlist with a custom-policy signed query whose Resource is this video's folder; the
// gateway hands the query on to every child URI (app/tokenize.ts). Its own TTL (DEVICE_LINK_TTL), optional IP
// binding, and under session control its own device session, in the query.

/** A grant's cookies as signed-URL parameters: the same bytes under CloudFront's URL names. */
const AS_URL_PARAMS: readonly [SignedUrlParam, keyof typeof COOKIE][] = [
  ['Policy', 'policy'],
  ['Signature', 'signature'],
  ['Key-Pair-Id', 'keyPairId'],
  ['Hash-Algorithm', 'hash'],
];

function signedQuery(grant: IssuedGrant): string[] {
  const out: string[] = [];
  for (const [param, cookie] of AS_URL_PARAMS) {
    const value = grant.cookies[COOKIE[cookie]];
    if (value !== undefined) out.push(`${param}=${value}`);
  }
  return out;
}

export function deviceLinkRoutes(app: Hono<GatewayEnv>, ctx: AppContext): void {
  const { deps } = ctx;
  const checks = grantChecks(ctx);
  const linkIssuer = createGrantIssuer({
    keyPairId: deps.config.keyPairId,
    signingKey: deps.signingKey,
    ttl: deps.config.deviceLinkTtl,
    window: deps.config.grantWindow,
  });
  app.post(ROUTES.deviceLink, async (c) => {
    const found = await checks.entitledVideo(c);
    if (found instanceof Response) return found;
    const { videoId, mediaBase, viewer, video } = found;
    const body = await optionalJsonBody(c.req, '{ "bindIp": true | false } (optional)');
    if (body instanceof Response) return body;
    if (body.bindIp !== undefined && typeof body.bindIp !== 'boolean') return problem('bad-bind-ip');
    const ip = checks.boundIp(c, body.bindIp ?? deps.config.bindIp);
    if (ip instanceof Response) return ip;
    const folder = videoFolder(mountPrefix(c, ROUTES.deviceLink), videoId);
    const grant = await linkIssuer.issue(`${mediaBase}${folder}*`, ctx.now(), ip);
    const params = signedQuery(grant);
    let sessionId: string | undefined;
    if (deps.sessions) {
      const session = await checks.deviceSession(c, viewer, null, grant);
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
}

import type { Context } from 'hono';
import type { AppContext, GatewayEnv } from './context.ts';
import type { GrantCookieScope, IssuedGrant } from './grants.ts';
import type { SessionIssue } from './session-control.ts';
import { entitled, type Viewer } from './auth.ts';
import { findVideo, type CatalogEntry } from './catalog.ts';
import { VIDEO_ID, videoFolder } from './layout.ts';
import { badHost, problem } from './responses.ts';
import { parseIPv4 } from '../core/cidr.ts';

// What the routes that issue grants (cookies: routes-access.ts; device links: routes-device-link.ts) check before
// they sign, in one place so that both refuse the same requests the same way.

/** A request the viewer may have a grant for: the video, the public media origin, the viewer. */
export interface EntitledVideo {
  videoId: string;
  mediaBase: string;
  viewer: Viewer;
  video: CatalogEntry;
}

export interface GrantChecks {
  /** The ID, the host, the viewer token, the entitlement, the catalog: in that order, the first refusal answers. */
  entitledVideo(c: Context<GatewayEnv>): Promise<EntitledVideo | Response>;
  /** The viewer's IPv4 address when the grant is to be bound to it (CloudFront policies take IPv4 only). */
  boundIp(c: Context<GatewayEnv>, bind: boolean): Response | string | undefined;
  /** Under session control: the device session (a lease) for this grant, or the refusal. */
  deviceSession(
    c: Context<GatewayEnv>,
    viewer: Viewer,
    presented: string | null,
    grant: Pick<IssuedGrant, 'resource' | 'expiresAt'>,
  ): Promise<DeviceSession | Response>;
  /** Where a video's grant cookies live: its folder under the mount prefix, on the shared domain when set. */
  cookieScope(mediaBase: string, prefix: string, videoId: string): GrantCookieScope;
}

type DeviceSession = Extract<SessionIssue, { ok: true }>;

export function grantChecks(ctx: AppContext): GrantChecks {
  const { deps } = ctx;
  return {
    async entitledVideo(c) {
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
    },
    boundIp(c, bind) {
      if (!bind) return undefined;
      const clientIp = ctx.clientIp(c)?.replace(/^::ffff:/, '');
      if (!clientIp || parseIPv4(clientIp) === null) return problem('ip-binding-unavailable');
      return clientIp;
    },
    async deviceSession(c, viewer, presented, grant) {
      const sub = viewer.subject;
      if (!sub)
        return problem(
          'no-subject',
          'Session control needs the viewer token to carry a "sub" claim (who the viewer is).',
        );
      c.set('sub', sub);
      const session = await deps.sessions!.issue(sub, presented, { keyPairId: deps.config.keyPairId, ...grant });
      if (!session.ok) return problem(session.code, session.detail);
      c.set('sessionId', session.sid);
      return session;
    },
    cookieScope(mediaBase, prefix, videoId) {
      return {
        path: videoFolder(prefix, videoId),
        secure: mediaBase.startsWith('https:'),
        ...(deps.config.cookieDomain ? { domain: deps.config.cookieDomain } : {}),
      };
    },
  };
}

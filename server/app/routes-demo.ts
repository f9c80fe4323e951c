import type { Hono } from 'hono';
import type { AppContext, GatewayEnv } from './context.ts';
import { VIDEO_ID, ROUTES } from './layout.ts';
import { optionalJsonBody, problem } from './responses.ts';

// The demo's viewer tokens (POST /api/demo/token): only when the gateway runs the demo (DEMO=true or zero
// configuration), so that the player page works with nothing set up. A configured deployment answers 404 demo-off.

export function demoRoutes(app: Hono<GatewayEnv>, ctx: AppContext): void {
  const { deps } = ctx;
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

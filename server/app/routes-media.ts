import type { Hono } from 'hono';
import type { AppContext } from './create-app.ts';
import { mediaKey } from './media-path.ts';
import { badHost, cloudFrontDenial, problem } from './responses.ts';
import { serveObject } from './http-file.ts';

// Gated media: every playlist, segment, init segment and key is checked as CloudFront would check it, then
// served from storage. The URL judged is the PUBLIC one (MEDIA_BASE_URL + path + query), not the internal
// request URL, which differs behind TLS termination or a proxy.

const MAX_CACHE_SECONDS = 86400;

export function mediaRoutes(app: Hono, ctx: AppContext): void {
  app.on(['GET', 'HEAD'], '/videos/:videoId/*', async (c) => {
    const url = new URL(c.req.url);
    const prefix = `/videos/${c.req.param('videoId')}/`;
    const rawRest = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : '';
    const key = mediaKey(c.req.param('videoId'), rawRest);
    if (!key) return problem(400, 'bad-path', 'The media path is not a plain path inside the video folder.');

    const mediaBase = ctx.mediaBase(c);
    if (!mediaBase) return badHost();
    const publicUrl = mediaBase + url.pathname + url.search;
    const verdict = await ctx.deps.verifier.verify({
      url: publicUrl,
      cookie: c.req.raw.headers.get('Cookie'),
      clientIp: ctx.clientIp(c),
      now: ctx.now() / 1000,
    });
    if (!verdict.ok) {
      if (verdict.denial.keyPairId && verdict.denial.reason !== 'unknown-key') c.set('keyPairId' as never, verdict.denial.keyPairId as never);
      return cloudFrontDenial(verdict.denial);
    }
    c.set('keyPairId' as never, verdict.grant.keyPairId as never);
    // A cached copy must never outlive the grant that allowed it.
    const secondsLeft = Math.max(0, Math.floor(verdict.grant.expiresAt - ctx.now() / 1000));
    const cacheControl = `private, max-age=${Math.min(secondsLeft, MAX_CACHE_SECONDS)}`;
    const res = await serveObject(ctx.deps.storage, key, c.req.raw, cacheControl);
    return res ?? problem(404, 'not-found', 'No such file in this video.');
  });
}

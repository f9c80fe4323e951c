import type { Hono } from 'hono';
import type { AppContext, GatewayEnv } from './context.ts';
import { ROUTES, mediaKey, mountPrefix, videoFolder } from './layout.ts';
import { badHost, cloudFrontDenial, problem } from './responses.ts';
import { serveObject } from './http-file.ts';
import { answerPlaylist } from './media-playlists.ts';
import { contentTypeFor } from './mime.ts';
import { awaitHintedPart } from './hinted-parts.ts';
import { freshnessOf } from './freshness.ts';
import { SESSION_COOKIE, SESSION_PARAM, SIGNED_URL_PARAMS, cookieValues } from '../core/cookies.ts';
import { MAX_SESSION_VALUES, isSessionValue } from './session-control.ts';
import { DENIALS } from '../core/denials.ts';

// Gated media: every playlist, segment, init segment and key is checked as CloudFront would check it, then
// served from storage. The URL judged is the PUBLIC one (MEDIA_BASE_URL + path + query), not the internal
// request URL, which differs behind TLS termination or a proxy.

/** The query parameters of a grant carried in a URL, handed on to the files a tokenized playlist names. */
const GRANT_PARAMS = new Set<string>([...SIGNED_URL_PARAMS, SESSION_PARAM]);

/** The grant's own parameters of the request's query, in their order and encoding as received. */
function grantQuery(url: URL): string {
  return url.search
    .slice(1)
    .split('&')
    .filter((pair) => GRANT_PARAMS.has(pair.slice(0, pair.indexOf('=') < 0 ? pair.length : pair.indexOf('='))))
    .join('&');
}

const notFound = () => problem('not-found', 'No such file in this video.');

export function mediaRoutes(app: Hono<GatewayEnv>, ctx: AppContext): void {
  app.on(['GET', 'HEAD'], ROUTES.media, async (c) => {
    const url = new URL(c.req.url);
    const videoId = c.req.param('videoId');
    const folder = videoFolder(mountPrefix(c, ROUTES.media), videoId);
    const rawRest = url.pathname.startsWith(folder) ? url.pathname.slice(folder.length) : '';
    const key = mediaKey(videoId, rawRest);
    if (!key) return problem('bad-path');

    const mediaBase = ctx.mediaBase(c);
    if (!mediaBase) return badHost();
    const verdict = await ctx.deps.verifier.verify({
      url: mediaBase + url.pathname + url.search,
      cookie: c.req.raw.headers.get('Cookie'),
      clientIp: ctx.clientIp(c),
      now: ctx.now() / 1000,
    });
    if (!verdict.ok) {
      if (verdict.denial.keyPairId && verdict.denial.reason !== 'unknown-key')
        c.set('keyPairId', verdict.denial.keyPairId);
      return cloudFrontDenial(verdict.denial);
    }
    c.set('keyPairId', verdict.grant.keyPairId);
    c.set('grantSource', verdict.grant.source);
    // A poster's link (routes-catalog.ts: a canned-policy URL for exactly that image, handed to every viewer in the
    // listing before any grant) carries no session: session control is about playback, and a poster is not played.
    const poster =
      verdict.grant.source === 'url' &&
      verdict.grant.policyKind === 'canned' &&
      contentTypeFor(key).startsWith('image/');
    if (ctx.deps.sessions && !poster) {
      // A device link carries its session in the query (it has no cookies); a browser in the companion cookie.
      const fromQuery = verdict.grant.source === 'url' ? url.searchParams.getAll(SESSION_PARAM) : [];
      const session = await ctx.deps.sessions.check(
        fromQuery.length > 0
          ? fromQuery
          : cookieValues(c.req.raw.headers.get('Cookie'), SESSION_COOKIE, isSessionValue, MAX_SESSION_VALUES),
        verdict.grant,
      );
      if (session.sub) c.set('sub', session.sub);
      if (session.sid) c.set('sessionId', session.sid);
      if (session.reason === 'store-unavailable')
        return problem('store-unavailable', undefined, { 'Retry-After': '1' });
      if (session.reason) return cloudFrontDenial({ code: DENIALS[session.reason].code, reason: session.reason });
    }
    if (key.endsWith('.m3u8')) {
      // A playlist fetched with a signed-URL query (a device link) hands the same query on to every file of this
      // video it names, so a cookie-less device carries the grant down the whole tree (app/tokenize.ts).
      const tokenized = verdict.grant.source === 'url' && verdict.grant.policyKind === 'custom';
      return answerPlaylist(ctx, {
        key,
        url,
        request: c.req.raw,
        grant: verdict.grant,
        token: tokenized ? grantQuery(url) : '',
        mediaBase,
        folder,
        holder: ctx.clientIp(c) ?? '',
      });
    }
    // How long a copy may be reused follows what the file is and the grant (app/freshness.ts).
    const secondsLeft = Math.max(0, Math.floor(verdict.grant.expiresAt - ctx.now() / 1000));
    const freshness = freshnessOf('file', secondsLeft, { sessionControl: ctx.deps.sessions !== undefined });
    const res = await serveObject(ctx.deps.storage, key, c.req.raw, freshness);
    if (res) return res;
    // A part announced by EXT-X-PRELOAD-HINT and not written yet is answered once it is (RFC 8216bis 6.2.6).
    const hinted = await awaitHintedPart(ctx, key, c.req.raw.signal, ctx.clientIp(c) ?? '');
    if (hinted === 'written') {
      if (verdict.grant.expiresAt <= ctx.now() / 1000)
        return cloudFrontDenial({ code: DENIALS.expired.code, reason: 'expired' });
      return (await serveObject(ctx.deps.storage, key, c.req.raw, freshness)) ?? notFound();
    }
    if (hinted === 'timeout') return problem('playlist-not-updated', undefined, { 'Retry-After': '1' });
    return notFound();
  });
}

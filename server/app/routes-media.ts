import type { Hono } from 'hono';
import type { AppContext, GatewayEnv } from './context.ts';
import { ROUTES, mediaKey, mountPrefix, videoFolder } from './layout.ts';
import { badHost, cloudFrontDenial, problem } from './responses.ts';
import { serveObject, servePlaylist } from './http-file.ts';
import { freshnessOf, playlistKind } from './freshness.ts';
import { SESSION_COOKIE, SESSION_PARAM, SIGNED_URL_PARAMS, cookieValues } from '../core/cookies.ts';
import { MAX_SESSION_VALUES, isSessionValue } from './session-control.ts';
import { MAX_PLAYLIST_BYTES, MAX_PLAYLIST_LINES, tokenizedPlaylist } from './tokenize.ts';
import { contentTypeFor } from './mime.ts';
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
    if (ctx.deps.sessions) {
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
    // How long a copy may be reused follows what the file is and the grant (app/freshness.ts).
    const secondsLeft = Math.max(0, Math.floor(verdict.grant.expiresAt - ctx.now() / 1000));
    const sessionControl = ctx.deps.sessions !== undefined;
    // A playlist fetched with a signed-URL query (a device link) hands the same query on to every file of this
    // video it names, so a cookie-less device carries the grant down the whole tree (app/tokenize.ts).
    const playlist = key.endsWith('.m3u8');
    const token =
      playlist && verdict.grant.source === 'url' && verdict.grant.policyKind === 'custom' ? grantQuery(url) : '';
    if (token) {
      const object = await ctx.deps.storage.get(key);
      if (!object) return problem('not-found', 'No such file in this video.');
      return tokenizedPlaylist(object, {
        playlistUrl: mediaBase + url.pathname,
        folderUrl: mediaBase + folder,
        token,
        head: c.req.method === 'HEAD',
        contentType: contentTypeFor(key),
      });
    }
    if (playlist) {
      const res = await servePlaylist(ctx.deps.storage, key, c.req.raw, (text) => {
        const { kind, targetDuration } = playlistKind(text);
        return freshnessOf(kind, secondsLeft, { sessionControl, targetDuration });
      });
      if (res === 'too-large')
        return problem(
          'playlist-too-large',
          `The playlist is over ${MAX_PLAYLIST_BYTES} bytes or ${MAX_PLAYLIST_LINES} lines: too large to serve.`,
        );
      return res ?? problem('not-found', 'No such file in this video.');
    }
    const res = await serveObject(
      ctx.deps.storage,
      key,
      c.req.raw,
      freshnessOf('file', secondsLeft, { sessionControl }),
    );
    return res ?? problem('not-found', 'No such file in this video.');
  });
}

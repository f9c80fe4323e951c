import type { AppContext } from './context.ts';
import type { Grant } from '../core/types.ts';
import { DENIALS } from '../core/denials.ts';
import { cloudFrontDenial, problem } from './responses.ts';
import {
  playlistResponse,
  readPlaylistVersion,
  stillChanging,
  storedFileOf,
  type PlaylistVersion,
} from './http-file.ts';
import { freshnessOf, playlistKind } from './freshness.ts';
import { MAX_PLAYLIST_BYTES, MAX_PLAYLIST_LINES, tokenizedPlaylist } from './tokenize.ts';
import { contentTypeFor } from './mime.ts';
import {
  deltaUpdate,
  directiveVerdict,
  llStateOf,
  readDirectives,
  withoutBlockingReload,
  type Directives,
} from './ll-hls.ts';
import type { HoldResult } from './blocking-reload.ts';

// A granted playlist request: the delivery directives of low-latency HLS (hold until the asked part is there, a
// delta update; ll-hls.ts, blocking-reload.ts), then the playlist as it is, tokenized for a device link, or for
// storage that cannot hold a request, with blocking reload struck from its server-control line.

export interface PlaylistRequest {
  key: string;
  url: URL;
  request: Request;
  grant: Grant;
  /** A device link's grant query, handed on to every file the playlist names ('' for cookies). */
  token: string;
  mediaBase: string;
  folder: string;
  /** Who holds the request, for the per-viewer cap of held requests (the client's address). */
  holder: string;
}

/** A version's delta update, made once however many held requests are answered with it. */
const deltas = new WeakMap<PlaylistVersion, string | null>();
function deltaOf(version: PlaylistVersion): string | null {
  if (!deltas.has(version)) deltas.set(version, deltaUpdate(version.text, llStateOf(version)));
  return deltas.get(version)!;
}

/** A blocking request waits at most this many target durations (RFC 8216bis section 6.2.5.2: then 503). */
const HOLD_TARGETS = 3;

export async function answerPlaylist(ctx: AppContext, p: PlaylistRequest): Promise<Response> {
  const directives = readDirectives(p.url.searchParams);
  if (typeof directives === 'string') return problem('bad-delivery-directive', directives);
  const got = await versionFor(ctx, p, directives);
  if (got instanceof Response) return got;
  // The grant was judged before the request was held; one that ran out while it waited is refused now.
  if (got.held && p.grant.expiresAt <= ctx.now() / 1000)
    return cloudFrontDenial({ code: DENIALS.expired.code, reason: 'expired' });
  const version = got.version;
  let text = version.text;
  if (directives?.skip) text = deltaOf(version) ?? text;
  if (!ctx.holds && text.includes('CAN-BLOCK-RELOAD=YES')) text = withoutBlockingReload(text);
  if (p.token) {
    const bytes = text === version.text ? version.bytes : new TextEncoder().encode(text);
    return tokenizedPlaylist(
      { meta: { ...version.meta, size: bytes.byteLength }, body: bytes },
      {
        playlistUrl: p.mediaBase + p.url.pathname,
        folderUrl: p.mediaBase + p.folder,
        token: p.token,
        head: p.request.method === 'HEAD',
        contentType: contentTypeFor(p.key),
      },
    );
  }
  const secondsLeft = Math.max(0, Math.floor(p.grant.expiresAt - ctx.now() / 1000));
  const { kind, targetDuration } = playlistKind(version.text);
  const freshness = freshnessOf(kind, secondsLeft, {
    sessionControl: ctx.deps.sessions !== undefined,
    ...(targetDuration !== undefined ? { targetDuration } : {}),
  });
  const res = await playlistResponse(p.key, version, p.request, freshness, text);
  const stored = storedFileOf(res);
  if (stored && got.held) stored.held = true;
  return res;
}

/** The playlist version to answer with: at once, or once it holds what the directives ask for. */
async function versionFor(
  ctx: AppContext,
  p: PlaylistRequest,
  directives: Directives | null,
): Promise<{ version: PlaylistVersion; held: boolean } | Response> {
  // The playlist as it is now, read like any other: what a request is judged on and answered with when it need
  // not wait (never a version a hub read a moment ago, which a change not yet reported could have replaced).
  const version = await readPlaylistVersion(ctx.deps.storage, p.key);
  if (version === null) return problem('not-found', 'No such file in this video.');
  if (version === 'changing') return stillChanging();
  if (version === 'too-large') return tooLarge();
  if (directives?.msn === undefined || !ctx.holds) return { version, held: false };
  const d = directives;
  // Only a playlist that offers blocking reload is waited on (a master, a plain live playlist: answered at once).
  const readiness = (v: PlaylistVersion) => (llStateOf(v).canBlockReload ? directiveVerdict(llStateOf(v), d) : 'ready');
  const now = readiness(version);
  if (now === 'ready') return { version, held: false };
  if (now === 'too-far') return problem('directive-too-far');
  const result = await ctx.holds.hold(
    p.key,
    readiness,
    (v) => HOLD_TARGETS * Math.max(1, llStateOf(v).targetDuration) * 1000,
    p.request.signal,
    p.holder,
  );
  if (typeof result === 'object' && 'version' in result) return { version: result.version, held: true };
  return heldFailure(result);
}

function heldFailure(result: HoldResult<PlaylistVersion> | { tooFar: PlaylistVersion }): Response {
  if (typeof result === 'object' && 'tooFar' in result) return problem('directive-too-far');
  switch (result) {
    case 'timeout':
      return problem('playlist-not-updated', undefined, { 'Retry-After': '1' });
    case 'busy':
      return problem('too-many-held', undefined, { 'Retry-After': '1' });
    case 'aborted':
      return problem('playlist-not-updated');
    default:
      return problem('not-found', 'No such file in this video.');
  }
}

function tooLarge(): Response {
  return problem(
    'playlist-too-large',
    `The playlist is over ${MAX_PLAYLIST_BYTES} bytes or ${MAX_PLAYLIST_LINES} lines: too large to serve.`,
  );
}

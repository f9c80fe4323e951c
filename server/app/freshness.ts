// How long a copy of a media answer may be reused without asking again: one rule per kind of file, decided here
// only. A copy must never outlive the grant that allowed it, and a live stream must keep moving:
// - segments, init segments, keys and finished (on-demand) media playlists never change: kept until the grant ends
//   (at most a day);
// - a media playlist that is still growing (no EXT-X-ENDLIST, RFC 8216 section 4.3.3.4) for at most half its target
//   duration, rounded down, which is AWS's guidance for live origins behind a CDN (Elemental MediaPackage, "CDN
//   recommendations": https://docs.aws.amazon.com/mediapackage/latest/ug/cdns.html); 0 means revalidate each time,
//   answered 304 from the ETag when unchanged. A player reloads a live playlist about once per target duration
//   (RFC 8216 section 6.3.4), so a longer max-age would hand it the same playlist again and freeze playback;
// - a low-latency media playlist (EXT-X-PART-INF, RFC 8216bis section 4.4.3.7) changes with every part, a few times
//   a second: revalidated every time (its ETag is of its bytes, http-file.ts), never kept;
// - a master (multivariant) playlist briefly: it says nothing of whether its renditions are live, and a player
//   reads it once per playback, so a short life costs nothing on demand;
// - under session control nothing is reused unchecked: a revoked device must not replay its cache, so every copy is
//   revalidated (`no-cache`) and judged again.
// Behind nginx the same number bounds how long nginx reuses its copy (node/file-responses.ts keptFor), so nginx never
// hands out a live playlist older than this either.

/** What a stored file is, for caching. */
export type FileKind = 'file' | 'master-playlist' | 'media-playlist' | 'live-playlist';

/** The cache headers of one answer: what the viewer is told, and the same as seconds for a runtime's own cache. */
export interface Freshness {
  cacheControl: string;
  /** Seconds a copy may be reused unchecked: the max-age the viewer got; 0 when every request is judged. */
  keepFor: number;
}

/** Files that never change: kept at most this long, and never past the grant. */
export const MAX_CACHE_SECONDS = 86_400;
/** A master playlist: kept at most this long. */
export const MASTER_PLAYLIST_SECONDS = 5;

/** The Cache-Control of an answer a viewer may keep for `seconds` (its own browser only); 0 is revalidate always. */
export function keepPrivately(seconds: number): string {
  return seconds > 0 ? `private, max-age=${seconds}` : 'private, no-cache';
}

/**
 * The freshness of an answer of `kind` under a grant with `secondsLeft`; `targetDuration` (seconds) is a live
 * playlist's EXT-X-TARGETDURATION, when it states one.
 */
export function freshnessOf(
  kind: FileKind,
  secondsLeft: number,
  options: { sessionControl: boolean; targetDuration?: number },
): Freshness {
  if (options.sessionControl) return { cacheControl: 'private, no-cache', keepFor: 0 };
  const cap =
    kind === 'live-playlist'
      ? Math.floor((options.targetDuration ?? 0) / 2)
      : kind === 'master-playlist'
        ? MASTER_PLAYLIST_SECONDS
        : MAX_CACHE_SECONDS;
  const keepFor = Math.max(0, Math.min(Math.floor(secondsLeft), cap));
  return { cacheControl: keepPrivately(keepFor), keepFor };
}

// Tags at the start of a line (RFC 8216 section 4.1: a tag is a line that begins with #EXT), compiled once.
const MASTER_TAG = /^#EXT-X-(?:I-FRAME-)?STREAM-INF(?::|\r?$)/m;
const FINISHED_TAG = /^(?:#EXT-X-ENDLIST|#EXT-X-PLAYLIST-TYPE:VOD)\r?$/m;
const TARGET_DURATION = /^#EXT-X-TARGETDURATION:(\d{1,5})\r?$/m;
const PART_INF = /^#EXT-X-PART-INF:/m;

/**
 * What a playlist is, from its text (RFC 8216 section 4.3): a master when it names variant streams, a media playlist
 * that is finished when it holds EXT-X-ENDLIST (or is of type VOD, which cannot change), a live one otherwise, with
 * its target duration (an integer number of seconds, section 4.3.3.1; anything else counts as none: revalidate).
 */
export function playlistKind(text: string): { kind: FileKind; targetDuration?: number } {
  // The common finished playlist ends with its ENDLIST: known without reading a long playlist line by line.
  const last = text.lastIndexOf('#EXT-X-ENDLIST');
  if (last >= 0 && (last === 0 || text[last - 1] === '\n') && /^#EXT-X-ENDLIST\s*$/.test(text.slice(last)))
    return { kind: 'media-playlist' };
  if (MASTER_TAG.test(text)) return { kind: 'master-playlist' };
  if (FINISHED_TAG.test(text)) return { kind: 'media-playlist' };
  if (PART_INF.test(text)) return { kind: 'live-playlist', targetDuration: 0 };
  const target = TARGET_DURATION.exec(text);
  return target ? { kind: 'live-playlist', targetDuration: Number(target[1]) } : { kind: 'live-playlist' };
}

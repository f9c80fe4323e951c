import { discover, parsePlaylist, PlaylistError, type HlsRequest } from './discover.ts';
import { fetchOne, type CrawlOptions, type FetchResult } from './crawl.ts';

// `fetch-segments --live <seconds>`: follows a live stream as a player does (RFC 8216 section 6.3.4): each media
// playlist is reloaded one target duration after a change, half of one after a reload that brought nothing new; each
// segment (and init segment and key) it names is fetched once. What it reports besides each request: a segment the
// playlist named that is gone (404: the window slid past it before it could be fetched, or it was removed), and a
// playlist that stops advancing for more than 1.5 target durations (a stalled encoder, or a cache that hands out an
// old copy: the freeze a viewer would see). A low-latency playlist that offers blocking reload (CAN-BLOCK-RELOAD=YES)
// is followed as a low-latency player does: each reload asks for the next part (`_HLS_msn`, `_HLS_part`,
// draft-pantos-hls-rfc8216bis section 6.2.5.2) and the server answers when it exists, with no waiting in between;
// every part it names is fetched like a segment.

export interface Stall {
  playlist: string;
  /** Seconds since the walk started when the stall was seen, and how long the playlist had not advanced then. */
  at: number;
  seconds: number;
  targetDuration: number;
}

export interface LiveWalk {
  results: FetchResult[];
  stalls: Stall[];
  /** Playlists that ended (EXT-X-ENDLIST) during the walk. */
  ended: string[];
}

type LiveOptions = Pick<CrawlOptions, 'timeoutMs' | 'headersFor' | 'propagateQuery'> & {
  seconds: number;
  onProgress?: (done: number) => void;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Walks the live stream at `playlistUrl` (a master or a media playlist) for `opts.seconds`. */
export async function walkLive(playlistUrl: string, opts: LiveOptions): Promise<LiveWalk> {
  const walk: LiveWalk = { results: [], stalls: [], ended: [] };
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  const first = await fetchOne({ url: playlistUrl, kind: 'playlist' }, opts);
  walk.results.push(first.result);
  if (first.text === undefined) return walk;
  let media: string[];
  try {
    const manifest = parsePlaylist(first.text);
    const variants = discover(
      first.text,
      playlistUrl,
      opts.propagateQuery ? { propagateQuery: opts.propagateQuery } : {},
    )
      .filter((r) => r.kind === 'playlist')
      .map((r) => r.url);
    media = (manifest.playlists?.length ?? 0) > 0 || variants.length > 0 ? variants : [playlistUrl];
  } catch (err) {
    first.result.error = `broken playlist: ${err instanceof Error ? err.message : String(err)}`;
    return walk;
  }
  const fetched = new Set<string>();
  await Promise.all(media.map((url) => followPlaylist(url, walk, fetched, { ...opts, started, deadline })));
  return walk;
}

/** Reloads one media playlist until the deadline or its end, fetching what is new. */
async function followPlaylist(
  url: string,
  walk: LiveWalk,
  fetched: Set<string>,
  opts: LiveOptions & { started: number; deadline: number },
): Promise<void> {
  let lastEnd = -1;
  let lastAdvance = performance.now();
  let stalled = false;
  let next: string | undefined;
  while (performance.now() < opts.deadline) {
    const { result, text } = await fetchOne({ url: next ?? url, kind: 'playlist' }, opts);
    next = undefined;
    walk.results.push(result);
    opts.onProgress?.(walk.results.length);
    let target = 2;
    let advanced = false;
    if (text !== undefined) {
      try {
        const manifest = parsePlaylist(text);
        target = manifest.targetDuration ?? target;
        const complete = (manifest.mediaSequence ?? 0) + (manifest.segments?.length ?? 0);
        const openParts = manifest.preloadSegment?.parts?.length ?? 0;
        // Progress counts parts too: a low-latency playlist moves with every part.
        const end = complete * 10_000 + openParts;
        advanced = end > lastEnd;
        if (manifest.serverControl?.canBlockReload && !manifest.endList)
          next = withDirectives(url, complete, openParts);
        if (advanced) lastEnd = end;
        await fetchNew(
          discover(text, url, opts.propagateQuery ? { propagateQuery: opts.propagateQuery } : {}),
          walk,
          fetched,
          opts,
        );
        if (manifest.endList) {
          walk.ended.push(url);
          return;
        }
      } catch (err) {
        if (!(err instanceof PlaylistError)) throw err;
        result.error = `broken playlist: ${err.message}`;
      }
    }
    const now = performance.now();
    if (advanced) {
      lastAdvance = now;
      stalled = false;
    } else if (!stalled && now - lastAdvance > 1.5 * target * 1000) {
      stalled = true;
      walk.stalls.push({
        playlist: url,
        at: Math.round((now - opts.started) / 100) / 10,
        seconds: Math.round((now - lastAdvance) / 100) / 10,
        targetDuration: target,
      });
    }
    // A blocking reload waits at the server; anything else, RFC 8216 section 6.3.4: one target duration after a
    // changed playlist, half of one after an unchanged one.
    if (next && result.status === 200) continue;
    await sleep(Math.min((advanced ? target : target / 2) * 1000, Math.max(0, opts.deadline - performance.now())));
  }
}

/** The playlist URL asking for part `part` of segment `msn` (its own query, a device link's grant, kept). */
function withDirectives(url: string, msn: number, part: number): string {
  // Appended as text: re-serialising the query would re-encode a signed query's characters (`~` in a signature).
  return `${url}${url.includes('?') ? '&' : '?'}_HLS_msn=${msn}&_HLS_part=${part}`;
}

/** Fetches each segment, init segment and key not fetched before; a segment that is gone is reported as missing. */
async function fetchNew(
  requests: HlsRequest[],
  walk: LiveWalk,
  fetched: Set<string>,
  opts: LiveOptions,
): Promise<void> {
  for (const req of requests) {
    if (req.kind === 'playlist') continue;
    const id = `${req.url}|${req.range ? `${req.range.offset}+${req.range.length}` : ''}`;
    if (fetched.has(id)) continue;
    fetched.add(id);
    const { result } = await fetchOne(req, opts);
    if (result.status === 404 && (req.kind === 'segment' || req.kind === 'part'))
      result.error = 'missing: the playlist names it but it is gone (404)';
    walk.results.push(result);
    opts.onProgress?.(walk.results.length);
  }
}

import { Parser, type Manifest } from 'm3u8-parser';

// What a player could request from one playlist (RFC 8216): variants, alternate renditions (EXT-X-MEDIA),
// I-frame playlists, segments, EXT-X-MAP init segments, EXT-X-KEY keys, and EXT-X-BYTERANGE sub-ranges.
// URIs are resolved against the playlist's own URL (RFC 8216 section 4.1, RFC 3986 section 5).

/** `part`: a low-latency partial segment (EXT-X-PART, draft-pantos-hls-rfc8216bis section 4.4.4.9). */
export type RequestKind = 'playlist' | 'segment' | 'part' | 'init' | 'key';

export interface HlsRequest {
  url: string;
  kind: RequestKind;
  /** Byte range for EXT-X-BYTERANGE segments and init segments. */
  range?: { offset: number; length: number };
  /** The playlist that referenced it. */
  from?: string;
}

export class PlaylistError extends Error {}

export function parsePlaylist(text: string): Manifest {
  if (!text.trimStart().startsWith('#EXTM3U')) throw new PlaylistError('not an HLS playlist (no #EXTM3U header)');
  const parser = new Parser();
  try {
    parser.push(text);
    parser.end();
  } catch (err) {
    throw new PlaylistError(`unparsable playlist: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parser.manifest;
}

/** Carries a query string (e.g. a signed URL's) onto a child URL that has none of its own parameters by that name. */
function withQuery(url: URL, propagate?: URLSearchParams): string {
  if (propagate) for (const [k, v] of propagate) if (!url.searchParams.has(k)) url.searchParams.append(k, v);
  return url.href;
}

export function discover(
  text: string,
  playlistUrl: string,
  opts: { maxSegments?: number; propagateQuery?: URLSearchParams } = {},
): HlsRequest[] {
  const manifest = parsePlaylist(text);
  const resolveUri = (uri: string) => withQuery(new URL(uri, playlistUrl), opts.propagateQuery);
  const out: HlsRequest[] = [];
  const seen = new Set<string>();
  const add = (r: HlsRequest) => {
    const id = `${r.url}|${r.range ? `${r.range.offset}+${r.range.length}` : ''}`;
    if (seen.has(id)) return;
    seen.add(id);
    out.push({ ...r, from: playlistUrl });
  };
  for (const p of manifest.playlists ?? []) add({ url: resolveUri(p.uri), kind: 'playlist' });
  for (const group of Object.values(manifest.mediaGroups ?? {}))
    for (const renditions of Object.values(group))
      for (const r of Object.values(renditions)) if (r.uri) add({ url: resolveUri(r.uri), kind: 'playlist' });
  for (const p of manifest.iFramePlaylists ?? []) add({ url: resolveUri(p.uri), kind: 'playlist' });

  const segments = manifest.segments ?? [];
  const limit = opts.maxSegments ?? Infinity;
  segments.slice(0, limit).forEach((s) => {
    if (s.map)
      add({
        url: resolveUri(s.map.uri),
        kind: 'init',
        ...(s.map.byterange ? { range: { offset: s.map.byterange.offset ?? 0, length: s.map.byterange.length } } : {}),
      });
    if (s.key?.uri && s.key.method !== 'NONE') add({ url: resolveUri(s.key.uri), kind: 'key' });
    for (const part of s.parts ?? []) add({ url: resolveUri(part.uri), kind: 'part' });
    add({
      url: resolveUri(s.uri),
      kind: 'segment',
      ...(s.byterange ? { range: { offset: s.byterange.offset ?? 0, length: s.byterange.length } } : {}),
    });
  });
  // The parts of the segment being written (after the last complete one).
  for (const part of manifest.preloadSegment?.parts ?? []) add({ url: resolveUri(part.uri), kind: 'part' });
  return out;
}

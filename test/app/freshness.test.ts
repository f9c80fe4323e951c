// The caching rules as a table (server/app/freshness.ts): what a playlist is, from its text, and how long each kind
// may be reused under a grant, with and without session control.
import { describe, expect, it } from 'vitest';
import { MASTER_PLAYLIST_SECONDS, MAX_CACHE_SECONDS, freshnessOf, playlistKind } from '../../server/app/freshness.ts';

const media = (tags: string[]) => ['#EXTM3U', ...tags, '#EXTINF:2.0,', 'seg_000.ts', ''].join('\n');

describe('playlistKind', () => {
  it.each([
    ['a master', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na/index.m3u8\n', { kind: 'master-playlist' }],
    [
      'a master of I-frame streams only',
      '#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI="i.m3u8"\n',
      { kind: 'master-playlist' },
    ],
    ['a finished media playlist', media(['#EXT-X-TARGETDURATION:2']) + '#EXT-X-ENDLIST\n', { kind: 'media-playlist' }],
    ['a VOD playlist', media(['#EXT-X-TARGETDURATION:2', '#EXT-X-PLAYLIST-TYPE:VOD']), { kind: 'media-playlist' }],
    [
      'ENDLIST with CRLF line ends',
      media(['#EXT-X-TARGETDURATION:2']).replace(/\n/g, '\r\n') + '#EXT-X-ENDLIST\r\n',
      { kind: 'media-playlist' },
    ],
    ['a sliding window', media(['#EXT-X-TARGETDURATION:6']), { kind: 'live-playlist', targetDuration: 6 }],
    [
      'an event',
      media(['#EXT-X-TARGETDURATION:4', '#EXT-X-PLAYLIST-TYPE:EVENT']),
      { kind: 'live-playlist', targetDuration: 4 },
    ],
    [
      'CRLF line ends',
      media(['#EXT-X-TARGETDURATION:4']).replace(/\n/g, '\r\n'),
      { kind: 'live-playlist', targetDuration: 4 },
    ],
    ['no target duration', media([]), { kind: 'live-playlist' }],
    ['a fractional target duration (not allowed)', media(['#EXT-X-TARGETDURATION:2.5']), { kind: 'live-playlist' }],
    // Only a tag at the start of a line counts: a URI or a comment that mentions one is not it.
    [
      'ENDLIST inside a URI',
      media(['#EXT-X-TARGETDURATION:2']) + 'x#EXT-X-ENDLIST\n',
      { kind: 'live-playlist', targetDuration: 2 },
    ],
    [
      'ENDLIST as a prefix of another tag',
      media(['#EXT-X-TARGETDURATION:2']) + '#EXT-X-ENDLISTX\n',
      { kind: 'live-playlist', targetDuration: 2 },
    ],
  ])('%s', (_what, text, expected) => {
    expect(playlistKind(text)).toEqual(expected);
  });
});

describe('freshnessOf', () => {
  const open = { sessionControl: false };
  it.each([
    // kind, seconds left in the grant, target duration, max-age
    ['file' as const, 3600, undefined, 3600],
    ['file' as const, 10 * 86_400, undefined, MAX_CACHE_SECONDS],
    ['file' as const, 0, undefined, 0],
    ['media-playlist' as const, 3600, undefined, 3600],
    ['master-playlist' as const, 3600, undefined, MASTER_PLAYLIST_SECONDS],
    ['master-playlist' as const, 2, undefined, 2],
    ['live-playlist' as const, 3600, 6, 3],
    ['live-playlist' as const, 3600, 2, 1],
    ['live-playlist' as const, 3600, 1, 0],
    ['live-playlist' as const, 3600, undefined, 0],
    ['live-playlist' as const, 1, 6, 1],
  ])('%s, %i s of grant left, target %s: max-age %i', (kind, left, targetDuration, seconds) => {
    const f = freshnessOf(kind, left, { ...open, targetDuration });
    expect(f.keepFor).toBe(seconds);
    expect(f.cacheControl).toBe(seconds > 0 ? `private, max-age=${seconds}` : 'private, no-cache');
  });

  it('revalidates everything under session control', () => {
    for (const kind of ['file', 'master-playlist', 'media-playlist', 'live-playlist'] as const)
      expect(freshnessOf(kind, 3600, { sessionControl: true, targetDuration: 6 })).toEqual({
        cacheControl: 'private, no-cache',
        keepFor: 0,
      });
  });
});

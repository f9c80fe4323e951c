// A playlist rewritten in place while it is read (a writer that truncates and writes instead of renaming a new
// version over the old): the bytes read disagree with the size the storage stated, so headers and validators would
// describe another version. the media route reads again, and answers 503 Retry-After when the file keeps changing,
// never a body with another version's ETag. The storage here is a storage adapter of its own (MediaStorage), whose
// stated size and bytes disagree the way a racing writer makes them.
import { contentEtag } from '../../server/app/http-file.ts';
import { describe, expect, it } from 'vitest';
import {
  playlistResponse,
  readPlaylistVersion,
  stillChanging,
  type PlaylistVersion,
} from '../../server/app/http-file.ts';
import type { Freshness } from '../../server/app/freshness.ts';
import type { MediaStorage, StoredObject } from '../../server/app/storage.ts';
import { freshnessOf, playlistKind } from '../../server/app/freshness.ts';

const LIVE = '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg_1.ts\n';

/** Versions handed out in turn; `stated` is the size the adapter claims for each (a racing writer's view). */
function racingStorage(versions: { text: string; stated: number }[]): MediaStorage & { reads: number } {
  const storage = {
    reads: 0,
    async head() {
      return null;
    },
    async get(): Promise<StoredObject> {
      const v = versions[Math.min(storage.reads++, versions.length - 1)]!;
      const bytes = new TextEncoder().encode(v.text);
      return { meta: { size: v.stated, etag: `"v${storage.reads}"`, lastModified: new Date(0) }, body: bytes };
    },
  };
  return storage;
}

/** What the media route does with a playlist (app/media-playlists.ts): one version read whole, then its answer. */
async function servePlaylist(
  storage: MediaStorage,
  key: string,
  request: Request,
  freshnessFor: (text: string) => Freshness,
): Promise<Response | null | 'too-large'> {
  const version: PlaylistVersion | null | 'too-large' | 'changing' = await readPlaylistVersion(storage, key);
  if (version === null || version === 'too-large') return version;
  if (version === 'changing') return stillChanging();
  return playlistResponse(key, version, request, freshnessFor(version.text));
}

const serve = (storage: MediaStorage) =>
  servePlaylist(storage, 'v/index.m3u8', new Request('http://x/videos/v/index.m3u8'), (text) => {
    const { kind, targetDuration } = playlistKind(text);
    return freshnessOf(kind, 3600, { sessionControl: false, targetDuration });
  });

describe('a playlist rewritten while it is read', () => {
  it('is read again, and served with the ETag of the version whose bytes went out', async () => {
    const storage = racingStorage([
      { text: LIVE.slice(0, 20), stated: LIVE.length }, // caught halfway through a rewrite
      { text: LIVE, stated: LIVE.length },
    ]);
    const res = (await serve(storage)) as Response;
    expect(storage.reads).toBe(2);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(await contentEtag(new TextEncoder().encode(LIVE)));
    expect(await res.text()).toBe(LIVE);
    expect(res.headers.get('cache-control')).toBe('private, max-age=1');
  });

  it('answers 503 Retry-After when it keeps changing, never a body under another version’s validators', async () => {
    const storage = racingStorage([{ text: LIVE.slice(0, 20), stated: LIVE.length }]);
    const res = (await serve(storage)) as Response;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('etag')).toBeNull();
  });
});

describe('a playlist rewritten twice within a second at the same length', () => {
  it('gets a new ETag each time, so a viewer holding the first is never told 304 for the second', async () => {
    const second = LIVE.replace('seg_1', 'seg_2');
    expect(second.length).toBe(LIVE.length);
    const first = (await serve(racingStorage([{ text: LIVE, stated: LIVE.length }]))) as Response;
    const etag = first.headers.get('etag')!;
    const storage = racingStorage([{ text: second, stated: second.length }]);
    const again = (await servePlaylist(
      storage,
      'v/index.m3u8',
      new Request('http://x/videos/v/index.m3u8', { headers: { 'If-None-Match': etag } }),
      () => freshnessOf('live-playlist', 3600, { sessionControl: false, targetDuration: 2 }),
    )) as Response;
    expect(again.status).toBe(200);
    expect(again.headers.get('etag')).not.toBe(etag);
    expect(await again.text()).toBe(second);
  });
});

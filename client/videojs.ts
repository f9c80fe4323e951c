import { REFUSAL_REASON_HEADER, type AccessGrant, type GrantClient } from './grant-client.ts';

// Video.js 8 (its HLS engine, VHS) with a gated video: the source is given with `withCredentials`, so every request
// VHS makes carries the cookies. VHS's request hooks are synchronous (video.js #8456): a request cannot wait for a
// renewal, so the grant is kept fresh ahead of time by the client's own timer (renewed at refreshAt, well before it
// ends). A refusal for an expired grant is seen in the response hook and renewed at once; VHS retries its last
// rendition on its own, and the retry goes out with the new cookies while the buffer keeps playing. video.js is not
// imported: pass the player. https://github.com/videojs/http-streaming#vhs-xhr-hooks

/** A response as VHS's xhr hooks report it. */
export interface VhsResponse {
  statusCode: number;
  headers?: Record<string, string>;
}

type ResponseHook = (request: unknown, error: unknown, response: VhsResponse | undefined) => void;

/** VHS's request hooks, found on the tech once VHS has a source (video.js types the tech without them). */
interface VhsHooks {
  vhs?: { xhr?: { onResponse?(hook: ResponseHook): void; offResponse?(hook: ResponseHook): void } };
}

/** A video.js player, as far as this adapter needs it (video.js's own `Player` type fits). */
export interface VideoJsPlayer {
  src(source: { src: string; type: string; withCredentials: boolean }): void;
  tech(options: { IWillNotUseThisInPlugins: true }): object | null | undefined;
  on(event: 'xhr-hooks-ready', listener: () => void): void;
  off(event: 'xhr-hooks-ready', listener: () => void): void;
}

/** Plays `grant` in `player` with the cookies and the renewal after `expired`; returns a function that undoes it. */
export function videoJsSetup(client: GrantClient, player: VideoJsPlayer, grant: AccessGrant): () => void {
  let recovering = false;
  const onResponse: ResponseHook = (_request, _error, response) => {
    if (!response || (response.statusCode !== 401 && response.statusCode !== 403) || recovering) return;
    recovering = true;
    const reason = response.headers?.[REFUSAL_REASON_HEADER.toLowerCase()] ?? null;
    void client
      .recover(reason)
      .catch(() => false)
      .finally(() => (recovering = false));
  };
  const vhs = () => (player.tech({ IWillNotUseThisInPlugins: true }) as VhsHooks | null | undefined)?.vhs;
  const attach = () => vhs()?.xhr?.onResponse?.(onResponse);
  player.on('xhr-hooks-ready', attach);
  player.src({ src: grant.playlistUrl, type: 'application/x-mpegURL', withCredentials: true });
  return () => {
    player.off('xhr-hooks-ready', attach);
    vhs()?.xhr?.offResponse?.(onResponse);
  };
}

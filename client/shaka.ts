import { REFUSAL_REASON_HEADER, type GrantClient } from './grant-client.ts';

// Shaka Player with a gated video: a request filter sends the cookies with every request (Shaka's
// `allowCrossSiteCredentials`) and, being allowed to return a promise, waits for a fresh grant when the current one
// is about to end; a refusal for an expired grant (Shaka does not retry a 401/403: its error is CRITICAL) is met with
// one renewal and `retryStreaming()`, while the buffer keeps playing. Shaka is not imported: pass the player.
// https://shaka-player-demo.appspot.com/docs/api/shaka.net.NetworkingEngine.html#registerRequestFilter

/** The part of a Shaka request this adapter sets. */
export interface ShakaRequest {
  allowCrossSiteCredentials: boolean;
}

/** A `shaka.Player`, as far as this adapter needs it. */
export interface ShakaPlayer {
  getNetworkingEngine(): {
    registerRequestFilter(filter: (type: number, request: ShakaRequest) => Promise<void>): void;
    unregisterRequestFilter(filter: (type: number, request: ShakaRequest) => Promise<void>): void;
  } | null;
  addEventListener(type: 'error', listener: (event: Event) => void): void;
  removeEventListener(type: 'error', listener: (event: Event) => void): void;
  retryStreaming(): boolean;
}

/** shaka.util.Error.Code.BAD_HTTP_STATUS: data is [uri, status, responseText, headers, requestType]. */
const BAD_HTTP_STATUS = 1001;

/** Wires `client` into `player` (before `player.load`); returns a function that undoes it. */
export function shakaSetup(client: GrantClient, player: ShakaPlayer): () => void {
  const engine = player.getNetworkingEngine();
  if (!engine) throw new TypeError('shakaSetup: the player has no networking engine (attach it first)');
  const filter = async (_type: number, request: ShakaRequest) => {
    request.allowCrossSiteCredentials = true;
    await client.ensureFresh();
  };
  engine.registerRequestFilter(filter);
  let recovering = false;
  const onError = (event: Event) => {
    const error = (event as Event & { detail?: { code?: number; data?: unknown[] } }).detail;
    if (error?.code !== BAD_HTTP_STATUS || recovering) return;
    const status = error.data?.[1];
    const headers = (error.data?.[3] ?? {}) as Record<string, string>;
    if (status !== 401 && status !== 403) return;
    recovering = true;
    void client
      .recover(headers[REFUSAL_REASON_HEADER.toLowerCase()] ?? null)
      .then((retry) => retry && player.retryStreaming())
      .catch(() => {})
      .finally(() => (recovering = false));
  };
  player.addEventListener('error', onError);
  return () => {
    engine.unregisterRequestFilter(filter);
    player.removeEventListener('error', onError);
  };
}

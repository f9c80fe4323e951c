import { REFUSAL_REASON_HEADER, type GrantClient } from './grant-client.ts';

// hls.js with a gated video: every request (playlists, segments, init segments, keys: all go through its XHR loader)
// carries the cookies (`withCredentials`), waits for a fresh grant when the current one is about to end (`xhrSetup`
// may return a promise: hls.js waits for it), and a refusal for an expired grant is retried exactly once after a
// renewal (hls.js does not retry a 4xx on its own). hls.js is not imported: pass its class.
// https://github.com/video-dev/hls.js/blob/master/docs/API.md#xhrsetup

/** The part of hls.js's retry settings this adapter reads and extends. */
export interface HlsRetry {
  maxNumRetry: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  shouldRetry?: (
    /** hls.js passes its own retry settings; this adapter does not read them. */
    config: never,
    retryCount: number,
    isTimeout: boolean,
    response: { url: string; code?: number } | undefined,
    retry: boolean,
  ) => boolean;
}

/** One of hls.js's load policies (`manifestLoadPolicy`, `fragLoadPolicy`, ...). */
export interface HlsLoadPolicy {
  default: { errorRetry?: HlsRetry | null };
}

/** The hls.js class, as far as this adapter needs it (`import Hls from 'hls.js'`). */
export interface HlsClass {
  DefaultConfig: {
    manifestLoadPolicy: HlsLoadPolicy;
    playlistLoadPolicy: HlsLoadPolicy;
    fragLoadPolicy: HlsLoadPolicy;
    keyLoadPolicy: HlsLoadPolicy;
  };
}

/** The hls.js settings for a gated video: spread them into `new Hls({ ...hlsJsConfig(client, Hls), ...yours })`. */
export function hlsJsConfig<H extends HlsClass>(client: GrantClient, Hls: H, hooks: { onRecover?: () => void } = {}) {
  /** hls.js's own policy type, kept (the retry is extended, nothing else changes). */
  type P = H['DefaultConfig']['fragLoadPolicy'];
  let lastReason: string | null = null;
  const policy = (p: P): P => retryOnceIfExpired(p, client, () => lastReason, hooks.onRecover);
  const d = Hls.DefaultConfig;
  return {
    xhrSetup: async (xhr: XMLHttpRequest): Promise<void> => {
      xhr.withCredentials = true;
      xhr.addEventListener('readystatechange', () => {
        if (xhr.readyState === 4 && xhr.status >= 400) lastReason = xhr.getResponseHeader(REFUSAL_REASON_HEADER);
      });
      // Never send a request with a grant about to run out: renew first.
      await client.ensureFresh();
    },
    manifestLoadPolicy: policy(d.manifestLoadPolicy),
    playlistLoadPolicy: policy(d.playlistLoadPolicy),
    fragLoadPolicy: policy(d.fragLoadPolicy),
    keyLoadPolicy: policy(d.keyLoadPolicy),
  };
}

/** A refusal for an expired grant gets exactly one retry, after a renewal; other 401/403s none. */
function retryOnceIfExpired<P extends HlsLoadPolicy>(
  policy: P,
  client: GrantClient,
  lastReason: () => string | null,
  onRecover?: () => void,
): P {
  const base = policy.default;
  const errorRetry = base.errorRetry ?? { maxNumRetry: 0, retryDelayMs: 0, maxRetryDelayMs: 0 };
  // The policy as given, with its retry extended: hls.js's own type, kept.
  return {
    ...policy,
    default: {
      ...base,
      errorRetry: {
        ...errorRetry,
        maxNumRetry: Math.max(1, errorRetry.maxNumRetry),
        retryDelayMs: Math.min(errorRetry.retryDelayMs, 500),
        shouldRetry: (_cfg, count, _timeout, response, retry) => {
          if (response?.code === 403 || response?.code === 401) {
            if (count > 0 || lastReason() !== 'expired') return false;
            // hls.js waits retryDelayMs before the retry; the renewal usually lands first, and xhrSetup waits for it.
            onRecover?.();
            void client.recover('expired').catch(() => {});
            return true;
          }
          return retry && count < errorRetry.maxNumRetry;
        },
      },
    },
  };
}

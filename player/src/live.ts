import Hls from 'hls.js';

// A live stream on the player page: the LIVE badge, how far behind the live edge the viewer is, and "Go to live"
// when they have fallen (or paused, or seeked) well behind it. hls.js keeps a live playlist reloaded on its own;
// `latency` is its estimate of the distance to the live edge and `targetLatency` where it aims to play
// (https://github.com/video-dev/hls.js/blob/master/docs/API.md#hlslatency).

export interface LiveElements {
  badge: HTMLElement;
  latency: HTMLElement;
  goLive: HTMLButtonElement;
}

export interface LiveState {
  live: boolean;
  /** Seconds behind the live edge, as hls.js estimates it. */
  latency: number | null;
  targetDuration: number | null;
  /** A low-latency stream (its playlist has parts, EXT-X-PART-INF): hls.js plays it in lowLatencyMode. */
  lowLatency: boolean;
  /**
   * Seconds between now and the date of the frame on screen (EXT-X-PROGRAM-DATE-TIME): the glass-to-glass delay
   * less the camera's own, when the encoder's clock is right.
   */
  behindWallClock: number | null;
}

/** Follows `h` for live streams; returns a function that stops following (a new video, or the page goes). */
export function followLive(h: Hls, video: HTMLVideoElement, el: LiveElements, state: LiveState): () => void {
  const show = () => {
    el.badge.hidden = !state.live;
    el.latency.hidden = !state.live || state.latency === null;
    if (state.latency !== null)
      el.latency.textContent = `${state.latency.toFixed(1)} s behind live${state.lowLatency ? ' (low latency)' : ''}`;
    // Behind by more than two segments beyond where hls.js aims to be: offer the way back.
    const target = state.targetDuration ?? 2;
    const aim = h.targetLatency ?? 3 * target;
    el.goLive.hidden = !state.live || state.latency === null || state.latency < aim + 2 * target;
  };
  h.on(Hls.Events.LEVEL_LOADED, (_e, data) => {
    state.live = data.details.live;
    state.targetDuration = data.details.targetduration;
    state.lowLatency = data.details.partTarget > 0;
    show();
  });
  const timer = setInterval(() => {
    if (!state.live) return;
    const latency = h.latency;
    state.latency = Number.isFinite(latency) && latency > 0 ? latency : null;
    const date = h.playingDate;
    state.behindWallClock = date ? (Date.now() - date.getTime()) / 1000 : null;
    show();
  }, 1000);
  const goLive = () => {
    const edge = h.liveSyncPosition;
    if (edge !== null && Number.isFinite(edge)) video.currentTime = edge;
    void video.play().catch(() => {});
  };
  el.goLive.addEventListener('click', goLive);
  return () => {
    clearInterval(timer);
    el.goLive.removeEventListener('click', goLive);
    state.live = false;
    state.latency = null;
    state.lowLatency = false;
    state.behindWallClock = null;
    show();
  };
}

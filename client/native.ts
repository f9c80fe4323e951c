import type { AccessGrant, GrantClient } from './grant-client.ts';

// Native HLS (Safari, iOS, some smart TVs): no request hooks at all. The cookies go with every request of the media
// element only with `crossorigin="use-credentials"` (and the gateway's CORS allowing this page's origin); the grant is
// kept fresh by the client's own timer (renewed at refreshAt), since no request can wait for a renewal; a refusal
// mid-playback is seen only as a media error, so the adapter renews and reloads the source once from where it was.
// Where cookies cannot work at all (a TV app, a third-party-cookie wall), use a device link instead: a signed URL
// that carries the grant to every file (the gateway's POST /api/videos/<id>/device-link).

/** Plays `grant` in `video` natively; returns a function that detaches the adapter. */
export function playNatively(client: GrantClient, video: HTMLVideoElement, grant: AccessGrant): () => void {
  video.crossOrigin = 'use-credentials';
  video.src = grant.playlistUrl;
  let retried = false;
  const onError = () => {
    if (retried) return;
    retried = true;
    const at = video.currentTime;
    // The element does not say why (no status, no header): renewing is harmless, and an expired grant is the usual cause.
    void client.renew().then(
      (g) => {
        video.src = g.playlistUrl;
        video.currentTime = at;
        void video.play().catch(() => {});
      },
      () => {},
    );
  };
  const onPlaying = () => (retried = false);
  video.addEventListener('error', onError);
  video.addEventListener('playing', onPlaying);
  return () => {
    video.removeEventListener('error', onError);
    video.removeEventListener('playing', onPlaying);
  };
}

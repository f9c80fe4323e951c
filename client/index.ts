/**
 * `hls-gate/client`: the browser side of a gated video for any player. A grant client (obtain the grant, keep it
 * fresh, renew once after an `expired` refusal, give the session back when playback stops) and adapters that wire
 * it into a player's hooks. No player is imported: each adapter takes the player's class or instance.
 *
 * @example
 * import Hls from 'hls.js';
 * import { createGrantClient, hlsJsConfig } from 'hls-gate/client';
 * const client = createGrantClient({ videoId: 'abc', apiBase: 'https://media.example.com', getToken: () => myJwt() });
 * const grant = await client.start();
 * const hls = new Hls(hlsJsConfig(client, Hls));
 * hls.loadSource(grant.playlistUrl);
 * hls.attachMedia(video);
 *
 * @module
 */
export {
  createGrantClient,
  GrantRefusal,
  REFUSAL_REASON_HEADER,
  type AccessGrant,
  type GrantClient,
  type GrantClientOptions,
} from './grant-client.ts';
export { hlsJsConfig, type HlsClass, type HlsLoadPolicy, type HlsRetry } from './hlsjs.ts';
export { playNatively } from './native.ts';
export { shakaSetup, type ShakaPlayer, type ShakaRequest } from './shaka.ts';
export { videoJsSetup, type VideoJsPlayer, type VhsResponse } from './videojs.ts';
export { accessMessage, mediaMessage, type Message } from './messages.ts';

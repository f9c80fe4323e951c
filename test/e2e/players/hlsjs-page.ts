// A host page with hls.js (its own, not hls-gate's page) and hls-gate/client, as the README's snippet has it.
import Hls from 'hls.js';
import { createGrantClient, hlsJsConfig } from '../../../client/index.ts';

interface PageConfig {
  apiBase: string;
  token: string;
  videoId: string;
}

const cfg = (window as unknown as { pageConfig: PageConfig }).pageConfig;
const state = { renewals: -1, errors: [] as { code: number; status: unknown }[], started: false };
const video = document.querySelector('video')!;
const client = createGrantClient({
  videoId: cfg.videoId,
  apiBase: cfg.apiBase,
  getToken: async () => cfg.token,
  onGrant: (_grant, renewals) => (state.renewals = renewals),
});
(window as unknown as { pageState: typeof state; stopPlayback: () => void }).pageState = state;
(window as unknown as { stopPlayback: () => void }).stopPlayback = () => client.stop();
const grant = await client.start();
// A short buffer, so that segments are asked for all along (and a grant's end is met while playing).
const hls = new Hls({ ...hlsJsConfig(client, Hls), maxBufferLength: 6, maxMaxBufferLength: 6 });
hls.on(Hls.Events.ERROR, (_e, data) => state.errors.push({ code: 0, status: data.response?.code }));
hls.loadSource(grant.playlistUrl);
hls.attachMedia(video);
video.muted = true;
await video.play().catch(() => {});
state.started = true;

// A host page with Shaka Player and hls-gate/client, as the README's snippet has it; bundled by the test (esbuild).
import shaka from 'shaka-player';
import { createGrantClient, shakaSetup } from '../../../client/index.ts';

interface PageConfig {
  apiBase: string;
  token: string;
  videoId: string;
}

const cfg = (window as unknown as { pageConfig: PageConfig }).pageConfig;
const state = { renewals: -1, errors: [] as { code: number; status: unknown }[], started: false };
(window as unknown as { pageState: typeof state }).pageState = state;
(window as unknown as { stopPlayback: () => void }).stopPlayback = () => client.stop();

const video = document.querySelector('video')!;
const client = createGrantClient({
  videoId: cfg.videoId,
  apiBase: cfg.apiBase,
  getToken: async () => cfg.token,
  onGrant: (_grant, renewals) => (state.renewals = renewals),
});
const player = new shaka.Player();
await player.attach(video);
// A short buffering goal, so that segments are asked for all along (and a grant's end is met while playing).
player.configure({ streaming: { bufferingGoal: 6 } });
shakaSetup(client, player);
player.addEventListener('error', (e) => {
  const detail = (e as Event & { detail: { code: number; data: unknown[] } }).detail;
  state.errors.push({ code: detail.code, status: detail.data?.[1] });
});
const grant = await client.start();
await player.load(grant.playlistUrl);
video.muted = true;
await video.play();
state.started = true;

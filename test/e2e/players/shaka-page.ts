// A host page with Shaka Player and hls-gate/client, as the README's snippet has it; bundled by the test (esbuild).
import shaka from 'shaka-player';
import { shakaSetup } from '../../../client/index.ts';
import { pageClient, state } from './page-client.ts';

const video = document.querySelector('video')!;
const client = pageClient();
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

// A host page with Video.js 8 and hls-gate/client, as the README's snippet has it; bundled by the test (esbuild).
import videojs from 'video.js';
import { createGrantClient, videoJsSetup } from '../../../client/index.ts';

interface PageConfig {
  apiBase: string;
  token: string;
  videoId: string;
}

const cfg = (window as unknown as { pageConfig: PageConfig }).pageConfig;
const state = { renewals: -1, errors: [] as { code: number; status: unknown }[], started: false };
(window as unknown as { pageState: typeof state }).pageState = state;
(window as unknown as { stopPlayback: () => void }).stopPlayback = () => client.stop();

const client = createGrantClient({
  videoId: cfg.videoId,
  apiBase: cfg.apiBase,
  getToken: async () => cfg.token,
  onGrant: (_grant, renewals) => (state.renewals = renewals),
});
const player = videojs(document.querySelector('video')!, { muted: true });
const grant = await client.start();
// VHS's own retries of its last rendition happen every few seconds; the test counts the refusals it met.
player.on('xhr-hooks-ready', () => {
  const tech = player.tech({ IWillNotUseThisInPlugins: true }) as unknown as {
    vhs: { xhr: { onResponse(h: (r: unknown, e: unknown, res?: { statusCode: number }) => void): void } };
  };
  tech.vhs.xhr.onResponse((_r, _e, res) => {
    if (res && res.statusCode >= 400) state.errors.push({ code: res.statusCode, status: res.statusCode });
  });
});
videoJsSetup(client, player, grant);
await player.play();
state.started = true;

// A host page with Video.js 8 and hls-gate/client, as the README's snippet has it; bundled by the test (esbuild).
import videojs from 'video.js';
import { videoJsSetup } from '../../../client/index.ts';
import { pageClient, state } from './page-client.ts';

const client = pageClient();
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

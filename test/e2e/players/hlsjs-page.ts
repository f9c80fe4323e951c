// A host page with hls.js (its own, not hls-gate's page) and hls-gate/client, as the README's snippet has it.
import Hls from 'hls.js';
import { hlsJsConfig } from '../../../client/index.ts';
import { pageClient, state } from './page-client.ts';

const video = document.querySelector('video')!;
const client = pageClient();
const grant = await client.start();
// A short buffer, so that segments are asked for all along (and a grant's end is met while playing).
const hls = new Hls({ ...hlsJsConfig(client, Hls), maxBufferLength: 6, maxMaxBufferLength: 6 });
hls.on(Hls.Events.ERROR, (_e, data) => state.errors.push({ code: 0, status: data.response?.code }));
hls.loadSource(grant.playlistUrl);
hls.attachMedia(video);
video.muted = true;
await video.play().catch(() => {});
state.started = true;

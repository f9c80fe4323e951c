import Hls, { type ErrorData, type HlsConfig } from 'hls.js';
import { hlsJsConfig } from '../../client/index.ts';
import { renderSVG } from 'uqr';
import {
  ApiError,
  demoActive,
  problemOf,
  deviceLink,
  listVideos,
  startUpload,
  uploadState,
  type CatalogVideo,
} from './api.ts';
import { mountMarkup } from './markup.ts';
import { REASON_HEADER } from '../../server/core/headers.ts';
import { MASTER_PLAYLIST } from '../../server/app/layout.ts';
import { GrantKeeper, type GrantState } from './grants.ts';
import { accessMessage, mediaMessage, type Message } from '../../client/messages.ts';
import { followLive, type LiveState } from './live.ts';

// The player page: catalog, hls.js with credentials on every request, a grant kept fresh while playing, and
// refusals explained. See player/README.md for embedding it in a host application.

mountMarkup();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const video = $<HTMLVideoElement>('video');
const quality = $<HTMLSelectElement>('quality');

interface Diagnostics {
  hls: Hls | null;
  grant: GrantState | null;
  events: { t: number; type: string; detail?: string }[];
  refusals: { url: string; status: number; reason: string | null }[];
  message: Message | null;
  live: LiveState;
}
// For diagnostics and the end-to-end tests: read-only state of the page.
const diag: Diagnostics = {
  hls: null,
  grant: null,
  events: [],
  refusals: [],
  message: null,
  live: { live: false, latency: null, targetDuration: null, lowLatency: false, behindWallClock: null },
};
(window as unknown as { __hlsGate: Diagnostics }).__hlsGate = diag;
const log = (type: string, detail?: string) => diag.events.push({ t: Date.now(), type, ...(detail ? { detail } : {}) });

let hls: Hls | null = null;
let keeper: GrantKeeper | null = null;
let current: CatalogVideo | null = null;

function showMessage(m: Message | null): void {
  diag.message = m;
  $('notice').hidden = !m;
  if (!m) return;
  $('notice-title').textContent = m.title;
  $('notice-text').textContent = m.text;
  $('notice-retry').hidden = !m.retry;
}

function fmt(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
    : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function renderGrant(): void {
  const g = keeper?.state;
  const state = $('grant-state');
  if (!g?.grant) {
    state.textContent = diag.message ? 'refused' : 'none yet';
    state.className = diag.message ? 'bad' : '';
    return;
  }
  const left = (g.expiresAtMs - Date.now()) / 1000;
  state.textContent = left > 0 ? 'granted' : 'expired';
  state.className = left > 0 ? 'ok' : 'bad';
  $('grant-expires').textContent = left > 0 ? `in ${fmt(left)}` : 'expired';
  $('grant-refreshed').textContent =
    g.renewals === 0
      ? `issued ${fmt((Date.now() - g.refreshedAtMs) / 1000)} ago`
      : `${g.renewals}× · last ${fmt((Date.now() - g.refreshedAtMs) / 1000)} ago`;
}
setInterval(renderGrant, 1000);

let stopLive: (() => void) | null = null;

function teardown(): void {
  stopLive?.();
  stopLive = null;
  hls?.destroy();
  hls = null;
  diag.hls = null;
  keeper?.stop();
  keeper = null;
  quality.replaceChildren(new Option('Auto', '-1'));
  quality.disabled = true;
  video.removeAttribute('src');
  video.load();
}

async function play(entry: CatalogVideo): Promise<void> {
  teardown();
  showMessage(null);
  current = entry;
  $('title').textContent = entry.title;
  $('description').textContent = entry.description ?? '';
  if (entry.posterUrl) video.poster = entry.posterUrl;
  else video.removeAttribute('poster');
  document
    .querySelectorAll('#catalog button')
    .forEach((b) => b.setAttribute('aria-current', String(b.getAttribute('data-id') === entry.id)));
  const url = new URL(window.location.href);
  url.searchParams.set('video', entry.id);
  history.replaceState(null, '', url);

  const k = new GrantKeeper(
    entry.id,
    (s) => {
      diag.grant = s;
      log('grant', `${s.renewals}`);
      renderGrant();
    },
    (err) => {
      log('grant-error', err instanceof ApiError ? err.problem.code : String(err));
    },
  );
  keeper = k;
  let grant;
  try {
    grant = await k.renew();
  } catch (err) {
    const p = problemOf(err);
    log('access-refused', p.code);
    showMessage(accessMessage(p.status, p.code));
    renderGrant();
    return;
  }
  if (keeper !== k) return; // another video was chosen meanwhile

  if (!Hls.isSupported()) {
    // Safari / iOS: native HLS. The JS hooks do not apply; crossorigin="use-credentials" sends the cookies.
    if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = grant.playlistUrl;
      void video.play().catch(() => {});
    } else
      showMessage({
        title: 'This browser cannot play HLS',
        text: 'Use a current Chrome, Edge, Firefox or Safari.',
        retry: false,
      });
    return;
  }

  // hls-gate/client's hls.js adapter: credentials, a fresh grant before each request, one retry after `expired`.
  const gated = hlsJsConfig(k.client, Hls, { onRecover: () => log('renew-after-expired') });
  let lastReason: string | null = null;
  const config: Partial<HlsConfig> = {
    // Low-latency HLS when the stream offers it (parts, blocking reload, delta updates): hls.js's default, stated
    // because a page that turns it off plays a low-latency stream seconds behind. A host page may still override it.
    lowLatencyMode: true,
    // Behind the target latency (a slow start, a stall), play up to 1.25x until back: without it hls.js stays as far
    // behind as it once fell (https://github.com/video-dev/hls.js/blob/master/docs/API.md#maxlivesyncplaybackrate).
    maxLiveSyncPlaybackRate: 1.25,
    ...(window.hlsGate?.hlsConfig as Partial<HlsConfig> | undefined),
    // One hook covers playlists, segments, init segments and AES-128 keys: all go through the XHR loader.
    ...gated,
    xhrSetup: async (xhr: XMLHttpRequest, reqUrl: string) => {
      xhr.addEventListener('readystatechange', () => {
        if (xhr.readyState === 4 && xhr.status >= 400) {
          lastReason = xhr.getResponseHeader(REASON_HEADER);
          diag.refusals.push({ url: reqUrl, status: xhr.status, reason: lastReason });
        }
      });
      await gated.xhrSetup(xhr);
    },
  };
  const h = new Hls(config);
  hls = h;
  diag.hls = h;
  stopLive = followLive(
    h,
    video,
    { badge: $('live-badge'), latency: $('live-latency'), goLive: $<HTMLButtonElement>('go-live') },
    diag.live,
  );
  h.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
    log('manifest', `${data.levels.length} levels`);
    quality.replaceChildren(
      new Option('Auto', '-1'),
      ...data.levels.map(
        (l, i) => new Option(l.height ? `${l.height}p` : `${Math.round(l.bitrate / 1000)} kbps`, String(i)),
      ),
    );
    quality.disabled = data.levels.length < 2;
    void video.play().catch(() => log('autoplay-blocked'));
  });
  h.on(Hls.Events.ERROR, (_e, data: ErrorData) => {
    log(data.fatal ? 'fatal' : 'error', data.details);
    const refusedStatus = data.response?.code ?? (data.networkDetails as XMLHttpRequest | undefined)?.status ?? 0;
    if (
      data.type === Hls.ErrorTypes.NETWORK_ERROR &&
      (refusedStatus === 401 || refusedStatus === 403) &&
      (lastReason !== 'expired' || data.fatal)
    ) {
      // A refusal other than an expired grant will not heal by itself: stop loading and say why. hls.js may
      // treat a refused segment as skippable, so this must not wait for a fatal error.
      h.stopLoad();
      showMessage(mediaMessage(refusedStatus, lastReason));
      renderGrant();
      return;
    }
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      h.recoverMediaError();
      return;
    }
    const status = data.response?.code ?? (data.networkDetails as XMLHttpRequest | undefined)?.status ?? 0;
    showMessage(mediaMessage(status, lastReason));
    renderGrant();
  });
  h.loadSource(grant.playlistUrl);
  h.attachMedia(video);
}

// Play on another device: a device link (a signed URL for this video's whole tree) as text and a QR code, with its
// expiry; and AirPlay / casting through the Remote Playback API where the browser offers it for this video.
async function showDeviceLink(): Promise<void> {
  if (!current) return;
  const panel = $('device');
  // The same button closes it again.
  if (!panel.hidden) {
    panel.hidden = true;
    return;
  }
  try {
    const link = await deviceLink(current.id);
    $('device-qr').innerHTML = renderSVG(link.url, { border: 2 }); // an SVG made from the URL: no markup from outside
    $<HTMLInputElement>('device-url').value = link.url;
    $('device-expires').textContent = new Date(link.expiresAt).toLocaleString();
    panel.hidden = false;
    log('device-link');
  } catch (err) {
    const p = problemOf(err);
    showMessage(accessMessage(p.status, p.code));
  }
}
$('device-button').addEventListener('click', () => void showDeviceLink());
$('device-copy').addEventListener(
  'click',
  () => void navigator.clipboard?.writeText($<HTMLInputElement>('device-url').value).catch(() => {}),
);
const remote = (
  video as HTMLVideoElement & {
    remote?: { watchAvailability(cb: (available: boolean) => void): Promise<number>; prompt(): Promise<void> };
  }
).remote;
if (remote) {
  remote.watchAvailability((available) => ($('airplay').hidden = !available)).catch(() => {});
  $('airplay').addEventListener('click', () => void remote.prompt().catch(() => {}));
}

// Upload a video (demo): the file's SHA-256, a signed upload URL, the PUT with its progress in bytes, then the
// packaging progress, then it plays.
async function upload(file: File): Promise<void> {
  const state = $('upload-state');
  const bar = $<HTMLProgressElement>('upload-progress');
  try {
    state.textContent = 'Reading the file…';
    const sha256 = [...new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    const ticket = await startUpload();
    if (file.size > ticket.maxBytes) throw new Error(`the file is larger than ${Math.round(ticket.maxBytes / 1e6)} MB`);
    bar.hidden = false;
    await new Promise<void>((resolve, reject) => {
      const xhr = new XMLHttpRequest(); // fetch has no upload progress
      xhr.open('PUT', ticket.uploadUrl);
      xhr.setRequestHeader('x-amz-content-sha256', sha256);
      xhr.upload.onprogress = (e) => {
        bar.value = e.total ? e.loaded / e.total : 0;
        state.textContent = `Uploading: ${(e.loaded / 1e6).toFixed(1)} of ${(file.size / 1e6).toFixed(1)} MB`;
      };
      // A refusal is problem+json: its detail says why (not a video, over the allowance, the disk full).
      const refusal = () => {
        try {
          return (JSON.parse(xhr.responseText) as { detail?: string }).detail ?? '';
        } catch {
          return '';
        }
      };
      xhr.onload = () =>
        xhr.status < 300 ? resolve() : reject(new Error(`the upload was refused (${xhr.status}). ${refusal()}`.trim()));
      xhr.onerror = () => reject(new Error('the upload failed'));
      xhr.send(file);
    });
    for (;;) {
      const s = await uploadState(ticket.videoId);
      if (s.status === 'ready') break;
      if (s.status === 'failed') throw new Error(`packaging failed: ${s.reason}`);
      bar.value = s.status === 'packaging' ? s.percent / 100 : 0;
      state.textContent = s.status === 'packaging' ? `Packaging: ${s.percent}%` : 'Uploaded; packaging soon…';
      await new Promise((r) => setTimeout(r, 500));
    }
    state.textContent = 'Ready.';
    bar.hidden = true;
    log('uploaded', ticket.videoId);
    const url = new URL(window.location.href);
    url.searchParams.set('video', ticket.videoId);
    history.replaceState(null, '', url);
    await start();
  } catch (err) {
    state.textContent = `Upload failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}
$<HTMLInputElement>('upload-file').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) void upload(file);
});
$('upload-drop').addEventListener('dragover', (e) => e.preventDefault());
$('upload-drop').addEventListener('drop', (e) => {
  e.preventDefault();
  const file = e.dataTransfer?.files[0];
  if (file) void upload(file);
});
// Leaving the page stops playback: under session control that frees this device's slot at once.
window.addEventListener('pagehide', () => keeper?.stop());

quality.addEventListener('change', () => {
  if (hls) hls.currentLevel = Number(quality.value);
});
for (const type of ['playing', 'waiting', 'stalled', 'ended']) video.addEventListener(type, () => log(type));
$('notice-retry').addEventListener('click', () => {
  if (current) void play(current);
});

async function start(): Promise<void> {
  let videos: CatalogVideo[];
  try {
    videos = await listVideos();
    // The badge says what the server said: only a gateway in demo mode hands out demo tokens; the demo also
    // offers uploads.
    if (demoActive()) {
      $('mode').textContent = 'demo mode';
      $('upload').hidden = false;
    }
  } catch (err) {
    const p = problemOf(err);
    showMessage(accessMessage(p.status, p.code));
    $('title').textContent = 'Videos unavailable';
    return;
  }
  const wanted = new URL(window.location.href).searchParams.get('video');
  const list = $('catalog');
  list.replaceChildren(
    ...videos.map((v) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.id = v.id;
      b.innerHTML = '<span class="name"></span><span class="meta"></span>';
      (b.firstChild as HTMLElement).textContent = v.title;
      (b.lastChild as HTMLElement).textContent = [
        v.live ? 'LIVE' : v.durationSeconds ? fmt(v.durationSeconds) : '',
        v.description ?? '',
      ]
        .filter(Boolean)
        .join(' · ');
      if (v.live) b.classList.add('live');
      if (v.posterUrl) {
        const img = document.createElement('img');
        img.className = 'poster';
        img.alt = '';
        img.loading = 'lazy';
        img.src = v.posterUrl; // a signed URL for this one image: no cookie, no grant needed
        b.prepend(img);
      }
      b.addEventListener('click', () => void play(v));
      li.append(b);
      return li;
    }),
  );
  // A video asked for by ?video= is tried even when not in the viewer's catalog, so the refusal is shown.
  const entry =
    videos.find((v) => v.id === wanted) ??
    (wanted ? { id: wanted, title: wanted, playlist: MASTER_PLAYLIST } : videos[0]);
  if (entry) await play(entry);
  else showMessage({ title: 'No videos', text: 'Your access does not include any video yet.', retry: false });
}

void start();

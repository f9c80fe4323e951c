// The player's markup, in one place: the page (player/index.html) and a host page that embeds the script both get
// it from here. Static text only; everything dynamic is set with textContent.

export const PLAYER_MARKUP = `
  <header class="top">
    <span class="brand"><span class="logo" aria-hidden="true">▶</span> hls-gate</span>
    <span class="mode" id="mode"></span>
  </header>
  <main class="layout">
    <section class="stage">
      <div class="screen">
        <!-- use-credentials: Safari/iOS native HLS sends the cookies cross-origin only with this. -->
        <video id="video" controls playsinline muted crossorigin="use-credentials"></video>
        <div class="notice" id="notice" hidden>
          <strong id="notice-title"></strong>
          <p id="notice-text"></p>
          <button type="button" id="notice-retry">Try again</button>
        </div>
      </div>
      <div class="bar">
        <div class="title">
          <h1 id="title">Loading…</h1>
          <p class="live-state"><span class="live-badge" id="live-badge" hidden>LIVE</span>
            <span id="live-latency" hidden></span>
            <button type="button" id="go-live" hidden>Go to live</button></p>
          <p id="description"></p>
        </div>
        <label class="quality">Quality
          <select id="quality" disabled><option value="-1">Auto</option></select>
        </label>
        <button type="button" id="airplay" hidden>AirPlay / Cast</button>
        <button type="button" id="device-button">Play on another device</button>
      </div>
      <div class="device" id="device" hidden>
        <div class="qr" id="device-qr" aria-label="QR code of the device link"></div>
        <div>
          <p>Open this link on a TV, a phone or in VLC: it plays this video without signing in, until
            <strong id="device-expires"></strong>.</p>
          <input id="device-url" readonly aria-label="Device link">
          <button type="button" id="device-copy">Copy link</button>
        </div>
      </div>
      <dl class="grant" id="grant">
        <div><dt>Access</dt><dd id="grant-state">none yet</dd></div>
        <div><dt>Expires</dt><dd id="grant-expires">—</dd></div>
        <div><dt>Refreshed</dt><dd id="grant-refreshed">—</dd></div>
      </dl>
    </section>
    <aside class="catalog">
      <h2>Videos</h2>
      <ul id="catalog"></ul>
      <section class="upload" id="upload" hidden>
        <h2>Upload a video</h2>
        <label class="drop" id="upload-drop">Drop a video here, or <input type="file" id="upload-file" accept="video/*,audio/*"></label>
        <progress id="upload-progress" max="1" value="0" hidden></progress>
        <p id="upload-state"></p>
      </section>
    </aside>
  </main>`;

/** Puts the player into `#hls-gate-player` (or the body) unless the page already holds its markup. */
export function mountMarkup(): void {
  if (document.getElementById('video')) return;
  const host = document.getElementById('hls-gate-player') ?? document.body;
  host.insertAdjacentHTML('beforeend', PLAYER_MARKUP);
}

// Players on hls-gate/client in Chromium, through the split deployment over HTTPS (the page on app.example.test,
// API and media on media.example.test, cookies for example.test, as test/e2e/split.test.ts), with session control:
// a host page with the real player package from npm and the client's adapter. Each plays across grant renewals
// (8 s grants) and recovers from a grant forced to expire (its cookies replaced by expired ones: an `expired`
// refusal, one renewal, playback goes on) without a stall over a second; stopping gives the slot back. Native HLS
// (Safari, iOS) cannot run here: the client logic its adapter relies on is what test/client covers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { importPrivateKey, signCookies } from '../../server/core/index.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';
import { RSA_KEY_PAIR_ID, fixtureKey } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/ports.ts';
import { launchBrowser } from './browser.ts';
import { makeTestTls, type TestTls } from './tls.ts';

const PLAYERS = [
  ['hls.js', 'test/e2e/players/hlsjs-page.ts'],
  ['Shaka Player', 'test/e2e/players/shaka-page.ts'],
  ['Video.js 8 (VHS)', 'test/e2e/players/videojs-page.ts'],
] as const;

/** A 90 s video (the demo's are 30 s: a player would have it all buffered before a grant could expire). */
function longVideo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-players-'));
  mkdirSync(join(dir, 'long', '180p'), { recursive: true });
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '90'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'main', '-level', '3.0', '-pix_fmt', 'yuv420p'],
    ...['-g', '50', '-sc_threshold', '0', '-f', 'hls'],
    ...['-hls_time', '2', '-hls_playlist_type', 'vod', join(dir, 'long', '180p', 'index.m3u8')],
  ]);
  writeFileSync(
    join(dir, 'long', 'master.m3u8'),
    '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=400000,CODECS="avc1.4d401e"\n180p/index.m3u8\n',
  );
  return dir;
}

/** Samples the page every 100 ms: the longest time the video did not move, once it had started. */
async function watch(page: Page, ms: number): Promise<{ longestStall: number; advanced: number }> {
  return page.evaluate(async (duration) => {
    const v = document.querySelector('video')!;
    const start = v.currentTime;
    let last = v.currentTime;
    let lastMove = Date.now();
    let longest = 0;
    const until = Date.now() + duration;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      if (v.currentTime !== last) {
        last = v.currentTime;
        lastMove = Date.now();
      }
      longest = Math.max(longest, Date.now() - lastMove);
    }
    return { longestStall: longest / 1000, advanced: v.currentTime - start };
  }, ms);
}

describe.each(PLAYERS)('%s with hls-gate/client', (_name, entry) => {
  let gw: RunningGateway;
  let host: HttpsServer;
  let hostOrigin: string;
  let mediaOrigin: string;
  let tls: TestTls;
  let token: string;
  let html = '';
  let browser: { context: BrowserContext; close(): Promise<void> };
  let media: string;
  const refusals: string[] = [];

  beforeAll(async () => {
    const bundle = await build({ entryPoints: [entry], bundle: true, format: 'esm', write: false, logLevel: 'silent' });
    const script = bundle.outputFiles[0]!.text;
    tls = makeTestTls(['app.example.test', 'media.example.test']);
    const mediaPort = await freePort();
    media = longVideo();
    host = createHttpsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (req, res) => {
      if (req.url === '/player.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
      else res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
    });
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    hostOrigin = `https://app.example.test:${(host.address() as AddressInfo).port}`;
    mediaOrigin = `https://media.example.test:${mediaPort}`;
    gw = await startNodeGateway(
      testEnv({
        PORT: String(mediaPort),
        MEDIA_DIR: media,
        MEDIA_HOSTS: undefined,
        MEDIA_BASE_URL: mediaOrigin,
        COOKIE_DOMAIN: 'example.test',
        ALLOWED_ORIGINS: hostOrigin,
        TLS_CERT_FILE: tls.certFile,
        TLS_KEY_FILE: tls.keyFile,
        ACCESS_TTL: '8',
        GRANT_WINDOW: '0',
        SESSION_SECRET: 'session-secret-that-is-long-enough-0123456789',
        MAX_STREAMS_PER_VIEWER: '1',
      }),
      { log: (e) => void (e.status >= 400 && refusals.push(`${e.status} ${e.reason ?? ''}`)) },
    );
    token = await viewerToken('*', { expSeconds: 3600, sub: `viewer-of-${entry}` });
    html = `<!doctype html><meta charset="utf-8"><title>A host page</title><video controls></video>
<script>window.pageConfig = ${JSON.stringify({ apiBase: mediaOrigin, token, videoId: 'long' })};</script>
<script type="module" src="/player.js"></script>`;
    browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${tls.spkiHash}`]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await new Promise((r) => host?.close(r));
    rmSync(media, { recursive: true, force: true });
  });

  it('plays across grant renewals, and recovers from a grant forced to expire without a stall', async () => {
    const page = await browser.context.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(String(e)));
    await page.goto(`${hostOrigin}/`);
    await page
      .waitForFunction(() => document.querySelector('video')!.currentTime > 1, undefined, { timeout: 30_000 })
      .catch(() => {
        throw new Error(`did not play: ${logs.join(' | ').slice(0, 1500)}`);
      });
    await page.waitForFunction(() => document.querySelector('video')!.currentTime > 1, undefined, { timeout: 30_000 });
    // 8 s grants: renewed at least three times in 20 s, playback never stopping.
    const first = await watch(page, 20_000);
    const state = () =>
      page.evaluate(() => (window as unknown as { pageState: { renewals: number; errors: unknown[] } }).pageState);
    expect((await state()).renewals).toBeGreaterThanOrEqual(2);
    expect(first.longestStall).toBeLessThanOrEqual(1);
    expect(first.advanced).toBeGreaterThan(15);
    // The grant forced to expire: right after a renewal (so the next one is seconds away), the browser's cookies
    // replaced by the same grant with an end in the past. The next segment request is refused as expired.
    const renewed = (await state()).renewals;
    await page.waitForFunction(
      (n) => (window as unknown as { pageState: { renewals: number } }).pageState.renewals > n,
      renewed,
      { timeout: 15_000, polling: 50 },
    );
    const cookies = await browser.context.cookies(`${mediaOrigin}/videos/long/`);
    const expired = await signCookies(
      { resource: `${mediaOrigin}/videos/long/*`, expires: Math.floor(Date.now() / 1000) - 60 },
      { keyPairId: RSA_KEY_PAIR_ID, privateKey: await importPrivateKey(fixtureKey('rsa-pkcs8.pem')) },
    );
    await browser.context.addCookies(
      cookies
        .filter((c) => c.name in expired)
        .map((c) => ({ ...c, value: expired[c.name as keyof typeof expired] as string })),
    );
    const before = (await state()).renewals;
    const after = await watch(page, 10_000);
    const s = await state();
    // The expired refusal was met (the gateway logged it), then one renewal, and playback went on.
    expect(refusals, `player errors ${JSON.stringify(s.errors)}`).toContain('403 expired'); // the expired refusal was seen
    expect(s.renewals).toBeGreaterThan(before);
    expect(s.renewals).toBeGreaterThanOrEqual(3); // at least three refreshes while it played
    expect(after.longestStall).toBeLessThanOrEqual(1);
    expect(after.advanced).toBeGreaterThan(8);
    // Stopping gives the session back: the viewer's one slot is free for another device at once.
    const other = () =>
      page.evaluate(
        async ([url, jwt]) =>
          (await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${jwt}` } })).status,
        [`${mediaOrigin}/api/videos/long/access`, token] as const,
      );
    expect(await other()).toBe(429);
    await page.evaluate(() => (window as unknown as { stopPlayback: () => void }).stopPlayback());
    await new Promise((r) => setTimeout(r, 500));
    expect(await other()).toBe(200);
  }, 90_000);
});

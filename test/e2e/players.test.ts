// Other players on hls-gate/client, in Chromium: a host page on its own origin with the real player package from npm
// and the client's adapter, the gateway on another. Each plays across grant renewals (short ACCESS_TTL) and recovers
// from a grant forced to expire (its cookies replaced by expired ones: an `expired` refusal, one renewal, playback
// goes on) without a stall over a second. Native HLS (Safari, iOS) cannot run here: its adapter's logic is what
// test/client covers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const PLAYERS = [
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
  let host: Server;
  let hostOrigin: string;
  let browser: { context: BrowserContext; close(): Promise<void> };
  let media: string;
  const refusals: string[] = [];

  beforeAll(async () => {
    const bundle = await build({ entryPoints: [entry], bundle: true, format: 'esm', write: false, logLevel: 'silent' });
    const script = bundle.outputFiles[0]!.text;
    const hostPort = await freePort();
    hostOrigin = `http://127.0.0.1:${hostPort}`;
    media = longVideo();
    gw = await startNodeGateway(
      testEnv({
        PORT: '0',
        MEDIA_DIR: media,
        ALLOWED_ORIGINS: hostOrigin,
        MEDIA_HOSTS: '127.0.0.1',
        ACCESS_TTL: '8',
        GRANT_WINDOW: '0',
      }),
      { log: (e) => void (e.status >= 400 && refusals.push(`${e.status} ${e.reason ?? ''}`)) },
    );
    const token = await viewerToken('*', { expSeconds: 3600 });
    const html = `<!doctype html><meta charset="utf-8"><title>A host page</title><video controls></video>
<script>window.pageConfig = ${JSON.stringify({ apiBase: gw.url, token, videoId: 'long' })};</script>
<script type="module" src="/player.js"></script>`;
    host = createServer((req, res) => {
      if (req.url === '/player.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
      else res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
    });
    await new Promise<void>((r) => host.listen(hostPort, '127.0.0.1', r));
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await new Promise((r) => host?.close(r));
    rmSync(media, { recursive: true, force: true });
  });

  it('plays across grant renewals, and recovers from a grant forced to expire without a stall', async () => {
    const access = await fetch(`${gw.url}/api/videos/long/access`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    expect(access.status, await access.clone().text()).toBe(200);
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
    const cookies = await browser.context.cookies(`${gw.url}/videos/long/`);
    const expired = await signCookies(
      { resource: `${gw.url}/videos/long/*`, expires: Math.floor(Date.now() / 1000) - 60 },
      { keyPairId: RSA_KEY_PAIR_ID, privateKey: await importPrivateKey(fixtureKey('rsa-pkcs8.pem')) },
    );
    await browser.context.addCookies(
      cookies
        .filter((c) => c.name in expired)
        .map((c) => ({ ...c, value: expired[c.name as keyof typeof expired] as string })),
    );
    const before = (await state()).renewals;
    const after = await watch(page, 15_000);
    const s = await state();
    // The expired refusal was seen (by the player and at the gateway), then one renewal, and playback went on.
    expect(s.errors.length, `player errors ${JSON.stringify(s.errors)}`).toBeGreaterThanOrEqual(1);
    expect(refusals).toContain('403 expired'); // the expired refusal was seen
    expect(s.renewals).toBeGreaterThan(before);
    expect(after.longestStall).toBeLessThanOrEqual(1);
    expect(after.advanced).toBeGreaterThan(12);
  }, 90_000);
});

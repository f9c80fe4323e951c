import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { launchBrowser, playbackState, waitForPlayback } from './browser.ts';
import type { BrowserContext } from 'playwright-core';

// Real Chromium playing real video from the real gateway (single origin, demo mode).
describe('player in Chromium, single origin', () => {
  let gw: RunningGateway;
  let browser: { context: BrowserContext; close(): Promise<void> };
  const mediaRequests: { url: string; status: number; cookie: boolean }[] = [];

  beforeAll(async () => {
    gw = await startNodeGateway({ PORT: '0', DEMO: 'true', HOST: '127.0.0.1' }, { log: () => {} });
    browser = await launchBrowser();
    browser.context.on('requestfinished', async (req) => {
      if (!new URL(req.url()).pathname.startsWith('/videos/')) return;
      const res = await req.response();
      mediaRequests.push({
        url: req.url(),
        status: res?.status() ?? 0,
        cookie: (await req.allHeaders()).cookie?.includes('CloudFront-Signature') ?? false,
      });
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('plays the demo: time advances, frames decode, no hls.js error; screenshot saved', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${gw.url}/?video=ladder`);
    const state = await waitForPlayback(page, 4);
    expect(state.frames).toBeGreaterThan(50);
    expect(state.error).toBeNull();
    // Non-fatal buffer notices (bufferSeekOverHole at the start of TS) are normal; no fatal and no load error is allowed.
    expect(
      state.events.filter((e) => e.type === 'fatal' || (e.type === 'error' && /load|Load|key/.test(e.detail ?? ''))),
      JSON.stringify(state.events),
    ).toEqual([]);
    expect(state.message).toBeNull();
    expect(mediaRequests.length).toBeGreaterThan(3);
    expect(mediaRequests.filter((r) => r.status !== 200 || !r.cookie)).toEqual([]);
    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts/player.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts/player-phone.png') });
    await page.close();
  });

  it.each(['cmaf', 'aes'])('plays %s (fMP4 with an init segment; AES-128 with a gated key)', async (id) => {
    const page = await browser.context.newPage();
    await page.goto(`${gw.url}/?video=${id}`);
    const state = await waitForPlayback(page, 3);
    expect(state.frames).toBeGreaterThan(25);
    expect(state.events.filter((e) => e.type === 'fatal')).toEqual([]);
    const kinds = mediaRequests.filter((r) => r.url.includes(`/videos/${id}/`)).map((r) => r.url.split('/').pop()!);
    expect(kinds.some((k) => (id === 'cmaf' ? k === 'init.mp4' : k === 'key.key'))).toBe(true);
    await page.close();
  });

  it('two videos at once, each with its own grant (cookies with different Paths)', async () => {
    const [a, b] = [await browser.context.newPage(), await browser.context.newPage()];
    await Promise.all([a.goto(`${gw.url}/?video=ladder`), b.goto(`${gw.url}/?video=cmaf`)]);
    await Promise.all([waitForPlayback(a, 3), waitForPlayback(b, 3)]);
    const cookies = await browser.context.cookies();
    const paths = new Set(cookies.filter((c) => c.name === 'CloudFront-Policy').map((c) => c.path));
    expect(paths).toContain('/videos/ladder/');
    expect(paths).toContain('/videos/cmaf/');
    for (const p of [a, b]) expect((await playbackState(p)).events.filter((e) => e.type === 'fatal')).toEqual([]);
    await a.close();
    await b.close();
  });

  it('a viewer not entitled to a video sees why, and no segment byte is served', async () => {
    const page = await browser.context.newPage();
    // The host application's token hook: this viewer may watch only the CMAF video.
    await page.addInitScript(() => {
      (window as unknown as { hlsGate: object }).hlsGate = {
        getToken: () =>
          fetch('/api/demo/token', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ videos: ['cmaf'] }),
          })
            .then((r) => r.json())
            .then((j: { token: string }) => j.token),
      };
    });
    const before = mediaRequests.length;
    await page.goto(`${gw.url}/?video=ladder`);
    await page.waitForFunction(
      () => (window as unknown as { __hlsGate: { message: unknown } }).__hlsGate.message !== null,
      undefined,
      { timeout: 10_000 },
    );
    const state = await playbackState(page);
    expect(state.message?.title).toBe('This video is not included in your access');
    expect(await page.locator('#notice').isVisible()).toBe(true);
    expect(await page.locator('#notice-title').textContent()).toBe('This video is not included in your access');
    expect(state.frames).toBe(0);
    expect(mediaRequests.slice(before).filter((r) => r.url.includes('/videos/ladder/') && r.status === 200)).toEqual(
      [],
    );
    // The catalog lists only what the viewer may watch.
    expect(await page.locator('#catalog button').allTextContents()).toEqual([expect.stringContaining('CMAF')]);
    await page.close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { launchBrowser, playbackState } from './browser.ts';
import type { BrowserContext } from 'playwright-core';

// A grant of 6 seconds across 24 seconds of playback: it must be renewed again and again without a stall.
// hls.js buffers only 4 s ahead here, so segments keep being fetched under each new grant.
describe('player keeps playing across grant refreshes', () => {
  let gw: RunningGateway;
  let browser: { context: BrowserContext; close(): Promise<void> };
  const media: { status: number; at: number }[] = [];

  beforeAll(async () => {
    gw = await startNodeGateway({ PORT: '0', DEMO: 'true', ACCESS_TTL: '6', GRANT_WINDOW: '0' }, { log: () => {} });
    browser = await launchBrowser();
    browser.context.on('response', (res) => {
      if (new URL(res.url()).pathname.startsWith('/videos/')) media.push({ status: res.status(), at: Date.now() });
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('refreshes a short grant during 20+ s of playback, with no stall and no fatal error', async () => {
    const page = await browser.context.newPage();
    await page.addInitScript(() => {
      (window as unknown as { hlsGate: object }).hlsGate = { hlsConfig: { maxBufferLength: 4, maxMaxBufferLength: 6 } };
    });
    const started = Date.now();
    await page.goto(`${gw.url}/?video=ladder`);
    await page.waitForFunction(() => document.querySelector('video')!.currentTime > 0.5, undefined, {
      timeout: 15_000,
    });
    // Sample once a second: the playhead must keep moving (a stall would freeze it for seconds).
    const samples: number[] = [];
    while (samples.length < 24) {
      await page.waitForTimeout(1000);
      samples.push((await playbackState(page)).currentTime);
    }
    const state = await playbackState(page);
    expect(state.currentTime).toBeGreaterThan(20);
    for (let i = 2; i < samples.length; i++)
      expect(samples[i]! - samples[i - 2]!, `stalled around sample ${i}`).toBeGreaterThan(1);
    expect(state.renewals).toBeGreaterThanOrEqual(3);
    expect(state.events.filter((e) => e.type === 'fatal')).toEqual([]);
    expect(state.message).toBeNull();
    // Segments were fetched well after the first grant had expired, and none was refused.
    expect(media.filter((m) => m.at > started + 8000).length).toBeGreaterThan(3);
    expect(media.filter((m) => m.status !== 200)).toEqual([]);
  }, 60_000);
});

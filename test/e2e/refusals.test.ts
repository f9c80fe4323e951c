import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { launchBrowser, playbackState, waitForPlayback } from './browser.ts';
import type { BrowserContext } from 'playwright-core';

// How the player reacts to refused media requests: an `expired` refusal is renewed and retried once; any other
// refusal is shown and not retried in a loop. The refusals are injected in the browser (page.route) so the
// timing is exact; everything else is the real gateway.
describe('player and refused media requests', () => {
  let gw: RunningGateway;
  let browser: { context: BrowserContext; close(): Promise<void> };
  beforeAll(async () => {
    gw = await startNodeGateway({ PORT: '0', DEMO: 'true' }, { log: () => {} });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  const refuse = (reason: string) => ({
    status: 403,
    headers: { 'Content-Type': 'text/xml', 'X-Hls-Gate-Reason': reason },
    body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access denied</Message></Error>',
  });

  it('an `expired` refusal: renews the grant, retries the request once, keeps playing', async () => {
    const page = await browser.context.newPage();
    let refused = 0;
    let retried = 0;
    await page.route('**/videos/ladder/*/seg_002.ts', async (route) => {
      if (refused === 0) {
        refused++;
        await route.fulfill(refuse('expired'));
      } else {
        retried++;
        await route.continue();
      }
    });
    await page.goto(`${gw.url}/?video=ladder`);
    const state = await waitForPlayback(page, 7, 40_000);
    expect(refused).toBe(1);
    expect(retried).toBeGreaterThanOrEqual(1);
    expect(state.events.map((e) => e.type)).toContain('renew-after-expired');
    expect(state.renewals).toBeGreaterThanOrEqual(1);
    expect(state.events.filter((e) => e.type === 'fatal')).toEqual([]);
    expect(state.message).toBeNull();
    await page.close();
  });

  it('any other refusal is shown, not retried in a loop', async () => {
    const page = await browser.context.newPage();
    let hits = 0;
    await page.route('**/videos/cmaf/seg_000.m4s', async (route) => {
      hits++;
      await route.fulfill(refuse('bad-signature'));
    });
    await page.goto(`${gw.url}/?video=cmaf`);
    await page.waitForFunction(
      () => (window as unknown as { __hlsGate: { message: unknown } }).__hlsGate.message !== null,
      undefined,
      { timeout: 20_000 },
    );
    await page.waitForTimeout(2000); // time for any retry loop to show itself
    const state = await playbackState(page);
    expect(state.message?.title).toBe('The media server refused the request');
    expect(hits).toBeLessThanOrEqual(2);
    await page.close();
  });
});

// "Play on another device" in the player: a device link as a QR code and as text, with its expiry; the link plays
// without cookies (checked by fetching it, and its children, with no cookie jar).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { launchBrowser, waitForPlayback } from './browser.ts';

describe('player: play on another device', () => {
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

  it('shows a QR code and the link with its expiry; the link works with no cookies', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${gw.url}/?video=cmaf`);
    await waitForPlayback(page, 1);
    await page.click('#device-button');
    await page.waitForSelector('#device:not([hidden]) #device-qr svg', { timeout: 10_000 });
    const url = await page.inputValue('#device-url');
    expect(url).toMatch(new RegExp(`^${gw.url}/videos/cmaf/master\\.m3u8\\?Policy=.+&Signature=.+&Key-Pair-Id=`));
    expect((await page.textContent('#device-expires'))?.trim()).not.toBe('');
    const master = await fetch(url); // no cookies at all
    expect(master.status).toBe(200);
    const child = (await master.text()).split('\n').find((l) => l && !l.startsWith('#'))!;
    expect((await fetch(new URL(child, url))).status).toBe(200);
    // Headless Chromium offers no remote playback device: the AirPlay / Cast button stays hidden.
    expect(await page.isVisible('#airplay')).toBe(false);
    await page.close();
  });
});

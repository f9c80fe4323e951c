// The player under session control, in Chromium: a second device beyond MAX_STREAMS_PER_VIEWER is told it is playing
// on too many devices, gets in once the first leaves (pagehide gives the slot back), and a revocation stops
// playback with a plain message and no retry loop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { launchBrowser, playbackState, waitForPlayback } from './browser.ts';

const ADMIN_SECRET = 'admin-secret-that-is-long-enough-0123456789ab';

describe('player with session control', () => {
  let gw: RunningGateway;
  let browser: { context: BrowserContext; close(): Promise<void> };
  const segmentRequests: { url: string; status: number }[] = [];

  beforeAll(async () => {
    gw = await startNodeGateway(
      {
        PORT: '0',
        DEMO: 'true',
        SESSION_SECRET: 'session-secret-that-is-long-enough-0123456789',
        ADMIN_SECRET,
        MAX_STREAMS_PER_VIEWER: '1',
      },
      { log: () => {} },
    );
    browser = await launchBrowser();
    browser.context.on('requestfinished', async (req) => {
      if (req.url().endsWith('.ts'))
        segmentRequests.push({ url: req.url(), status: (await req.response())?.status() ?? 0 });
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('a second device is refused while the first plays, and gets in once the first leaves', async () => {
    const first = await browser.context.newPage();
    await first.goto(`${gw.url}/?video=ladder`);
    await waitForPlayback(first, 1);
    const second = await browser.context.newPage();
    await second.goto(`${gw.url}/?video=ladder`);
    await second.waitForFunction(() => !document.getElementById('notice')!.hidden, undefined, { timeout: 10_000 });
    expect(await second.textContent('#notice-title')).toBe('Playing on too many devices');
    await first.close({ runBeforeUnload: true }); // pagehide: the player gives its slot back
    await new Promise((r) => setTimeout(r, 500));
    await second.click('#notice-retry');
    await waitForPlayback(second, 1);
    await second.close();
  });

  // Its segments are in the browser's cache from the first test: under session control they are revalidated, so
  // the revocation reaches them too.
  it('a revocation stops playback with a plain message, and the refused segment is not retried in a loop', async () => {
    const page = await browser.context.newPage();
    // A short buffer keeps segment requests going (the 30 s demo would otherwise be fully buffered at once).
    await page.addInitScript(() => {
      (window as unknown as { hlsGate: unknown }).hlsGate = {
        hlsConfig: { maxBufferLength: 2, maxMaxBufferLength: 3 },
      };
    });
    await page.goto(`${gw.url}/?video=ladder`);
    await waitForPlayback(page, 1);
    const revoke = await fetch(`${gw.url}/api/admin/revocations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_SECRET}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ sub: 'demo-viewer', ttl: 60 }),
    });
    expect(revoke.status).toBe(201);
    await page.waitForFunction(() => !document.getElementById('notice')!.hidden, undefined, { timeout: 20_000 });
    expect(await page.textContent('#notice-title')).toBe('Access was withdrawn');
    expect(await page.isVisible('#notice-retry')).toBe(false);
    const state = await playbackState(page);
    const refused = segmentRequests.filter((r) => r.status === 403);
    expect(refused.length).toBeGreaterThan(0);
    const perUrl = new Map<string, number>();
    for (const r of refused) perUrl.set(r.url, (perUrl.get(r.url) ?? 0) + 1);
    expect(Math.max(...perUrl.values())).toBeLessThanOrEqual(2);
    expect(state.message?.title).toBe('Access was withdrawn');
    await page.close();
  }, 40_000);
});

// 5: start-up of playback in Chromium on loopback: from opening the player page to the first decoded frame, and
// from pressing play on another video to its first frame (median of several runs). Budget: 1 s. Reported as
// budget / measured (at least 1 means under budget).
import { startNodeGateway } from '../server/node/start.ts';
import { launchBrowser } from '../test/e2e/browser.ts';
import { median, type Ratio } from './lib.ts';

const BUDGET_MS = 1000;

export async function playback(runs: number): Promise<Record<string, Ratio>> {
  const gw = await startNodeGateway({ PORT: '0', DEMO: 'true' }, { log: () => {} });
  const browser = await launchBrowser();
  const open: number[] = [];
  const switched: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const page = await browser.context.newPage();
      // The first presented frame, in ms since navigation start (requestVideoFrameCallback).
      await page.addInitScript(() => {
        document.addEventListener('DOMContentLoaded', () => {
          const v = document.querySelector('video')!;
          v.requestVideoFrameCallback((now) => ((window as unknown as { __firstFrame: number }).__firstFrame = now));
        });
      });
      await page.goto(`${gw.url}/?video=ladder`);
      await page.waitForFunction(
        () => (window as unknown as { __firstFrame?: number }).__firstFrame !== undefined,
        undefined,
        { timeout: 20_000, polling: 50 },
      );
      open.push(await page.evaluate(() => (window as unknown as { __firstFrame: number }).__firstFrame));
      await page.waitForFunction(() => document.querySelectorAll('#catalog button').length > 1);
      // Press play on another video: click it in the catalog, time to its first frame.
      // A string, not a function: tsx's transform would add helpers the page does not have.
      const ms = await page.evaluate<number>(`new Promise((resolve) => {
        const v = document.querySelector('video');
        const start = performance.now();
        document.querySelector('#catalog button[data-id="cmaf"]').click();
        function wait() { v.requestVideoFrameCallback((now) => (v.currentSrc && v.currentTime > 0 ? resolve(now - start) : wait())); }
        setTimeout(wait, 0);
      })`);
      switched.push(ms);
      await page.close();
    }
  } finally {
    await browser.close();
    await gw.close();
  }
  const entry = (values: number[], what: string): Ratio => {
    const m = median(values);
    return {
      ratio: Math.round((BUDGET_MS / m) * 100) / 100,
      target: 1,
      value: Math.round(m),
      baseline: BUDGET_MS,
      unit: `ms ${what} (median of ${values.length}; baseline: the 1 s budget)`,
    };
  };
  return {
    'playback.first_frame_after_opening_page': entry(open, 'from navigation to the first decoded frame'),
    'playback.first_frame_after_switching_video': entry(switched, "from the click to the new video's first frame"),
  };
}

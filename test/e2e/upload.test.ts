// The demo's upload panel in Chromium, end to end: pick a real mp4, watch it upload and package, then it plays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { launchBrowser, waitForPlayback } from './browser.ts';

describe('player: upload a video (demo)', () => {
  let dir: string;
  let gw: RunningGateway;
  let browser: { context: BrowserContext; close(): Promise<void> };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-e2e-upload-'));
    cpSync(join(REPO_ROOT, 'media'), join(dir, 'media'), { recursive: true });
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=duration=4:size=640x360:rate=25',
      '-f',
      'lavfi',
      '-i',
      'sine=duration=4',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-shortest',
      join(dir, 'my-holiday.mp4'),
    ]);
    gw = await startNodeGateway({ PORT: '0', DEMO: 'true', MEDIA_DIR: join(dir, 'media') }, { log: () => {} });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads, shows progress, packages, and plays the new video', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${gw.url}/`);
    await page.waitForSelector('#upload:not([hidden])', { timeout: 15_000 });
    const states: string[] = [];
    const poll = setInterval(
      () =>
        void page
          .textContent('#upload-state')
          .then((t) => t && states.push(t))
          .catch(() => {}),
      100,
    );
    await page.setInputFiles('#upload-file', join(dir, 'my-holiday.mp4'));
    await page.waitForFunction(() => document.getElementById('upload-state')!.textContent === 'Ready.', undefined, {
      timeout: 60_000,
    });
    clearInterval(poll);
    expect(states.some((s) => /^Uploading: |^Packaging: \d+%|^Uploaded/.test(s))).toBe(true);
    const videoId = new URL(page.url()).searchParams.get('video')!;
    expect(videoId).toMatch(/^[a-z0-9]{12}$/);
    await waitForPlayback(page, 1.5);
    expect(await page.textContent('#title')).toBe(videoId); // the catalog lists it too once it is re-read (every 5 s)
    await page.close();
  }, 90_000);
});

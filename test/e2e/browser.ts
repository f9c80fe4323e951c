// Debian's Chromium driven by playwright-core (no browser downloads on these machines). Flags from
// shared/guides/toolchain.md: without the background-networking ones Chromium floods the closed network.
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(
  extraArgs: string[] = [],
  opts: { blockAllCookies?: boolean } = {},
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-chromium-'));
  if (opts.blockAllCookies) {
    // Chromium's own setting "Block all cookies" (content setting 2), in the profile before it starts.
    mkdirSync(join(dir, 'Default'), { recursive: true });
    writeFileSync(
      join(dir, 'Default', 'Preferences'),
      JSON.stringify({ profile: { default_content_setting_values: { cookies: 2 }, block_third_party_cookies: true } }),
    );
  }
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      '--host-resolver-rules=MAP *.example.test 127.0.0.1',
      ...extraArgs,
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PlaybackState {
  currentTime: number;
  frames: number;
  paused: boolean;
  error: string | null;
  events: { t: number; type: string; detail?: string }[];
  message: { title: string } | null;
  renewals: number;
}

export function playbackState(page: Page): Promise<PlaybackState> {
  return page.evaluate(() => {
    const v = document.querySelector('video')!;
    const d = (
      window as unknown as {
        __hlsGate: {
          events: PlaybackState['events'];
          message: { title: string } | null;
          grant: { renewals: number } | null;
        };
      }
    ).__hlsGate;
    return {
      currentTime: v.currentTime,
      frames: v.getVideoPlaybackQuality().totalVideoFrames,
      paused: v.paused,
      error: v.error ? String(v.error.code) : null,
      events: d.events,
      message: d.message,
      renewals: d.grant?.renewals ?? -1,
    };
  });
}

/** Waits until the video has played past `seconds` (polling; playback takes real time). */
export async function waitForPlayback(page: Page, seconds: number, timeoutMs = 30_000): Promise<PlaybackState> {
  await page.waitForFunction((s) => document.querySelector('video')!.currentTime > s, seconds, {
    timeout: timeoutMs,
    polling: 250,
  });
  return playbackState(page);
}

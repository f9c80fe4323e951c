import type { Page } from 'playwright-core';

// What a viewer of a low-latency stream sees, sampled in the page every 100 ms: how far the frame on screen is
// behind the wall clock (its EXT-X-PROGRAM-DATE-TIME, hls.js `playingDate`), and every stretch in which the video
// did not move. Shared by the playback test and the low-latency benchmark.

export interface LlWatch {
  /** Seconds behind the wall clock, one per sample while playing. */
  behind: number[];
  /** The longest stretch without the video's time moving, seconds (after it first played). */
  longestStall: number;
  samples: number;
  lowLatency: boolean;
}

/** Starts sampling in the page (call once it plays). */
export async function startWatching(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as {
      __hlsGate: { hls: { playingDate: Date | null } | null };
      __llWatch: { behind: number[]; lastTime: number; lastMove: number; longestStall: number; samples: number };
    };
    const v = document.querySelector('video')!;
    const watch = {
      behind: [] as number[],
      lastTime: v.currentTime,
      lastMove: Date.now(),
      longestStall: 0,
      samples: 0,
    };
    w.__llWatch = watch;
    setInterval(() => {
      const now = Date.now();
      watch.samples += 1;
      if (v.currentTime !== watch.lastTime) {
        watch.lastTime = v.currentTime;
        watch.lastMove = now;
      }
      watch.longestStall = Math.max(watch.longestStall, (now - watch.lastMove) / 1000);
      const date = w.__hlsGate.hls?.playingDate;
      if (date) watch.behind.push((now - date.getTime()) / 1000);
    }, 100);
  });
}

export function readWatch(page: Page): Promise<LlWatch> {
  return page.evaluate(() => {
    const w = window as unknown as {
      __llWatch: { behind: number[]; longestStall: number; samples: number };
      __hlsGate: { live: { lowLatency: boolean } };
    };
    return {
      behind: w.__llWatch.behind,
      longestStall: w.__llWatch.longestStall,
      samples: w.__llWatch.samples,
      lowLatency: w.__hlsGate.live.lowLatency,
    };
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
}

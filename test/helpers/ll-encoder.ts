import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LlRendition } from '../../packager/ll/writer.ts';
import { PART_TARGET, fragmentsOf, liveFragmentedMp4 } from './fmp4.ts';

/**
 * A low-latency rendition written by hls-gate's own writer (packager/ll/writer.ts) from real encoder output, one
 * part when the test says so: what `hls-gate live --low-latency` does, with the clock in the test's hands.
 */
export class SteppedEncoder {
  readonly rendition: LlRendition;
  private readonly fragments: Buffer[];
  private next = 0;
  private waiting: ((writtenAt: number) => void) | undefined;

  constructor(folder: string, name: string, seconds: number, window = 12) {
    const dir = join(folder, name);
    mkdirSync(dir, { recursive: true });
    const { init, fragments } = fragmentsOf(liveFragmentedMp4(seconds));
    this.fragments = fragments;
    this.rendition = new LlRendition(
      dir,
      name,
      { segmentSeconds: 2, partTarget: PART_TARGET, window, event: false },
      () => [],
      ({ writtenAt }) => this.waiting?.(writtenAt),
    );
    this.rendition.startRun();
    this.rendition.push(init);
  }

  /** Writes the next `n` parts; resolves when the last is in place and listed, with when that was (ms). */
  async write(n = 1): Promise<number> {
    let at = 0;
    for (let i = 0; i < n; i++) {
      const fragment = this.fragments[this.next++];
      if (!fragment) throw new Error('the fixture has no more parts');
      const written = new Promise<number>((resolve) => (this.waiting = resolve));
      this.rendition.push(fragment);
      at = await written;
    }
    return at;
  }

  get partsLeft(): number {
    return this.fragments.length - this.next;
  }
}

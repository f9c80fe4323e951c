import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rendition } from '../ladder.ts';
import { encodeOutputs } from '../ladder.ts';
import { LlRendition, type LlSettings, type PartWritten } from './writer.ts';
import type { RenditionReport } from './playlist.ts';

// Low-latency live output: one ffmpeg run encodes every rendition to fragmented MP4 on its own pipe (fd 3, 4, ...),
// and one LlRendition per pipe cuts and writes it (writer.ts). The renditions report to each other for
// EXT-X-RENDITION-REPORT, so a player switching renditions knows where the other one stands.

/** ffmpeg's fragmented MP4 for parts: a fragment at every key frame and every 90% of a part target. */
export function fragmentArgs(partTarget: number, pipe: number): string[] {
  return [
    ...['-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof'],
    ...['-frag_duration', String(Math.floor(partTarget * 0.9 * 1_000_000)), '-flush_packets', '1'],
    `pipe:${pipe}`,
  ];
}

export class LlStream {
  readonly renditions: LlRendition[];

  constructor(folder: string, names: string[], settings: LlSettings, onPart?: PartWritten) {
    this.renditions = names.map(
      (name) => new LlRendition(join(folder, name), name, settings, () => this.reportsFor(name), onPart),
    );
  }

  async prepare(): Promise<void> {
    for (const r of this.renditions) await mkdir(r.dir, { recursive: true });
  }

  private reportsFor(name: string): RenditionReport[] {
    return this.renditions
      .filter((r) => r.name !== name)
      .map((r) => r.report(`../${r.name}/index.m3u8`))
      .filter((r): r is RenditionReport => r !== undefined);
  }

  /** The encoding arguments of one run, and the readers of its pipes (a new run: new initialization segments). */
  run(
    renditions: Rendition[],
    audio: boolean,
    opts: { segmentSeconds: number; preset: string; capAtSource: boolean; partTarget: number },
  ): { args: string[]; outputs: ((chunk: Buffer) => void)[] } {
    for (const r of this.renditions) r.startRun();
    const args = encodeOutputs(renditions, audio, { ...opts, tune: 'zerolatency' }, (i) =>
      fragmentArgs(opts.partTarget, 3 + i),
    );
    return { args, outputs: this.renditions.map((r) => (chunk: Buffer) => r.push(chunk)) };
  }

  /** Every rendition finished, even when one of them failed (its error is thrown once all are done). */
  async finish(): Promise<number> {
    const results = await Promise.allSettled(this.renditions.map((r) => r.finish()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason as Error;
    return Math.max(0, ...this.renditions.map((r) => r.written));
  }
}

import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PartCutter, type Part } from './parts.ts';
import { concat } from './mp4.ts';
import { renderLlPlaylist, type RenditionReport, type SegmentEntry } from './playlist.ts';

// Writes one rendition of a low-latency stream into its folder as ffmpeg's fragmented MP4 arrives: the
// initialization segment, every part as its own file the moment its fragment is complete, every segment (its parts
// joined) when the next key frame starts the next one, and the playlist after each, always by rename so a reader
// never sees half a file. Writes are serialised; the playlist names a file only once it is in place.

export interface LlSettings {
  segmentSeconds: number;
  /** PART-TARGET, seconds: every part is at most this long (ffmpeg cuts fragments at 90% of it). */
  partTarget: number;
  /** Complete segments kept in the playlist. */
  window: number;
  /** Keep every segment (an event playlist). */
  event: boolean;
}

/** Called for each part once its file is in place and listed: when it was written and the date of its end. */
export type PartWritten = (info: {
  rendition: string;
  writtenAt: number;
  endsAt: number;
  independent: boolean;
}) => void;

const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));

/** A segment is complete when a key frame arrives at least this close to its nominal length (frame jitter). */
const SEGMENT_SLACK_SECONDS = 0.05;

export class LlRendition {
  private readonly segments: SegmentEntry[] = [];
  private open: { entry: SegmentEntry; bytes: Uint8Array[]; duration: number } | undefined;
  private cutter = new PartCutter();
  private run = -1;
  private map = '';
  private anchor: number | undefined;
  private firstStart: number | undefined;
  private newRun = false;
  private nextMsn = 0;
  private discontinuitySequence = 0;
  private ended = false;
  private chain: Promise<void> = Promise.resolve();
  /** Files that left the playlist, removed once a player that read an older playlist can no longer ask for them. */
  private doomed: { name: string; due: number }[] = [];
  private failure: Error | undefined;

  constructor(
    readonly dir: string,
    readonly name: string,
    private readonly settings: LlSettings,
    private readonly peers: () => RenditionReport[],
    private readonly onPart?: PartWritten,
  ) {}

  /** A new ffmpeg run (an encoder connected again): a new initialization segment, a discontinuity. */
  startRun(): void {
    this.run += 1;
    this.cutter = new PartCutter();
    this.anchor = undefined;
    this.firstStart = undefined;
    this.newRun = true;
  }

  /** Bytes of this rendition's fragmented MP4, in order. */
  push(chunk: Uint8Array): void {
    if (this.failure) return;
    let cut;
    try {
      cut = this.cutter.push(chunk);
    } catch (err) {
      this.failure = asError(err);
      return;
    }
    const { init, parts } = cut;
    const arrived = Date.now();
    if (init) this.enqueue(() => this.writeInit(init, arrived));
    for (const part of parts) this.enqueue(() => this.addPart(part));
  }

  /** Where the rendition stands, for the others' EXT-X-RENDITION-REPORT. */
  report(uri: string): RenditionReport | undefined {
    if (this.open && this.open.entry.parts.length > 0)
      return { uri, lastMsn: this.open.entry.msn, lastPart: this.open.entry.parts.length - 1 };
    const last = this.segments.at(-1);
    return last ? { uri, lastMsn: last.msn, lastPart: last.parts.length - 1 } : undefined;
  }

  /** Complete segments written so far. */
  get written(): number {
    return this.nextMsn - (this.open ? 1 : 0);
  }

  /** Waits for every write; the last segment is completed, the playlist ends (EXT-X-ENDLIST), parts are removed. */
  async finish(): Promise<void> {
    this.enqueue(async () => {
      await this.closeOpen();
      this.ended = true;
      if (this.segments.length > 0) await this.writePlaylist();
      // The recording keeps what its playlist names: parts, and segments that left the window, go now.
      for (const s of this.segments) for (const p of s.parts) await rm(join(this.dir, p.name), { force: true });
      for (const d of this.doomed.splice(0)) await rm(join(this.dir, d.name), { force: true });
    });
    await this.chain;
    if (this.failure) throw this.failure;
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((err: unknown) => {
      this.failure ??= asError(err);
    });
  }

  private async writeInit(bytes: Uint8Array, arrived: number): Promise<void> {
    this.map = `init_${this.run}.mp4`;
    this.anchor = arrived;
    await this.put(this.map, bytes);
  }

  private async addPart(part: Part): Promise<void> {
    this.firstStart ??= part.start;
    const startsSegment =
      !this.open ||
      this.newRun ||
      (part.independent && this.open.duration >= this.settings.segmentSeconds - SEGMENT_SLACK_SECONDS);
    if (startsSegment) {
      await this.closeOpen();
      this.openSegment(part);
    }
    const open = this.open!;
    const name = `seg_${String(open.entry.msn).padStart(5, '0')}.${open.entry.parts.length}.m4s`;
    await this.put(name, part.bytes);
    open.entry.parts.push({ name, duration: part.duration, independent: part.independent });
    open.bytes.push(part.bytes);
    open.duration += part.duration;
    await this.writePlaylist();
    const endsAt = this.dateOf(part.start + part.duration);
    this.onPart?.({ rendition: this.name, writtenAt: Date.now(), endsAt, independent: part.independent });
  }

  private dateOf(start: number): number {
    return (this.anchor ?? Date.now()) + (start - (this.firstStart ?? start)) * 1000;
  }

  private openSegment(first: Part): void {
    const msn = this.nextMsn++;
    this.open = {
      entry: {
        msn,
        name: `seg_${String(msn).padStart(5, '0')}.m4s`,
        duration: 0,
        programDateTime: this.dateOf(first.start),
        parts: [],
        map: this.map,
        discontinuity: this.newRun && this.run > 0,
      },
      bytes: [],
      duration: 0,
    };
    this.newRun = false;
  }

  private async closeOpen(): Promise<void> {
    const open = this.open;
    if (!open || open.entry.parts.length === 0) return;
    this.open = undefined;
    await this.put(open.entry.name, concat(open.bytes));
    this.segments.push({ ...open.entry, duration: open.duration });
    await this.trim();
  }

  /**
   * Segments that left the window go (an event keeps its segments; their parts go). Their files stay for as long as
   * the segment plus the playlist that last named them last (RFC 8216bis section 6.2.2), then are removed.
   */
  private async trim(): Promise<void> {
    const now = Date.now();
    const due = now + (this.settings.window + 1) * this.settings.segmentSeconds * 1000;
    for (const [i, s] of this.segments.entries()) {
      if (i >= this.segments.length - this.settings.window) break;
      for (const p of s.parts.splice(0)) this.doomed.push({ name: p.name, due });
    }
    if (!this.settings.event)
      while (this.segments.length > this.settings.window) {
        const gone = this.segments.shift()!;
        if (gone.discontinuity) this.discontinuitySequence += 1;
        this.doomed.push({ name: gone.name, due });
      }
    while (this.doomed.length > 0 && this.doomed[0]!.due <= now)
      await rm(join(this.dir, this.doomed.shift()!.name), { force: true });
  }

  private nextPartName(): string | undefined {
    const open = this.open;
    if (!open) return undefined;
    const nextStartsSegment = this.newRun || open.duration >= this.settings.segmentSeconds - SEGMENT_SLACK_SECONDS;
    const msn = nextStartsSegment ? open.entry.msn + 1 : open.entry.msn;
    return `seg_${String(msn).padStart(5, '0')}.${nextStartsSegment ? 0 : open.entry.parts.length}.m4s`;
  }

  private async writePlaylist(): Promise<void> {
    const text = renderLlPlaylist({
      targetDuration: Math.ceil(this.settings.segmentSeconds),
      partTarget: this.settings.partTarget,
      segments: this.segments,
      ...(this.open ? { open: this.open.entry } : {}),
      ...(this.ended ? {} : { hint: this.nextPartName() }),
      discontinuitySequence: this.discontinuitySequence,
      event: this.settings.event,
      ended: this.ended,
      reports: this.peers(),
    });
    await this.put('index.m3u8', new TextEncoder().encode(text));
  }

  private async put(name: string, bytes: Uint8Array): Promise<void> {
    const tmp = join(this.dir, `.${name}.tmp`);
    await writeFile(tmp, bytes);
    await rename(tmp, join(this.dir, name));
  }
}

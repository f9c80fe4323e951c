import { BoxSplitter, Mp4Error, concat, parseMoof, parseMoov, type Track } from './mp4.ts';

// ffmpeg's fragmented MP4 (`-movflags frag_keyframe+empty_moov+default_base_moof -frag_duration`), cut into what
// low-latency HLS publishes: the initialization segment (`ftyp` + `moov`, RFC 8216bis section 3.1.2 / CMAF), then
// one partial segment per fragment (`moof` + `mdat`, section 4.4.4.9: a part is one or more whole fragments). A
// part's timing comes from the fragment's own boxes, never from the clock: the main track's (video, else audio)
// decode time and summed sample durations; it is independent when that track's first sample is a sync sample.

/** An initialization segment is a few KB; a stream that has not given one by then is not fragmented MP4. */
const MAX_HEAD_BYTES = 1024 * 1024;

export interface Part {
  bytes: Uint8Array;
  /** Decode time of its first sample, seconds (main track). */
  start: number;
  /** Seconds (main track). */
  duration: number;
  /** Starts with a key frame: a player may begin decoding here (EXT-X-PART INDEPENDENT=YES). */
  independent: boolean;
}

export interface Cut {
  /** The initialization segment, when this push completed it. */
  init?: Uint8Array;
  parts: Part[];
}

export class PartCutter {
  private readonly boxes = new BoxSplitter();
  private readonly head: Uint8Array[] = [];
  private tracks: Map<number, Track> | undefined;
  private main: Track | undefined;
  private moof: Uint8Array | undefined;
  private headBytes = 0;

  push(chunk: Uint8Array): Cut {
    const cut: Cut = { parts: [] };
    for (const box of this.boxes.push(chunk)) {
      if (!this.tracks) {
        this.headBytes += box.bytes.byteLength;
        if (this.headBytes > MAX_HEAD_BYTES) throw new Mp4Error(`no moov in the first ${MAX_HEAD_BYTES} bytes`);
        this.head.push(box.bytes);
        if (box.type === 'moov') this.takeMoov(box.bytes, cut);
        continue;
      }
      if (box.type === 'moof') this.moof = box.bytes;
      else if (box.type === 'mdat') {
        if (!this.moof) throw new Mp4Error('an mdat without its moof');
        const part = this.part(this.moof, box.bytes);
        // A fragment without the main track (the last audio at the end of a stream) is not a part of its own.
        if (part) cut.parts.push(part);
        this.moof = undefined;
      }
      // Anything else (mfra at the end, free) is not media.
    }
    return cut;
  }

  private takeMoov(moov: Uint8Array, cut: Cut): void {
    const tracks = parseMoov(moov);
    this.tracks = new Map(tracks.map((t) => [t.id, t]));
    this.main = tracks.find((t) => t.kind === 'video') ?? tracks.find((t) => t.kind === 'audio');
    if (!this.main) throw new Mp4Error('no audio or video track');
    cut.init = concat(this.head);
  }

  private part(moof: Uint8Array, mdat: Uint8Array): Part | null {
    const main = this.main!;
    const run = parseMoof(moof, this.tracks!).find((r) => r.trackId === main.id);
    if (!run || run.samples === 0) return null;
    return {
      bytes: concat([moof, mdat]),
      start: run.decodeTime / main.timescale,
      duration: run.duration / main.timescale,
      independent: main.kind === 'video' ? run.startsWithKey : true,
    };
  }
}

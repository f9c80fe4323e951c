// Just enough of ISO BMFF (ISO/IEC 14496-12) to cut ffmpeg's fragmented MP4 into low-latency HLS parts: top-level
// boxes from a byte stream, the tracks of the `moov` (id, timescale, kind, `trex` defaults) and, for each `moof`,
// every track's decode time (`tfdt`), duration and whether its first sample is a sync sample (`trun` / `tfhd`
// sample flags, section 8.8.3.1: `sample_is_non_sync_sample`). Sizes are checked before anything is read: a box
// that claims more than MAX_BOX_BYTES, or runs past its parent, is an error, never an allocation.

/** Larger than any fragment of a live rendition (a 0.5 s part at 50 Mbit/s is ~3 MB). */
export const MAX_BOX_BYTES = 64 * 1024 * 1024;

export class Mp4Error extends Error {}

export interface Box {
  type: string;
  /** The whole box, header included. */
  bytes: Uint8Array;
}

export interface Track {
  id: number;
  timescale: number;
  kind: 'video' | 'audio' | 'other';
  defaultDuration: number;
  defaultFlags: number;
}

export interface TrackRun {
  trackId: number;
  /** tfdt's baseMediaDecodeTime, in the track's timescale. */
  decodeTime: number;
  /** Sum of the sample durations, in the track's timescale. */
  duration: number;
  samples: number;
  /** The first sample is a sync sample (a key frame). */
  startsWithKey: boolean;
}

const ASCII = new TextDecoder('latin1');

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Splits a byte stream into top-level boxes as they complete; bytes of an unfinished box wait for the next push. */
export class BoxSplitter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  push(chunk: Uint8Array): Box[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    const out: Box[] = [];
    for (;;) {
      if (this.pendingBytes < 8) break;
      const head = this.peek(Math.min(16, this.pendingBytes));
      const size = boxSize(head);
      if (size === null) break;
      if (this.pendingBytes < size) break;
      const all = this.take(size);
      out.push({ type: ASCII.decode(all.subarray(4, 8)), bytes: all });
    }
    return out;
  }

  /** Bytes received that are not yet a whole box. */
  get buffered(): number {
    return this.pendingBytes;
  }

  private peek(n: number): Uint8Array {
    const first = this.pending[0]!;
    if (first.byteLength >= n) return first.subarray(0, n);
    const joined = concat(this.pending);
    this.pending = [joined];
    return joined.subarray(0, n);
  }

  private take(n: number): Uint8Array {
    const joined = this.pending.length === 1 ? this.pending[0]! : concat(this.pending);
    const box = joined.slice(0, n);
    const rest = joined.subarray(n);
    this.pending = rest.byteLength > 0 ? [rest] : [];
    this.pendingBytes = rest.byteLength;
    return box;
  }
}

/** The size of the box starting `head` (8 or 16 bytes known), or null when more bytes are needed to know it. */
function boxSize(head: Uint8Array): number | null {
  if (head.byteLength < 8) return null;
  const v = view(head);
  let size = v.getUint32(0);
  if (size === 1) {
    if (head.byteLength < 16) return null;
    size = Number(v.getBigUint64(8));
  }
  if (size < 8) throw new Mp4Error(`a box of ${size} bytes (0 "to the end" is not allowed in a stream)`);
  if (size > MAX_BOX_BYTES) throw new Mp4Error(`a box of ${size} bytes is larger than ${MAX_BOX_BYTES}`);
  return size;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The child boxes of a box's payload (`from` skips the parent's header and any full-box fields). */
export function children(bytes: Uint8Array, from = 8): Box[] {
  const out: Box[] = [];
  let at = from;
  while (at + 8 <= bytes.byteLength) {
    const size = boxSize(bytes.subarray(at, Math.min(bytes.byteLength, at + 16)));
    if (size === null || at + size > bytes.byteLength) throw new Mp4Error('a box runs past its parent');
    out.push({ type: ASCII.decode(bytes.subarray(at + 4, at + 8)), bytes: bytes.subarray(at, at + size) });
    at += size;
  }
  return out;
}

function child(bytes: Uint8Array, type: string, from = 8): Uint8Array | undefined {
  return children(bytes, from).find((b) => b.type === type)?.bytes;
}

function need(b: Uint8Array | undefined, what: string): Uint8Array {
  if (!b) throw new Mp4Error(`no ${what} box`);
  return b;
}

/** The tracks of an initialization segment's `moov`. */
export function parseMoov(moov: Uint8Array): Track[] {
  const trex = new Map<number, { duration: number; flags: number }>();
  const mvex = child(moov, 'mvex');
  for (const b of mvex ? children(mvex) : []) {
    if (b.type !== 'trex' || b.bytes.byteLength < 32) continue;
    const v = view(b.bytes);
    trex.set(v.getUint32(12), { duration: v.getUint32(20), flags: v.getUint32(28) });
  }
  return children(moov)
    .filter((b) => b.type === 'trak')
    .map(({ bytes }) => {
      const tkhd = need(child(bytes, 'tkhd'), 'tkhd');
      const id = view(tkhd).getUint32(tkhd[8] === 1 ? 28 : 20);
      const mdia = need(child(bytes, 'mdia'), 'mdia');
      const mdhd = need(child(mdia, 'mdhd'), 'mdhd');
      const timescale = view(mdhd).getUint32(mdhd[8] === 1 ? 28 : 20);
      const hdlr = need(child(mdia, 'hdlr'), 'hdlr');
      const handler = ASCII.decode(hdlr.subarray(16, 20));
      const kind = handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other';
      const d = trex.get(id) ?? { duration: 0, flags: 0 };
      if (!(timescale > 0)) throw new Mp4Error(`track ${id} has no timescale`);
      return { id, timescale, kind, defaultDuration: d.duration, defaultFlags: d.flags } satisfies Track;
    });
}

/** A sample is a sync sample when `sample_is_non_sync_sample` (bit 16 of the sample flags) is clear. */
const isSync = (flags: number) => (flags & 0x10000) === 0;

/** Every track run of a `moof`: decode time, duration, sample count, whether it starts with a key frame. */
export function parseMoof(moof: Uint8Array, tracks: ReadonlyMap<number, Track>): TrackRun[] {
  return children(moof)
    .filter((b) => b.type === 'traf')
    .map(({ bytes }) => trafRun(bytes, tracks));
}

function trafRun(traf: Uint8Array, tracks: ReadonlyMap<number, Track>): TrackRun {
  const tfhd = need(child(traf, 'tfhd'), 'tfhd');
  const hv = view(tfhd);
  const tfFlags = hv.getUint32(8) & 0xffffff;
  const trackId = hv.getUint32(12);
  const track = tracks.get(trackId);
  if (!track) throw new Mp4Error(`a fragment of unknown track ${trackId}`);
  let at = 16;
  if (tfFlags & 0x1) at += 8; // base_data_offset
  if (tfFlags & 0x2) at += 4; // sample_description_index
  const defaultDuration = tfFlags & 0x8 ? hv.getUint32(at) : track.defaultDuration;
  if (tfFlags & 0x8) at += 4;
  if (tfFlags & 0x10) at += 4; // default_sample_size
  const defaultFlags = tfFlags & 0x20 ? hv.getUint32(at) : track.defaultFlags;
  const tfdt = need(child(traf, 'tfdt'), 'tfdt');
  const tv = view(tfdt);
  const decodeTime = tfdt[8] === 1 ? Number(tv.getBigUint64(12)) : tv.getUint32(12);
  let duration = 0;
  let samples = 0;
  let startsWithKey: boolean | undefined;
  for (const trun of children(traf).filter((b) => b.type === 'trun')) {
    const r = readTrun(trun.bytes, defaultDuration, defaultFlags);
    duration += r.duration;
    if (samples === 0 && r.samples > 0) startsWithKey = r.firstSync;
    samples += r.samples;
  }
  return { trackId, decodeTime, duration, samples, startsWithKey: startsWithKey ?? false };
}

function readTrun(trun: Uint8Array, defaultDuration: number, defaultFlags: number) {
  const v = view(trun);
  const flags = v.getUint32(8) & 0xffffff;
  const count = v.getUint32(12);
  // Every sample has at least a byte in the fragment's mdat, itself at most MAX_BOX_BYTES.
  if (count > MAX_BOX_BYTES) throw new Mp4Error(`a trun of ${count} samples`);
  let at = 16;
  if (flags & 0x1) at += 4; // data_offset
  const firstFlags = flags & 0x4 ? v.getUint32(at) : undefined;
  if (flags & 0x4) at += 4;
  const perSample =
    (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0) + (flags & 0x800 ? 4 : 0);
  if (at + perSample * count > trun.byteLength) throw new Mp4Error('a trun lists more samples than it holds');
  let duration = 0;
  let first = firstFlags ?? defaultFlags;
  for (let i = 0; i < count; i++) {
    let p = at + i * perSample;
    duration += flags & 0x100 ? v.getUint32(p) : defaultDuration;
    if (flags & 0x100) p += 4;
    if (flags & 0x200) p += 4;
    if (i === 0 && firstFlags === undefined && flags & 0x400) first = v.getUint32(p);
  }
  return { duration, samples: count, firstSync: isSync(first) };
}

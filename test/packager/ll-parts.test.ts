// The part cutter on real ffmpeg output, encoded as `hls-gate live --low-latency` encodes: every part is exactly one
// fragment (moof + mdat) as a plain scan of the file finds them, parts follow each other without gap or overlap and
// add up to the stream's duration, a part is independent exactly when ffprobe says its first frame is a key frame,
// and no part is longer than PART-TARGET.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartCutter, type Part } from '../../packager/ll/parts.ts';
import { Mp4Error } from '../../packager/ll/mp4.ts';
import { PART_TARGET, liveFragmentedMp4, topLevelBoxes } from '../helpers/fmp4.ts';

const SECONDS = 6;
const file = liveFragmentedMp4(SECONDS);

/** Feeds the bytes in uneven pieces, as a pipe delivers them. */
function cut(bytes: Uint8Array): { init: Uint8Array | undefined; parts: Part[] } {
  const cutter = new PartCutter();
  let init: Uint8Array | undefined;
  const parts: Part[] = [];
  let at = 0;
  for (let i = 0; at < bytes.byteLength; i++) {
    const n = [1, 7, 65_536, 3, 1000, 200_000][i % 6]!;
    const got = cutter.push(bytes.subarray(at, at + n));
    at += n;
    init ??= got.init;
    parts.push(...got.parts);
  }
  return { init, parts };
}

/** ffprobe's video key frames: their presentation times, seconds. */
function keyFrameTimes(bytes: Uint8Array): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-parts-'));
  try {
    writeFileSync(join(dir, 'f.mp4'), bytes);
    const out = execFileSync('ffprobe', [
      ...['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags'],
      ...['-of', 'csv=p=0', join(dir, 'f.mp4')],
    ]).toString();
    return out
      .trim()
      .split('\n')
      .map((l) => l.split(','))
      .filter(([, flags]) => flags?.startsWith('K'))
      .map(([t]) => Number(t));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the part cutter, on ffmpeg fragmented MP4', () => {
  const { init, parts } = cut(file);
  const boxes = topLevelBoxes(file);

  it('gives the init segment (ftyp + moov) and one part per moof + mdat, byte for byte', () => {
    const moov = boxes.find(([t]) => t === 'moov')!;
    expect(init && Buffer.from(init).equals(file.subarray(0, moov[1] + moov[2]))).toBe(true);
    const fragments = boxes.filter(([t]) => t === 'moof');
    expect(parts.length).toBe(fragments.length);
    expect(parts.length).toBeGreaterThanOrEqual(SECONDS * 3 - 1);
    parts.forEach((p, i) => {
      const [, offset] = fragments[i]!;
      const mdat = boxes[boxes.findIndex(([, o]) => o === offset) + 1]!;
      expect(mdat[0]).toBe('mdat');
      // A part ends exactly where its fragment's mdat ends: on a fragment boundary.
      expect(Buffer.from(p.bytes).equals(file.subarray(offset, mdat[1] + mdat[2]))).toBe(true);
    });
  });

  it('has parts that follow each other and add up to the stream', () => {
    for (let i = 1; i < parts.length; i++)
      expect(parts[i]!.start).toBeCloseTo(parts[i - 1]!.start + parts[i - 1]!.duration, 6);
    const total = parts.reduce((n, p) => n + p.duration, 0);
    expect(total).toBeGreaterThan(SECONDS - 0.1);
    expect(total).toBeLessThanOrEqual(SECONDS + 0.05);
    for (const p of parts) expect(p.duration).toBeLessThanOrEqual(Math.ceil(PART_TARGET * 1e5) / 1e5);
  });

  it('marks a part independent exactly when its first frame is a key frame', () => {
    const keys = keyFrameTimes(file);
    expect(keys.length).toBe(SECONDS / 2); // one per 2 s segment
    const independentStarts = parts.filter((p) => p.independent).map((p) => p.start);
    expect(independentStarts.length).toBe(keys.length);
    // The cutter's times are decode times from tfdt; ffprobe's are presentation times, offset by the same
    // composition shift for every frame (no B-frames: zerolatency).
    const shift = keys[0]! - independentStarts[0]!;
    independentStarts.forEach((t, i) => expect(t + shift).toBeCloseTo(keys[i]!, 3));
    expect(parts[0]!.independent).toBe(true);
  });

  it('refuses a box that claims more than it may, without allocating it', () => {
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setUint32(0, 0x7fffffff);
    huge.set([0x6d, 0x6f, 0x6f, 0x66], 4); // "moof"
    expect(() => new PartCutter().push(huge)).toThrow(Mp4Error);
    const tiny = new Uint8Array([0, 0, 0, 4, 0x6d, 0x64, 0x61, 0x74]);
    expect(() => new PartCutter().push(tiny)).toThrow(Mp4Error);
  });
});

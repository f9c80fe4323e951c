import { execFileSync } from 'node:child_process';
import { encodeOutputs } from '../../packager/ladder.ts';
import { fragmentArgs } from '../../packager/ll/stream.ts';

/** The part target the fixtures are cut for. */
export const PART_TARGET = 1 / 3;

/**
 * `seconds` of a generated 360p picture with a tone, encoded exactly as `hls-gate live --low-latency` encodes a
 * rendition (ladder.ts, ll/stream.ts), as fast as ffmpeg can: the fragmented MP4 it writes to its pipe.
 */
export function liveFragmentedMp4(seconds: number, segmentSeconds = 2): Buffer {
  const args = encodeOutputs(
    [{ name: '360p', height: 360, videoKbps: 600 }],
    true,
    { segmentSeconds, preset: 'ultrafast', tune: 'zerolatency' },
    () => fragmentArgs(PART_TARGET, 1),
  );
  return execFileSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30,format=yuv420p`],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-t', String(seconds), '-map_metadata', '-1'],
      ...args.map((a) => (a === '0:a:0' ? '1:a:0' : a)),
    ],
    { maxBuffer: 256 * 1024 * 1024 },
  );
}

/** The top-level boxes of an MP4 file, by a plain scan of their headers: [type, offset, size]. */
export function topLevelBoxes(bytes: Uint8Array): [string, number, number][] {
  const out: [string, number, number][] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 8 <= bytes.byteLength;) {
    const size = view.getUint32(at);
    out.push([Buffer.from(bytes.subarray(at + 4, at + 8)).toString('latin1'), at, size]);
    at += size;
  }
  return out;
}

/** The init segment and each fragment (moof + mdat) of a fragmented MP4, as an encoder's pipe would deliver them. */
export function fragmentsOf(bytes: Buffer): { init: Buffer; fragments: Buffer[] } {
  const boxes = topLevelBoxes(bytes);
  const moov = boxes.find(([t]) => t === 'moov')!;
  const fragments: Buffer[] = [];
  boxes.forEach(([type, offset], i) => {
    if (type !== 'moof') return;
    const [, mdatAt, mdatSize] = boxes[i + 1]!;
    fragments.push(bytes.subarray(offset, mdatAt + mdatSize));
  });
  return { init: bytes.subarray(0, moov[1] + moov[2]), fragments };
}

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probe, type Tools } from './ffmpeg.ts';

// The master playlist, from what was written (RFC 8216 section 4.3.4.2): BANDWIDTH is the peak segment bit rate,
// AVERAGE-BANDWIDTH the average over the whole rendition, both measured from the segment files (init segments are
// not media segments); RESOLUTION and FRAME-RATE by ffprobe on the output; CODECS from the bytes: the H.264
// profile, constraint flags and level of the SPS (RFC 6381 `avc1.PPCCLL`) and the AAC object type.

export interface MeasuredRendition {
  name: string;
  bandwidth: number;
  averageBandwidth: number;
  resolution?: string;
  frameRate?: number;
  codecs: string;
  durationSeconds: number;
  segments: number;
}

interface Segment {
  file: string;
  duration: number;
}

async function readPlaylist(path: string): Promise<{ init?: string; segments: Segment[] }> {
  const out: { init?: string; segments: Segment[] } = { segments: [] };
  let duration = 0;
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const map = /^#EXT-X-MAP:URI="([^"]+)"/.exec(line);
    if (map) out.init = map[1]!;
    const inf = /^#EXTINF:([\d.]+)/.exec(line);
    if (inf) duration = Number(inf[1]);
    if (line && !line.startsWith('#')) out.segments.push({ file: line.trim(), duration });
  }
  return out;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** `avc1.PPCCLL` from an H.264 SPS in Annex B bytes (TS) or from an fMP4 `avcC` box. */
export function avcCodec(bytes: Uint8Array): string | null {
  for (let i = 0; i + 8 < bytes.length; i++) {
    // avcC: 'a' 'v' 'c' 'C', then configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
    if (
      bytes[i] === 0x61 &&
      bytes[i + 1] === 0x76 &&
      bytes[i + 2] === 0x63 &&
      bytes[i + 3] === 0x43 &&
      bytes[i + 4] === 1
    ) {
      return `avc1.${hex2(bytes[i + 5]!)}${hex2(bytes[i + 6]!)}${hex2(bytes[i + 7]!)}`;
    }
    // Annex B start code 00 00 01, NAL type 7 (SPS): profile_idc, constraint flags, level_idc follow.
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1 && (bytes[i + 3]! & 0x1f) === 7) {
      return `avc1.${hex2(bytes[i + 4]!)}${hex2(bytes[i + 5]!)}${hex2(bytes[i + 6]!)}`;
    }
  }
  return null;
}

const AAC_OBJECT: Record<string, number> = { LC: 2, 'HE-AAC': 5, 'HE-AACv2': 29 };

export async function measureRendition(
  tools: Tools,
  dir: string,
  name: string,
  clear: boolean,
  signal?: AbortSignal,
): Promise<MeasuredRendition> {
  const playlist = await readPlaylist(join(dir, name, 'index.m3u8'));
  const size = async (f: string) => (await stat(join(dir, name, f))).size;
  let peak = 0;
  let bytes = 0;
  let duration = 0;
  for (const s of playlist.segments) {
    const b = await size(s.file);
    bytes += b;
    duration += s.duration;
    if (s.duration > 0) peak = Math.max(peak, (b * 8) / s.duration);
  }
  // Probe a clear copy of the first segment (with its init segment for fMP4). Encrypted output is probed before
  // encryption (the caller measures first, then encrypts), so `clear` must be true here.
  if (!clear) throw new Error('measure renditions before encrypting them');
  const first = playlist.segments[0];
  if (!first) throw new Error(`${name}/index.m3u8 has no segments`);
  const sample = Buffer.concat([
    ...(playlist.init ? [await readFile(join(dir, name, playlist.init))] : []),
    await readFile(join(dir, name, first.file)),
  ]);
  const tmp = await mkdtemp(join(tmpdir(), 'hls-gate-probe-'));
  try {
    const file = join(tmp, playlist.init ? 'sample.mp4' : 'sample.ts');
    await writeFile(file, sample);
    const p = await probe(tools, file, { confined: false }, signal);
    const codecs: string[] = [];
    if (p.video) {
      const avc = avcCodec(sample);
      if (!avc) throw new Error(`${name}: no H.264 parameter set found in the first segment`);
      codecs.push(avc);
    }
    if (p.audio) codecs.push(`mp4a.40.${AAC_OBJECT[p.audio.profile ?? 'LC'] ?? 2}`);
    return {
      name,
      bandwidth: Math.ceil(peak),
      averageBandwidth: Math.ceil(duration > 0 ? (bytes * 8) / duration : 0),
      ...(p.video
        ? { resolution: `${p.video.width}x${p.video.height}`, frameRate: Math.round(p.video.fps * 1000) / 1000 }
        : {}),
      codecs: codecs.join(','),
      durationSeconds: duration,
      segments: playlist.segments.length,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Encryption pads each segment by at most 16 bytes: the peak and average are raised to account for it. */
export function withPadding(r: MeasuredRendition, segmentSeconds: number): MeasuredRendition {
  const extra = Math.ceil((16 * 8) / Math.max(0.5, segmentSeconds / 2));
  return { ...r, bandwidth: r.bandwidth + extra, averageBandwidth: r.averageBandwidth + extra };
}

export function masterPlaylist(renditions: MeasuredRendition[], format: 'ts' | 'cmaf'): string {
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${format === 'cmaf' ? 7 : 3}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const r of [...renditions].sort((a, b) => b.bandwidth - a.bandwidth)) {
    const attrs = [`BANDWIDTH=${r.bandwidth}`, `AVERAGE-BANDWIDTH=${r.averageBandwidth}`];
    if (r.resolution) attrs.push(`RESOLUTION=${r.resolution}`);
    attrs.push(`CODECS="${r.codecs}"`);
    if (r.frameRate) attrs.push(`FRAME-RATE=${r.frameRate.toFixed(3)}`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, `${r.name}/index.m3u8`);
  }
  return `${lines.join('\n')}\n`;
}

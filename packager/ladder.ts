import type { Probe } from './ffmpeg.ts';

// Which renditions to make, and the one ffmpeg run that makes them all: one decode, a scaler and an x264 encoder
// per rendition, keyframes forced at every segment boundary in every rendition (so a player switches on any
// segment), the HLS muxer writing `<name>/index.m3u8` and its segments.

export const DEFAULT_LADDER = [1080, 720, 480, 360];
/** H.264 video bit rates (kbit/s) by height, for ~30 fps; other heights scale with the pixel count. */
const KBPS: Record<number, number> = { 1080: 5000, 720: 2800, 480: 1400, 360: 800, 240: 400 };
const AUDIO_KBPS = 128;

export interface Rendition {
  name: string;
  height: number;
  videoKbps: number;
}

export interface PackageFormat {
  format: 'ts' | 'cmaf';
  segmentSeconds: number;
  preset: string;
}

/** Heights asked for, capped at the source's (never upscaled); a source smaller than all of them keeps its own. */
export function chooseLadder(
  source: Probe,
  wanted: number[] = DEFAULT_LADDER,
): { renditions: Rendition[]; dropped: number[] } {
  if (!source.video) return { renditions: [], dropped: [] };
  const srcHeight = source.video.height - (source.video.height % 2);
  const unique = [...new Set(wanted)].sort((a, b) => b - a);
  const kept = unique.filter((h) => h <= srcHeight);
  const dropped = unique.filter((h) => h > srcHeight);
  const heights = kept.length > 0 ? kept : [srcHeight];
  const fpsFactor = Math.min(2, Math.max(0.5, source.video.fps / 30));
  return {
    renditions: heights.map((h) => ({
      name: `${h}p`,
      height: h,
      videoKbps: Math.round((KBPS[h] ?? Math.max(200, (2800 * h * h) / (720 * 720))) * fpsFactor),
    })),
    dropped,
  };
}

export function parseLadder(text: string): number[] {
  const heights = text.split(',').map((h) => h.trim().replace(/p$/, ''));
  if (heights.length === 0 || heights.some((h) => !/^\d{3,4}$/.test(h) || Number(h) < 144 || Number(h) > 4320)) {
    throw new Error('--ladder takes heights such as 1080,720,480 (144 to 4320)');
  }
  return heights.map(Number);
}

/** Encoder settings shared by on-demand packaging and live ingest. */
export interface EncodeOptions {
  segmentSeconds: number;
  preset: string;
  /** The source's size is not known in advance (a live push): each rendition is capped at the source's height. */
  capAtSource?: boolean;
  /** x264 tuning (live ingest: `zerolatency`, no frame look-ahead). */
  tune?: string;
}

/**
 * The decode, scale and encode part of an ffmpeg command for `renditions` (audio from the first audio stream when
 * `audio`), and the `-var_stream_map` entries naming each rendition's streams: one decode, a scaler and an x264
 * encoder per rendition, key frames forced at every segment boundary in every rendition.
 */
export function encodeArgs(
  renditions: Rendition[],
  audio: boolean,
  opts: EncodeOptions,
): { args: string[]; streams: string[] } {
  const args: string[] = [];
  const streams: string[] = [];
  if (renditions.length === 0) {
    args.push('-map', '0:a:0', '-vn');
    streams.push('a:0,name:audio');
  } else {
    args.push(...scaleArgs(renditions, opts));
    renditions.forEach((_r, i) => {
      args.push('-map', `[v${i}]`);
      if (audio) args.push('-map', '0:a:0');
    });
    args.push(...videoCodecArgs(opts));
    renditions.forEach((r, i) => {
      args.push(...rateArgs(r, `:${i}`));
      streams.push(audio ? `v:${i},a:${i},name:${r.name}` : `v:${i},name:${r.name}`);
    });
  }
  if (audio) args.push(...AUDIO_ARGS);
  return { args, streams };
}

const AUDIO_ARGS = ['-c:a', 'aac', '-b:a', `${AUDIO_KBPS}k`, '-ac', '2', '-ar', '48000'];

/** One decode, split into a scaler per rendition: `[v<i>]` is rendition i's picture. */
function scaleArgs(renditions: Rendition[], opts: EncodeOptions): string[] {
  const labels = renditions.map((_, i) => `[s${i}]`).join('');
  // min(h, ih), rounded to even: never above a source whose size is only known once it arrives.
  const height = (h: number) => (opts.capAtSource ? `'trunc(min(${h}\\,ih)/2)*2'` : String(h));
  const scales = renditions.map((r, i) => `[s${i}]scale=-2:${height(r.height)}[v${i}]`).join(';');
  return ['-filter_complex', `[0:v:0]split=${renditions.length}${labels};${scales}`];
}

/** x264 for every rendition, key frames forced at every segment boundary. */
function videoCodecArgs(opts: EncodeOptions): string[] {
  return [
    ...['-c:v', 'libx264', '-preset', opts.preset, ...(opts.tune ? ['-tune', opts.tune] : [])],
    ...['-pix_fmt', 'yuv420p', '-sc_threshold', '0'],
    ...['-force_key_frames', `expr:gte(t,n_forced*${opts.segmentSeconds})`],
  ];
}

/** One rendition's bit rate, buffer and profile; `stream` is ffmpeg's stream specifier suffix (`:0`, or ''). */
function rateArgs(r: Rendition, stream: string): string[] {
  const kbps = r.videoKbps;
  return [
    ...[`-b:v${stream}`, `${kbps}k`, `-maxrate:v${stream}`, `${Math.round(kbps * 1.1)}k`],
    ...[`-bufsize:v${stream}`, `${kbps * 2}k`, `-profile:v${stream}`, r.height >= 720 ? 'high' : 'main'],
  ];
}

/**
 * The same encoding as `encodeArgs`, but one output per rendition (ffmpeg's options after `-map` apply to the next
 * output only), each written by `output(i)`'s arguments: what low-latency ingest uses to get every rendition's
 * fragmented MP4 on its own pipe.
 */
export function encodeOutputs(
  renditions: Rendition[],
  audio: boolean,
  opts: EncodeOptions,
  output: (index: number) => string[],
): string[] {
  if (renditions.length === 0) return ['-map', '0:a:0', '-vn', ...AUDIO_ARGS, ...output(0)];
  const args = scaleArgs(renditions, opts);
  renditions.forEach((r, i) => {
    args.push('-map', `[v${i}]`, ...(audio ? ['-map', '0:a:0'] : []), ...videoCodecArgs(opts), ...rateArgs(r, ''));
    args.push(...(audio ? AUDIO_ARGS : []), ...output(i));
  });
  return args;
}

/** The ffmpeg arguments that write every rendition into `outDir/<name>/`; `input` is `ffmpegInput(...)`. */
export function ffmpegArgs(
  input: string[],
  outDir: string,
  source: Probe,
  renditions: Rendition[],
  opts: PackageFormat,
): string[] {
  const ext = opts.format === 'cmaf' ? 'm4s' : 'ts';
  const { args: encode, streams } = encodeArgs(renditions, Boolean(source.audio), opts);
  return [
    '-y',
    ...input,
    ...encode,
    '-f',
    'hls',
    '-hls_time',
    String(opts.segmentSeconds),
    '-hls_playlist_type',
    'vod',
    '-hls_flags',
    'independent_segments',
    '-hls_segment_type',
    opts.format === 'cmaf' ? 'fmp4' : 'mpegts',
    ...(opts.format === 'cmaf' ? ['-hls_fmp4_init_filename', 'init.mp4'] : []),
    '-hls_segment_filename',
    `${outDir}/%v/seg_%04d.${ext}`,
    '-var_stream_map',
    streams.join(' '),
    `${outDir}/%v/index.m3u8`,
  ];
}

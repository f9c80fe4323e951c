import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { UsageError } from '../io.ts';

// The real ffmpeg and ffprobe: FFMPEG_PATH (and FFPROBE_PATH, else the ffprobe beside FFMPEG_PATH), else the PATH.

const HINT = 'install it (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) or set FFMPEG_PATH';

function onPath(name: string, env: Record<string, string | undefined>): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

export interface Tools {
  ffmpeg: string;
  ffprobe: string;
}

export function findTools(env: Record<string, string | undefined>): Tools {
  const ffmpeg = env.FFMPEG_PATH || onPath('ffmpeg', env);
  if (!ffmpeg || !existsSync(ffmpeg)) throw new UsageError(`ffmpeg was not found${env.FFMPEG_PATH ? ` at FFMPEG_PATH=${env.FFMPEG_PATH}` : ' on the PATH'}: ${HINT}`);
  const beside = join(dirname(ffmpeg), 'ffprobe');
  const ffprobe = env.FFPROBE_PATH || (existsSync(beside) ? beside : onPath('ffprobe', env));
  if (!ffprobe) throw new UsageError(`ffprobe (part of ffmpeg) was not found: ${HINT}`);
  return { ffmpeg, ffprobe };
}

export interface Probe {
  durationSeconds: number;
  video?: { width: number; height: number; fps: number; codec: string; profile?: string; level?: number };
  audio?: { codec: string; profile?: string; channels: number; sampleRate: number };
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  channels?: number;
  sample_rate?: string;
  disposition?: { attached_pic?: number };
}

const rate = (r: string | undefined): number => {
  const [n, d] = (r ?? '0/1').split('/').map(Number);
  return d ? n! / d : 0;
};

/** What a media file holds, measured by ffprobe. */
export function probe(tools: Tools, file: string): Probe {
  const r = spawnSync(tools.ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new UsageError(`ffprobe cannot read ${file}: ${(r.stderr || '').trim().split('\n').pop() ?? 'unknown error'}`);
  const doc = JSON.parse(r.stdout) as { format?: { duration?: string }; streams?: FfprobeStream[] };
  const streams = doc.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const a = streams.find((s) => s.codec_type === 'audio');
  const out: Probe = { durationSeconds: Number(doc.format?.duration ?? 0) };
  if (v && v.width && v.height) {
    out.video = { width: v.width, height: v.height, fps: rate(v.avg_frame_rate) || rate(v.r_frame_rate) || 25, codec: v.codec_name ?? '' };
    if (v.profile) out.video.profile = v.profile;
    if (v.level !== undefined) out.video.level = v.level;
  }
  if (a) {
    out.audio = { codec: a.codec_name ?? '', channels: a.channels ?? 2, sampleRate: Number(a.sample_rate ?? 48000) };
    if (a.profile) out.audio.profile = a.profile;
  }
  return out;
}

/**
 * Runs ffmpeg with `-progress pipe:1`, reporting the output time reached (seconds). Resolves when it exits 0;
 * rejects with the last lines of its error output otherwise. `child` lets the caller stop it (Ctrl-C).
 */
export function runFfmpeg(tools: Tools, args: string[], onTime: (seconds: number) => void): { child: ChildProcess; done: Promise<void> } {
  const child = spawn(tools.ffmpeg, ['-hide_banner', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  let pending = '';
  child.stdout!.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^out_time_us=(\d+)/.exec(line);
      if (m) onTime(Number(m[1]) / 1e6);
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    errors = (errors + d.toString()).slice(-4000);
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`ffmpeg could not be started: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(signal ? `ffmpeg was stopped (${signal})` : `ffmpeg failed (exit ${code}): ${errors.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
  return { child, done };
}

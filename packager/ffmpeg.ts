import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import type { Demuxer } from '../server/app/media-container.ts';
import { PackageError } from './errors.ts';

// The real ffmpeg and ffprobe (FFMPEG_PATH, and FFPROBE_PATH or the ffprobe beside it, else the PATH), always run
// as child processes with a deadline, never synchronously: a server's event loop keeps answering while they work.
// Each runs in its own process group, killed as a group on a deadline, a limit or an AbortSignal.
// A confined input (a file from a stranger) is read only as the container it was identified as (`-f`) and only
// through the file protocol (`-protocol_whitelist file`): https://ffmpeg.org/ffmpeg-protocols.html#Protocol-Options

const HINT = 'install it (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) or set FFMPEG_PATH';

function onPath(name: string, env: Record<string, string | undefined>): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

export interface Tools {
  ffmpeg: string;
  ffprobe: string;
  /** Prepended to every command: `nice` and `taskset` when the job is to be kept off the gateway's CPUs. */
  wrapper: string[];
  /** The nice value of the job's scheduling group (Linux autogroup), 0 for none. */
  niceness: number;
}

/** Where a job's processes run: lower priority, and optionally a CPU list (`taskset -c`, Linux). */
export interface Placement {
  /** A CPU list such as `1` or `2-3`. */
  cpus?: string;
  /** A nice increment (0 to 19). */
  nice?: number;
}

export function findTools(env: Record<string, string | undefined>, placement: Placement = {}): Tools {
  const ffmpeg = env.FFMPEG_PATH || onPath('ffmpeg', env);
  if (!ffmpeg || !existsSync(ffmpeg))
    throw new PackageError(
      'tools-missing',
      `ffmpeg was not found${env.FFMPEG_PATH ? ` at FFMPEG_PATH=${env.FFMPEG_PATH}` : ' on the PATH'}: ${HINT}`,
    );
  const beside = join(dirname(ffmpeg), 'ffprobe');
  const ffprobe = env.FFPROBE_PATH || (existsSync(beside) ? beside : onPath('ffprobe', env));
  if (!ffprobe) throw new PackageError('tools-missing', `ffprobe (part of ffmpeg) was not found: ${HINT}`);
  const wrapper: string[] = [];
  const nice = placement.nice ? onPath('nice', env) : undefined;
  if (nice) wrapper.push(nice, '-n', String(placement.nice));
  const taskset = placement.cpus ? onPath('taskset', env) : undefined;
  if (taskset) wrapper.push(taskset, '-c', placement.cpus!);
  return { ffmpeg, ffprobe, wrapper, niceness: placement.nice ?? 0 };
}

/**
 * Each tool runs in a session of its own (so it can be killed as a group), and with the kernel's autogroup
 * scheduling (on by default on desktop and many server kernels) CPU time is shared between sessions first: a thread's
 * nice value ranks it only within its own session, so `nice` alone would leave the job an equal share beside the
 * gateway. The session's group gets the nice value too (an owner may raise it), so the job yields as meant.
 * https://man7.org/linux/man-pages/man7/sched.7.html ("The autogroup feature")
 */
function lowerGroupPriority(pid: number, niceness: number): void {
  if (niceness <= 0 || process.platform !== 'linux') return;
  writeFile(`/proc/${pid}/autogroup`, String(niceness)).catch(() => {}); // no autogroup support: nice still applies within the session
}

/** How a source is read: as any input ffmpeg understands (a trusted local file), or confined to one container. */
export type InputMode = { confined: false } | { confined: true; demuxer: Demuxer };

/** The input options and the input itself (ffprobe's positional input; `ffmpegInput` adds ffmpeg's `-i`). */
export function inputArgs(file: string, mode: InputMode): string[] {
  if (!mode.confined) return [file];
  // mov's external data references are off by default; said anyway, since it is the one demuxer that has them.
  const mov = mode.demuxer === 'mov' ? ['-enable_drefs', '0'] : [];
  return [
    '-protocol_whitelist',
    'file',
    '-probesize',
    '50000000',
    '-analyzeduration',
    '20000000',
    '-f',
    mode.demuxer,
    ...mov,
    `file:${file}`,
  ];
}

export function ffmpegInput(file: string, mode: InputMode): string[] {
  const args = inputArgs(file, mode);
  return [...args.slice(0, -1), '-i', args[args.length - 1]!];
}

export interface RunLimits {
  signal?: AbortSignal;
  /** Killed after this many milliseconds. */
  timeoutMs?: number;
  /** Checked every second while it runs: a reason to stop it, or null. */
  watch?: () => Promise<PackageError | null>;
  /** Standard output kept, at most (bytes). */
  maxStdout?: number;
  onStdoutLine?: (line: string) => void;
  /** Readers of extra output pipes: the tool's file descriptor 3 goes to the first, 4 to the second... */
  outputs?: ((chunk: Buffer) => void)[];
}

export interface RunResult {
  stdout: string;
}

/** Runs one tool in its own process group; rejects with a PackageError (`failure`, or the limit that stopped it). */
export function runTool(
  tools: Tools,
  command: string,
  args: string[],
  failure: PackageError['code'],
  limits: RunLimits = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (limits.signal?.aborted) return reject(new PackageError('aborted'));
    const [file, ...rest] = [...tools.wrapper, command, ...args];
    const extra = (limits.outputs ?? []).map(() => 'pipe' as const);
    const child = spawn(file!, rest, { stdio: ['ignore', 'pipe', 'pipe', ...extra], detached: true });
    limits.outputs?.forEach((read, i) => (child.stdio[3 + i] as NodeJS.ReadableStream).on('data', read));
    if (child.pid) lowerGroupPriority(child.pid, tools.niceness);
    let stdout = '';
    let pending = '';
    let errors = '';
    let stopped: PackageError | null = null;
    const stop = (why: PackageError) => {
      if (stopped) return;
      stopped = why;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const max = limits.maxStdout ?? 4 * 1024 * 1024;
    child.stdout!.on('data', (d: Buffer) => {
      const text = d.toString();
      if (stdout.length < max) stdout += text.slice(0, max - stdout.length);
      if (!limits.onStdoutLine) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) limits.onStdoutLine(line);
    });
    child.stderr!.on('data', (d: Buffer) => {
      errors = (errors + d.toString()).slice(-4000);
    });
    const onAbort = () => stop(new PackageError('aborted'));
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = limits.timeoutMs
      ? setTimeout(
          () =>
            stop(
              new PackageError(
                'too-slow',
                `${command} ran past its ${Math.round(limits.timeoutMs! / 1000)} s deadline`,
              ),
            ),
          limits.timeoutMs,
        )
      : undefined;
    let watching = false;
    const watcher = limits.watch
      ? setInterval(() => {
          if (watching) return;
          watching = true;
          void limits.watch!().then((why) => {
            watching = false;
            if (why) stop(why);
          });
        }, 1000)
      : undefined;
    const finish = () => {
      clearTimeout(timer);
      clearInterval(watcher);
      limits.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (err) => {
      finish();
      reject(new PackageError('tools-missing', `${command} could not be started: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      finish();
      if (stopped) return reject(stopped);
      if (code === 0) return resolve({ stdout });
      const said = errors.trim().split('\n').slice(-3).join(' | ');
      reject(
        new PackageError(
          failure,
          signal ? `${command} was stopped (${signal})` : `${command} failed (exit ${code}): ${said}`,
        ),
      );
    });
  });
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

/** What a media file holds, measured by ffprobe (at most 30 s). */
export async function probe(
  tools: Tools,
  file: string,
  mode: InputMode = { confined: false },
  signal?: AbortSignal,
): Promise<Probe> {
  let stdout: string;
  try {
    ({ stdout } = await runTool(
      tools,
      tools.ffprobe,
      ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...inputArgs(file, mode)],
      'unreadable',
      { ...(signal ? { signal } : {}), timeoutMs: 30_000 },
    ));
  } catch (err) {
    if (err instanceof PackageError && err.code !== 'aborted' && err.code !== 'tools-missing')
      throw new PackageError('unreadable', `ffprobe cannot read ${file}: ${err.detail ?? 'unknown error'}`);
    throw err;
  }
  let doc: { format?: { duration?: string }; streams?: FfprobeStream[] };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch {
    throw new PackageError('unreadable', `ffprobe gave no readable answer for ${file}`);
  }
  const streams = doc.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const a = streams.find((s) => s.codec_type === 'audio');
  const duration = Number(doc.format?.duration ?? 0);
  const out: Probe = { durationSeconds: Number.isFinite(duration) && duration > 0 ? duration : 0 };
  if (v && v.width && v.height) {
    out.video = {
      width: v.width,
      height: v.height,
      fps: rate(v.avg_frame_rate) || rate(v.r_frame_rate) || 25,
      codec: v.codec_name ?? '',
    };
    if (v.profile) out.video.profile = v.profile;
    if (v.level !== undefined) out.video.level = v.level;
  }
  if (a) {
    out.audio = { codec: a.codec_name ?? '', channels: a.channels ?? 2, sampleRate: Number(a.sample_rate ?? 48000) };
    if (a.profile) out.audio.profile = a.profile;
  }
  return out;
}

/** Runs ffmpeg with `-progress pipe:1`, reporting the output time reached (seconds). */
export function runFfmpeg(
  tools: Tools,
  args: string[],
  onTime: (seconds: number) => void,
  limits: RunLimits = {},
): Promise<RunResult> {
  return runTool(
    tools,
    tools.ffmpeg,
    ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1', ...args],
    'encode-failed',
    {
      ...limits,
      maxStdout: 0,
      onStdoutLine: (line) => {
        const m = /^out_time_us=(\d+)/.exec(line);
        if (m) onTime(Number(m[1]) / 1e6);
      },
    },
  );
}

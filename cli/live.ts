import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, type Io } from './io.ts';
import { VIDEO_ID } from '../server/app/layout.ts';
import { PackageError, parseLadder } from '../packager/index.ts';
import { DEFAULT_LIVE_LADDER, runLive, type LiveInput, type LiveStatus } from '../packager/live.ts';
import { r2LiveSink, s3LiveSink, type LiveSink } from '../packager/live-publish.ts';

// `hls-gate live <id> --input <source>`: live ingest (packager/live.ts) from argv. This file reads options and the
// secrets (from the environment, never from argv: a command line is visible to every user of the machine), shows
// the stream's state, and turns Ctrl-C into a clean end (EXT-X-ENDLIST, the recording kept).

/** A stream key or passphrase: long enough not to be guessed, plain characters an encoder's form takes. */
const SECRET = /^[A-Za-z0-9_~.-]{16,79}$/;

/** The source: an RTMP or SRT listener (its secret from the environment) or anything ffmpeg reads. */
export function parseLiveInput(text: string, env: Record<string, string | undefined>): LiveInput {
  const rtmp = /^rtmp:\/\/([^/:]+)(?::(\d{1,5}))?\/([A-Za-z0-9_-]{1,64})\/?$/.exec(text);
  if (text.startsWith('rtmp://')) {
    if (!rtmp)
      throw new UsageError(
        '--input rtmp://HOST[:PORT]/APP (for example rtmp://0.0.0.0:1935/live): the stream key comes from LIVE_STREAM_KEY, never from the URL',
      );
    const key = env.LIVE_STREAM_KEY ?? '';
    if (!SECRET.test(key))
      throw new UsageError(
        'an RTMP source needs LIVE_STREAM_KEY: 16 to 79 letters, digits, "-", "_", "." or "~" (make one: openssl rand -hex 16); give the encoder the same Stream Key',
      );
    return { kind: 'rtmp', host: rtmp[1]!, port: Number(rtmp[2] ?? 1935), app: rtmp[3]!, key };
  }
  if (text.startsWith('srt://')) {
    const srt = /^srt:\/\/([^/:?]+):(\d{1,5})$/.exec(text);
    if (!srt) throw new UsageError('--input srt://HOST:PORT (the passphrase comes from LIVE_SRT_PASSPHRASE)');
    const passphrase = env.LIVE_SRT_PASSPHRASE ?? '';
    if (!SECRET.test(passphrase))
      throw new UsageError(
        'an SRT source needs LIVE_SRT_PASSPHRASE: 16 to 79 letters, digits, "-", "_", "." or "~" (make one: openssl rand -hex 16)',
      );
    return { kind: 'srt', host: srt[1]!, port: Number(srt[2]), passphrase };
  }
  return { kind: 'other', input: text };
}

/** `--s3` or `--r2`: where the stream is published besides the media folder, as `hls-gate package` publishes. */
async function publishTarget(
  id: string,
  values: { s3?: string; 's3-endpoint'?: string; r2?: string; 'r2-remote': boolean; 'r2-persist': string },
  io: Io,
): Promise<LiveSink | undefined> {
  if (values.s3 && values.r2) throw new UsageError('publish to one place: --s3 or --r2 (or neither)');
  try {
    if (values.s3)
      return s3LiveSink(id, {
        url: values.s3,
        env: io.env,
        ...(values['s3-endpoint'] ? { endpoint: values['s3-endpoint'] } : {}),
      });
    if (values.r2) {
      if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(values.r2))
        throw new UsageError('--r2 takes a bucket name, like hls-gate-media');
      return await r2LiveSink(
        id,
        { bucket: values.r2, remote: values['r2-remote'], persistTo: values['r2-persist'] },
        io.env,
      );
    }
  } catch (err) {
    if (err instanceof PackageError) throw new UsageError(err.detail ?? err.message);
    throw err;
  }
  return undefined;
}

function integer(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be ${min} to ${max}`);
  return n;
}

function statusLine(id: string, s: LiveStatus): string {
  const state = { waiting: 'waiting for the source', live: 'LIVE', reconnecting: 'reconnecting', ended: 'ended' }[
    s.state
  ];
  return `live ${id}: ${state}, ${(s.kbps / 1000).toFixed(2)} Mbit/s out, ${s.frames} frames, ${s.segments} segments`;
}

export async function liveCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string' },
      'input-format': { type: 'string' },
      title: { type: 'string' },
      ladder: { type: 'string' },
      'segment-seconds': { type: 'string', default: '2' },
      window: { type: 'string' },
      'low-latency': { type: 'boolean', default: false },
      'part-seconds': { type: 'string' },
      dvr: { type: 'boolean', default: false },
      grace: { type: 'string', default: '30' },
      'remove-at-end': { type: 'boolean', default: false },
      replace: { type: 'boolean', default: false },
      preset: { type: 'string', default: 'veryfast' },
      'media-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      s3: { type: 'string' },
      's3-endpoint': { type: 'string' },
      r2: { type: 'string' },
      'r2-remote': { type: 'boolean', default: false },
      'r2-persist': { type: 'string', default: '.wrangler/state' },
      'metrics-port': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const id = positionals[0];
  if (!id || positionals.length > 1 || !values.input)
    throw new UsageError('usage: hls-gate live <videoId> --input <source> [options] (hls-gate live --help)');
  if (!VIDEO_ID.test(id)) throw new UsageError('the video ID is 1 to 64 letters, digits, "-" or "_"');
  if (!/^(ultrafast|superfast|veryfast|faster|fast|medium)$/.test(values.preset))
    throw new UsageError('--preset must be an x264 preset fast enough for live: ultrafast to medium');
  let ladder = DEFAULT_LIVE_LADDER;
  if (values.ladder) {
    try {
      ladder = parseLadder(values.ladder);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const mediaDir = resolve(values['media-dir'] ?? io.env.MEDIA_DIR ?? 'media');
  if (!existsSync(mediaDir) || !statSync(mediaDir).isDirectory())
    throw new UsageError(`the media folder ${mediaDir} does not exist (--media-dir or MEDIA_DIR)`);
  let input = parseLiveInput(values.input, io.env);
  const format = values['input-format'];
  if (format !== undefined) {
    if (input.kind !== 'other' || !/^[a-z0-9_]{2,32}$/.test(format))
      throw new UsageError(
        '--input-format takes an ffmpeg input format such as v4l2 or lavfi, for a non-RTMP, non-SRT source',
      );
    input = { ...input, format };
  }
  const publish = await publishTarget(id, values, io);
  const options = {
    ...(publish ? { publish } : {}),
    id,
    ...(values.title ? { title: values.title } : {}),
    input,
    mediaDir,
    ladder,
    segmentSeconds: integer(values['segment-seconds'], '--segment-seconds', 1, 10),
    ...(values.window !== undefined ? { window: integer(values.window, '--window', 3, 1000) } : {}),
    ...lowLatencyOptions(values['low-latency'], values['part-seconds']),
    dvr: values.dvr,
    graceSeconds: integer(values.grace, '--grace', 0, 3600),
    removeAtEnd: values['remove-at-end'],
    replace: values.replace,
    preset: values.preset,
    env: io.env,
  };
  const metricsPort =
    values['metrics-port'] === undefined ? undefined : integer(values['metrics-port'], '--metrics-port', 0, 65535);
  const metrics =
    metricsPort === undefined
      ? undefined
      : await (await import('./live-metrics.ts')).serveLiveMetrics(metricsPort, io.env.METRICS_TOKEN);
  if (metrics) io.stderr(`metrics: ${metrics.url}\n`);
  try {
    return await run(id, options, io, values.json, metrics ? (s) => metrics.update(s) : undefined);
  } finally {
    await metrics?.close();
  }
}

/** `--low-latency [--part-seconds S]`: parts of 0.2 to 1 s (RFC 8216bis section 4.4.3.7; Apple: about 1/3 s). */
function lowLatencyOptions(on: boolean, part: string | undefined): { lowLatency?: true; partTarget?: number } {
  if (part !== undefined && !on) throw new UsageError('--part-seconds goes with --low-latency');
  if (!on) return {};
  if (part === undefined) return { lowLatency: true };
  const seconds = Number(part);
  if (!/^\d*\.?\d+$/.test(part) || seconds < 0.2 || seconds > 1)
    throw new UsageError('--part-seconds takes a number of seconds from 0.2 to 1, such as 0.334');
  return { lowLatency: true, partTarget: seconds };
}

async function run(
  id: string,
  options: Parameters<typeof runLive>[0],
  io: Io,
  json: boolean,
  onStatus?: (s: LiveStatus) => void,
): Promise<number> {
  // Ctrl-C ends the stream cleanly: the playlists get EXT-X-ENDLIST and the recording stays (or is removed).
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let last = '';
  let lastAt = 0;
  try {
    const report = await runLive(options, {
      signal: abort.signal,
      onStatus: (s) => {
        onStatus?.(s);
        const line = statusLine(id, s);
        if (json) return;
        if (io.stderrTty) io.stderr(`\r${line}   `);
        else if (s.state !== last || io.now() - lastAt >= 10_000) io.stderr(`${line}\n`);
        last = s.state;
        lastAt = io.now();
      },
      onNote: (text) => {
        if (!json) io.stderr(`${io.stderrTty ? '\n' : ''}note: ${text}\n`);
      },
    });
    if (json) io.stdout(`${JSON.stringify(report)}\n`);
    else
      io.stdout(
        `${io.stderrTty ? '\n' : ''}live ${id} ended (${report.ended}) after ${report.segments} segments: ${report.recording ? `kept as a recording in ${report.folder}` : 'removed'}\n`,
      );
    return 0;
  } catch (err) {
    if (err instanceof PackageError) throw new UsageError(err.detail ?? err.message);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

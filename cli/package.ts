import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, type Io } from './io.ts';
import { VIDEO_ID } from '../server/app/layout.ts';
import { DEFAULT_LADDER, PackageError, packageVideo, parseLadder, type PublishTarget } from '../packager/index.ts';

// `hls-gate package <input> --id <videoId>`: the packager (packager/index.ts) on a trusted local file, from argv.
// This file only reads options, draws progress, handles Ctrl-C (an AbortSignal to the packager) and prints.

function progressReporter(io: Io): { update(fraction: number): void; done(): void } {
  const started = Date.now();
  let lastPlain = -1;
  return {
    update(fraction) {
      const elapsed = (Date.now() - started) / 1000;
      const eta = fraction > 0.01 ? Math.max(0, elapsed / fraction - elapsed) : NaN;
      const clock = (s: number) =>
        Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}` : '--:--';
      if (io.stderrTty) {
        const width = 30;
        const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '-');
        io.stderr(
          `\r  encoding [${bar}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${clock(elapsed)} elapsed, ETA ${clock(eta)}  `,
        );
      } else {
        const tenth = Math.floor(fraction * 10);
        if (tenth > lastPlain) {
          lastPlain = tenth;
          io.stderr(`encoding: ${tenth * 10}% (${clock(elapsed)} elapsed, ETA ${clock(eta)})\n`);
        }
      }
    },
    done() {
      if (io.stderrTty) io.stderr('\n');
    },
  };
}

export async function packageCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      id: { type: 'string' },
      title: { type: 'string' },
      description: { type: 'string' },
      ladder: { type: 'string' },
      format: { type: 'string', default: 'ts' },
      'segment-seconds': { type: 'string', default: '4' },
      encrypt: { type: 'boolean', default: false },
      preset: { type: 'string', default: 'veryfast' },
      'media-dir': { type: 'string' },
      replace: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'query-params': { type: 'boolean', default: false },
      s3: { type: 'string' },
      's3-endpoint': { type: 'string' },
      r2: { type: 'string' },
      'r2-remote': { type: 'boolean', default: false },
      'r2-persist': { type: 'string', default: '.wrangler/state' },
    },
    allowPositionals: true,
    strict: true,
  });
  const input = positionals[0];
  if (!input || positionals.length > 1)
    throw new UsageError('usage: hls-gate package <input> --id <videoId> [options] (hls-gate package --help)');
  if (!existsSync(input)) throw new UsageError(`${input} does not exist`);
  const id = values.id;
  if (!id || !VIDEO_ID.test(id))
    throw new UsageError('--id is required: 1 to 64 letters, digits, "-" or "_" (the video\'s URL is /videos/<id>/)');
  if (values.format !== 'ts' && values.format !== 'cmaf') throw new UsageError('--format must be ts or cmaf');
  const segmentSeconds = Number(values['segment-seconds']);
  if (!Number.isInteger(segmentSeconds) || segmentSeconds < 1 || segmentSeconds > 30)
    throw new UsageError('--segment-seconds must be 1 to 30');
  if (!/^(ultrafast|superfast|veryfast|faster|fast|medium|slow|slower|veryslow)$/.test(values.preset))
    throw new UsageError('--preset must be an x264 preset such as veryfast or medium');
  let ladder = DEFAULT_LADDER;
  if (values.ladder) {
    try {
      ladder = parseLadder(values.ladder);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  if (values.s3 && values.r2)
    throw new UsageError('publish to one place: --s3 or --r2 (or neither, for the media folder)');
  if (values.r2 && !/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(values.r2))
    throw new UsageError('--r2 takes a bucket name, like hls-gate-media');
  const mediaDir = resolve(values['media-dir'] ?? io.env.MEDIA_DIR ?? 'media');
  const hasMediaDir = existsSync(mediaDir) && statSync(mediaDir).isDirectory();
  const replace = values.replace;
  let publish: PublishTarget;
  if (values.s3)
    publish = {
      to: 's3',
      url: values.s3,
      ...(values['s3-endpoint'] ? { endpoint: values['s3-endpoint'] } : {}),
      ...(hasMediaDir ? { mediaDir } : {}),
      replace,
    };
  else if (values.r2)
    publish = { to: 'r2', bucket: values.r2, remote: values['r2-remote'], persistTo: values['r2-persist'], replace };
  else {
    if (!hasMediaDir) throw new UsageError(`the media folder ${mediaDir} does not exist (--media-dir or MEDIA_DIR)`);
    publish = { to: 'local', mediaDir, replace };
  }

  // Ctrl-C stops ffmpeg and removes everything the run made.
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const bar = progressReporter(io);
  try {
    const report = await packageVideo(
      input,
      {
        id,
        ...(values.title ? { title: values.title } : {}),
        ...(values.description ? { description: values.description } : {}),
        ladder,
        format: values.format,
        segmentSeconds,
        preset: values.preset,
        encrypt: values.encrypt,
        queryParams: values['query-params'],
        publish,
        env: io.env,
      },
      {
        signal: abort.signal,
        onProgress: (f) => bar.update(f),
        onNote: (text) => {
          if (!values.json) io.stderr(`note: ${text}\n`);
        },
        onFile: (key) => {
          if (!values.json) io.stderr(`uploaded ${key}\n`);
        },
      },
    );
    bar.done();
    const { entry: _entry, dropped: _dropped, ...json } = report;
    if (values.json) io.stdout(`${JSON.stringify(json)}\n`);
    else {
      io.stdout(
        `packaged ${id} into ${report.folder} in ${report.seconds} s (ffmpeg ${report.ffmpegSeconds} s): ${report.format}${report.encrypted ? ', AES-128' : ''}, ${report.durationSeconds} s\n`,
      );
      for (const m of report.renditions)
        io.stdout(
          `  ${m.name.padEnd(6)} ${(m.resolution ?? 'audio').padEnd(10)} ${String(Math.round(m.averageBandwidth / 1000)).padStart(6)} kbit/s avg, ${String(Math.round(m.bandwidth / 1000)).padStart(6)} peak  ${m.codecs}\n`,
        );
      io.stdout(
        `  checked: ${report.files - (report.entry.poster ? 1 : 0)} files walk cleanly; ${publish.to === 's3' && !hasMediaDir ? `no media folder, so add it to the gateway's catalog: hls-gate catalog add ${id}` : 'catalog.json updated'}. Play it at /?video=${id}\n`,
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof PackageError && err.code === 'aborted') {
      io.stderr('hls-gate: packaging interrupted; nothing was changed in the media folder\n');
      return 130;
    }
    // The operator's own file: the whole detail (paths, the tool's message) is theirs to read.
    if (err instanceof PackageError) throw new UsageError(err.detail ?? err.message);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

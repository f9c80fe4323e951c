import { parseArgs } from 'node:util';
import { chmodSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { publishR2, publishS3 } from './publish.ts';
import { addQueryParams } from './query-params.ts';
import { UsageError, type Io } from '../io.ts';
import { findTools, probe, runFfmpeg, type Tools } from './ffmpeg.ts';
import { chooseLadder, ffmpegArgs, parseLadder, DEFAULT_LADDER } from './ladder.ts';
import { KEY_FILE, encryptPlaylist, writeKey } from './encrypt.ts';
import { masterPlaylist, measureRendition, withPadding, type MeasuredRendition } from './master.ts';
import { checkPackage } from './check.ts';
import { upsertEntry } from '../catalog-file.ts';
import { VIDEO_ID } from '../../server/app/layout.ts';
import type { CatalogEntry } from '../../server/app/catalog.ts';

// `hls-gate package <input> --id <videoId>`: an mp4 (or anything ffmpeg reads) to a gated HLS ladder in MEDIA_DIR,
// its catalog entry included. Everything is built in a hidden temporary folder inside MEDIA_DIR (the gateway
// never serves a name starting with "."), checked like a player would walk it, and only then moved into place with
// one rename; Ctrl-C or a failure leaves MEDIA_DIR and catalog.json as they were.

function progressReporter(io: Io, total: number): { update(seconds: number): void; done(): void } {
  const started = Date.now();
  let lastPlain = -1;
  return {
    update(seconds) {
      const fraction = total > 0 ? Math.min(1, seconds / total) : 0;
      io.onProgress?.(fraction);
      const elapsed = (Date.now() - started) / 1000;
      const eta = fraction > 0.01 ? Math.max(0, elapsed / fraction - elapsed) : NaN;
      const clock = (s: number) => (Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}` : '--:--');
      if (io.stderrTty) {
        const width = 30;
        const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '-');
        io.stderr(`\r  encoding [${bar}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${clock(elapsed)} elapsed, ETA ${clock(eta)}  `);
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

function poster(tools: Tools, input: string, dir: string, durationSeconds: number): Promise<void> {
  const at = Math.min(Math.max(0, durationSeconds * 0.1), 10);
  return runFfmpeg(tools, ['-y', '-ss', at.toFixed(2), '-i', input, '-frames:v', '1', '-vf', 'scale=-2:min(ih\\,720)', '-q:v', '3', join(dir, 'poster.jpg')], () => {}).done;
}

export async function packageCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      id: { type: 'string' }, title: { type: 'string' }, description: { type: 'string' }, ladder: { type: 'string' },
      format: { type: 'string', default: 'ts' }, 'segment-seconds': { type: 'string', default: '4' }, encrypt: { type: 'boolean', default: false },
      preset: { type: 'string', default: 'veryfast' }, 'media-dir': { type: 'string' }, replace: { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
      'query-params': { type: 'boolean', default: false }, s3: { type: 'string' }, 's3-endpoint': { type: 'string' }, r2: { type: 'string' }, 'r2-remote': { type: 'boolean', default: false }, 'r2-persist': { type: 'string', default: '.wrangler/state' },
    },
    allowPositionals: true,
    strict: true,
  });
  const input = positionals[0];
  if (!input || positionals.length > 1) throw new UsageError('usage: hls-gate package <input> --id <videoId> [options] (hls-gate package --help)');
  if (!existsSync(input)) throw new UsageError(`${input} does not exist`);
  const id = values.id;
  if (!id || !VIDEO_ID.test(id)) throw new UsageError('--id is required: 1 to 64 letters, digits, "-" or "_" (the video\'s URL is /videos/<id>/)');
  if (values.format !== 'ts' && values.format !== 'cmaf') throw new UsageError('--format must be ts or cmaf');
  const segmentSeconds = Number(values['segment-seconds']);
  if (!Number.isInteger(segmentSeconds) || segmentSeconds < 1 || segmentSeconds > 30) throw new UsageError('--segment-seconds must be 1 to 30');
  if (!/^(ultrafast|superfast|veryfast|faster|fast|medium|slow|slower|veryslow)$/.test(values.preset)) throw new UsageError('--preset must be an x264 preset such as veryfast or medium');
  let wanted = DEFAULT_LADDER;
  if (values.ladder) {
    try {
      wanted = parseLadder(values.ladder);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  if (values.s3 && values.r2) throw new UsageError('publish to one place: --s3 or --r2 (or neither, for the media folder)');
  const publishTo: 'local' | 's3' | 'r2' = values.s3 ? 's3' : values.r2 ? 'r2' : 'local';
  if (values.r2 && !/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(values.r2)) throw new UsageError('--r2 takes a bucket name, like hls-gate-media');
  const mediaDir = resolve(values['media-dir'] ?? io.env.MEDIA_DIR ?? 'media');
  const hasMediaDir = existsSync(mediaDir) && statSync(mediaDir).isDirectory();
  if (publishTo === 'local' && !hasMediaDir) throw new UsageError(`the media folder ${mediaDir} does not exist (--media-dir or MEDIA_DIR)`);
  const target = join(mediaDir, id);
  if (publishTo === 'local' && existsSync(target) && !values.replace) throw new UsageError(`${target} already exists: choose another --id, or --replace it`);

  const tools = findTools(io.env);
  const started = Date.now();
  const source = probe(tools, input);
  if (!source.video && !source.audio) throw new UsageError(`${input} has neither video nor audio`);
  const { renditions, dropped } = chooseLadder(source, wanted);
  if (dropped.length > 0 && !values.json) io.stderr(`note: ${dropped.map((h) => `${h}p`).join(', ')} skipped: the source is ${source.video?.height}p and is never upscaled\n`);

  // Built beside its destination when that is the media folder (so the final move is one rename), else in /tmp.
  const tmp = mkdtempSync(join(publishTo === 'local' ? mediaDir : tmpdir(), `.package-${id}-`));
  chmodSync(tmp, 0o755); // mkdtemp makes it private; the gateway may run as another user
  let interrupted = false;
  let stop: (() => void) | undefined;
  const onSignal = () => {
    interrupted = true;
    stop?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const bar = progressReporter(io, source.durationSeconds);
    const run = runFfmpeg(tools, ffmpegArgs(input, tmp, source, renditions, { format: values.format, segmentSeconds, preset: values.preset }), (t) => bar.update(t));
    stop = () => run.child.kill('SIGTERM');
    const ffmpegStarted = Date.now();
    await run.done;
    const ffmpegSeconds = (Date.now() - ffmpegStarted) / 1000;
    bar.update(source.durationSeconds);
    bar.done();
    if (interrupted) throw new Error('interrupted');

    const names = renditions.length > 0 ? renditions.map((r) => r.name) : ['audio'];
    let measured: MeasuredRendition[] = names.map((n) => measureRendition(tools, tmp, n, true));
    if (values.encrypt) {
      const key = writeKey(tmp);
      for (const n of names) encryptPlaylist(join(tmp, n, 'index.m3u8'), key, `../${KEY_FILE}`);
      measured = measured.map((m) => withPadding(m, segmentSeconds));
    }
    writeFileSync(join(tmp, 'master.m3u8'), masterPlaylist(measured, values.format));
    if (values['query-params']) for (const p of ['master.m3u8', ...names.map((n) => `${n}/index.m3u8`)]) addQueryParams(join(tmp, p));
    if (source.video) await poster(tools, input, tmp, source.durationSeconds);
    if (interrupted) throw new Error('interrupted');

    const check = checkPackage(tmp, values.encrypt);
    if (check.problems.length > 0) throw new Error(`the packaged stream does not walk cleanly:\n  ${check.problems.join('\n  ')}`);

    const durationSeconds = Math.round(Math.max(...measured.map((m) => m.durationSeconds)) * 100) / 100;
    const entry: CatalogEntry = { id, title: values.title ?? id, playlist: 'master.m3u8', durationSeconds };
    if (values.description) entry.description = values.description;
    if (source.video) entry.poster = 'poster.jpg';
    const uploaded = (key: string) => {
      if (!values.json) io.stderr(`uploaded ${key}\n`);
    };
    let where = target;
    if (publishTo === 'local') {
      // Into place with renames only; the old version (with --replace) is removed after the new one is live.
      const old = existsSync(target) ? `${tmp}-old` : undefined;
      if (old) renameSync(target, old);
      renameSync(tmp, target);
      try {
        upsertEntry(mediaDir, entry);
      } catch (err) {
        renameSync(target, tmp);
        if (old) renameSync(old, target);
        throw err;
      }
      if (old) rmSync(old, { recursive: true, force: true });
    } else if (publishTo === 's3') {
      await publishS3(tmp, id, { url: values.s3!, ...(values['s3-endpoint'] ? { endpoint: values['s3-endpoint'] } : {}), env: io.env }, values.replace, uploaded);
      where = `${values.s3!.replace(/\/$/, '')}/videos/${id}/`;
      // The gateway that issues the grants lists the video from its own catalog.
      if (hasMediaDir) upsertEntry(mediaDir, entry);
      rmSync(tmp, { recursive: true, force: true });
    } else {
      await publishR2(tmp, id, { bucket: values.r2!, remote: values['r2-remote'], persistTo: values['r2-persist'] }, entry, values.replace, io.env, uploaded);
      where = `r2://${values.r2}/${id}/ (${values['r2-remote'] ? 'remote' : `local, ${values['r2-persist']}`})`;
      rmSync(tmp, { recursive: true, force: true });
    }

    const report = {
      id,
      folder: where,
      format: values.format,
      encrypted: values.encrypt,
      segmentSeconds,
      durationSeconds,
      renditions: measured,
      files: check.files + (source.video ? 1 : 0),
      seconds: Math.round((Date.now() - started) / 100) / 10,
      ffmpegSeconds: Math.round(ffmpegSeconds * 10) / 10,
    };
    if (values.json) io.stdout(`${JSON.stringify(report)}\n`);
    else {
      io.stdout(`packaged ${id} into ${where} in ${report.seconds} s (ffmpeg ${report.ffmpegSeconds} s): ${values.format}${values.encrypt ? ', AES-128' : ''}, ${durationSeconds} s\n`);
      for (const m of measured) io.stdout(`  ${m.name.padEnd(6)} ${(m.resolution ?? 'audio').padEnd(10)} ${String(Math.round(m.averageBandwidth / 1000)).padStart(6)} kbit/s avg, ${String(Math.round(m.bandwidth / 1000)).padStart(6)} peak  ${m.codecs}\n`);
      io.stdout(`  checked: ${check.files} files walk cleanly; ${publishTo === 's3' && !hasMediaDir ? `no media folder, so add it to the gateway's catalog: hls-gate catalog add ${id}` : 'catalog.json updated'}. Play it at /?video=${id}\n`);
    }
    return 0;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (interrupted) {
      io.stderr('hls-gate: packaging interrupted; nothing was changed in the media folder\n');
      return 130;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Leftover temporary folders of an interrupted run that could not clean up (kill -9): listed for the operator. */
export function leftovers(mediaDir: string): string[] {
  return existsSync(mediaDir) ? readdirSync(mediaDir).filter((f) => f.startsWith('.package-')) : [];
}

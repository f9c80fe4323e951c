import { open, mkdtemp, chmod, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { sniffContainer, SNIFF_BYTES } from '../server/app/media-container.ts';
import { MASTER_PLAYLIST, PACKAGING_PREFIX, VIDEO_ID, originKey } from '../server/app/layout.ts';
import type { CatalogEntry } from '../server/app/catalog.ts';
import { PackageError } from './errors.ts';
import {
  findTools,
  ffmpegInput,
  probe,
  runFfmpeg,
  type InputMode,
  type Placement,
  type Probe,
  type Tools,
} from './ffmpeg.ts';
import { chooseLadder, ffmpegArgs, DEFAULT_LADDER, type Rendition } from './ladder.ts';
import { KEY_FILE, encryptPlaylist, writeKey } from './encrypt.ts';
import { masterPlaylist, measureRendition, withPadding, type MeasuredRendition } from './master.ts';
import { addQueryParams } from './query-params.ts';
import { checkPackage } from './check.ts';
import { readCatalogFile, upsertEntry } from './catalog-file.ts';
import { publishR2, publishS3 } from './publish.ts';

// The packager: one source file to a gated HLS ladder (renditions, master playlist, poster, optional AES-128 and
// query-parameter playlists), checked the way a player walks it, then published with its catalog entry. Used by
// `hls-gate package` (a trusted local file) and by the gateway's upload queue (a file from a stranger, `untrusted`).
// Everything is built in a hidden temporary folder (inside the media folder when that is the destination, so the
// final move is one rename; the gateway never serves a name starting with "."); a failure or an abort removes it and
// leaves the media folder and catalog.json as they were. Asynchronous throughout: ffmpeg and ffprobe are child
// processes with deadlines, files are read with fs/promises, and an AbortSignal stops a job.

export { PackageError, PACKAGE_FAILURES, type PackageFailure } from './errors.ts';
export type { Placement } from './ffmpeg.ts';
export { DEFAULT_LADDER, parseLadder } from './ladder.ts';

/** Where the packaged video goes. */
export type PublishTarget =
  | { to: 'local'; mediaDir: string; replace?: boolean }
  /** `url` is `s3://bucket[/prefix]`; the catalog entry goes into `mediaDir`'s catalog.json when given. */
  | { to: 's3'; url: string; endpoint?: string; mediaDir?: string; replace?: boolean }
  | { to: 'r2'; bucket: string; remote: boolean; persistTo: string; replace?: boolean };

/** Limits for a file from a stranger; passing any of them is a `PackageError` and nothing is published. */
export interface SourceLimits {
  /** Longest source accepted (seconds), refused before transcoding. */
  maxSeconds: number;
  /** Largest frame accepted. */
  maxWidth: number;
  maxHeight: number;
  /** Wall time allowed for the transcode: `wallBaseSeconds + wallFactor * duration`. */
  wallBaseSeconds: number;
  wallFactor: number;
  /** Output bytes allowed; default twice the ladder's bit rate ceilings over the source's duration, plus 64 MB. */
  maxOutputBytes?: number;
}

export interface PackageOptions {
  /** The video ID (its URL is `/videos/<id>/`). */
  id: string;
  title?: string;
  description?: string;
  /** Heights wanted (never upscaled); default 1080, 720, 480, 360. */
  ladder?: number[];
  format?: 'ts' | 'cmaf';
  segmentSeconds?: number;
  /** An x264 preset; default veryfast. */
  preset?: string;
  encrypt?: boolean;
  /** Playlists that carry the grant's query parameters (EXT-X-DEFINE:QUERYPARAM), for CloudFront in front. */
  queryParams?: boolean;
  publish: PublishTarget;
  /** Where the tools are found (PATH, FFMPEG_PATH, FFPROBE_PATH) and S3 credentials (AWS_*). */
  env?: Record<string, string | undefined>;
  /**
   * The source comes from a stranger: its container must be on the allow-list (`sniffContainer`), it is read only
   * as that container and only from the file itself, and these limits apply.
   */
  untrusted?: SourceLimits;
  /** Where ffmpeg runs: a nice increment and a CPU list, to keep a job off a server's CPUs. */
  placement?: Placement;
}

export interface PackageHooks {
  signal?: AbortSignal;
  /** How far the transcode is (0..1). */
  onProgress?: (fraction: number) => void;
  /** Something worth telling the person packaging (a rung of the ladder skipped). */
  onNote?: (text: string) => void;
  /** A file published to S3 or R2 (its key). */
  onFile?: (key: string) => void;
}

export interface PackageReport {
  id: string;
  /** Where it was published: a folder, `s3://...videos/<id>/`, or `r2://...`. */
  folder: string;
  format: 'ts' | 'cmaf';
  encrypted: boolean;
  segmentSeconds: number;
  durationSeconds: number;
  renditions: MeasuredRendition[];
  files: number;
  seconds: number;
  ffmpegSeconds: number;
  /** Heights asked for that the source is too small for. */
  dropped: number[];
  /** The catalog entry written. */
  entry: CatalogEntry;
}

const AUDIO_BYTES_PER_SECOND = (128 * 1000) / 8;

/** Output bytes a transcode may reach: its bit rate ceilings over the source's duration, with room for overhead. */
function outputCeiling(renditions: Rendition[], durationSeconds: number): number {
  const perSecond = renditions.reduce(
    (sum, r) => sum + (r.videoKbps * 1.1 * 1000) / 8 + AUDIO_BYTES_PER_SECOND,
    renditions.length ? 0 : AUDIO_BYTES_PER_SECOND,
  );
  return 64 * 1024 * 1024 + Math.ceil(perSecond * 2 * durationSeconds);
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (e.isFile())
      total += await stat(join(e.parentPath, e.name)).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}

/** The first bytes of the source decide what it is read as (a stranger's file), or nothing is decided (trusted). */
async function inputMode(file: string, untrusted: SourceLimits | undefined): Promise<InputMode> {
  if (!untrusted) return { confined: false };
  const handle = await open(file, 'r').catch(() => null);
  if (!handle) throw new PackageError('unreadable', `cannot open ${file}`);
  try {
    const head = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    const demuxer = sniffContainer(head.subarray(0, bytesRead));
    if (!demuxer) throw new PackageError('not-a-video', `${file} does not start like an allowed container`);
    return { confined: true, demuxer };
  } finally {
    await handle.close();
  }
}

function checkLimits(source: Probe, limits: SourceLimits): void {
  if (!(source.durationSeconds > 0)) throw new PackageError('unreadable', 'the source has no duration');
  if (source.durationSeconds > limits.maxSeconds)
    throw new PackageError(
      'too-long',
      `${Math.round(source.durationSeconds)} s is over the limit of ${limits.maxSeconds} s`,
    );
  if (source.video && (source.video.width > limits.maxWidth || source.video.height > limits.maxHeight)) {
    throw new PackageError(
      'frame-too-large',
      `${source.video.width}x${source.video.height} is over ${limits.maxWidth}x${limits.maxHeight}`,
    );
  }
}

async function poster(
  tools: Tools,
  input: string[],
  dir: string,
  durationSeconds: number,
  signal?: AbortSignal,
): Promise<void> {
  const at = Math.min(Math.max(0, durationSeconds * 0.1), 10);
  await runFfmpeg(
    tools,
    [
      '-y',
      '-ss',
      at.toFixed(2),
      ...input,
      '-frames:v',
      '1',
      '-vf',
      'scale=-2:min(ih\\,720)',
      '-q:v',
      '3',
      join(dir, 'poster.jpg'),
    ],
    () => {},
    { ...(signal ? { signal } : {}), timeoutMs: 60_000 },
  );
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * Packages `source` into an HLS ladder and publishes it. Resolves with what was made; rejects with a `PackageError`
 * (its `code` and `message` safe to show anyone, its `detail` for the operator) and then nothing was published.
 */
export async function packageVideo(
  source: string,
  options: PackageOptions,
  hooks: PackageHooks = {},
): Promise<PackageReport> {
  const { id, publish } = options;
  if (!VIDEO_ID.test(id)) throw new TypeError('packageVideo: id must be 1 to 64 letters, digits, "-" or "_"');
  const format = options.format ?? 'ts';
  const segmentSeconds = options.segmentSeconds ?? 4;
  const preset = options.preset ?? 'veryfast';
  const encrypt = options.encrypt ?? false;
  const { signal } = hooks;
  const aborted = () => {
    if (signal?.aborted) throw new PackageError('aborted');
  };
  const started = Date.now();
  const mediaDir = publish.to === 'local' ? publish.mediaDir : publish.to === 's3' ? publish.mediaDir : undefined;
  const target = publish.to === 'local' ? join(publish.mediaDir, id) : undefined;
  const replace = publish.replace ?? false;
  // Never overwrite a video published here or listed in the catalog (which names videos published elsewhere too).
  if (!replace && target && (await exists(target)))
    throw new PackageError('exists', `${target} already exists: choose another --id, or --replace it`);
  if (!replace && publish.to === 'local') {
    const listed = await readCatalogFile(publish.mediaDir).catch((err: unknown) => {
      throw new PackageError('publish-failed', `catalog.json cannot be read: ${(err as Error).message}`);
    });
    if (listed.some((e) => e.id === id))
      throw new PackageError('exists', `catalog.json already lists ${id}: choose another --id, or --replace it`);
  }

  const tools = findTools(options.env ?? process.env, options.placement);
  const mode = await inputMode(source, options.untrusted);
  const probed = await probe(tools, source, mode, signal);
  if (!probed.video && !probed.audio) throw new PackageError('no-streams', `${source} has neither video nor audio`);
  if (options.untrusted) checkLimits(probed, options.untrusted);
  const { renditions, dropped } = chooseLadder(probed, options.ladder ?? DEFAULT_LADDER);
  if (dropped.length > 0)
    hooks.onNote?.(
      `${dropped.map((h) => `${h}p`).join(', ')} skipped: the source is ${probed.video?.height}p and is never upscaled`,
    );
  // A stranger's file is read no longer than it said it was (a lying header cannot make the job run on).
  const input = mode.confined
    ? ['-t', String(Math.ceil(probed.durationSeconds + 2)), ...ffmpegInput(source, mode)]
    : ffmpegInput(source, mode);
  aborted();

  const tmp = await mkdtemp(join(publish.to === 'local' ? publish.mediaDir : tmpdir(), `${PACKAGING_PREFIX}${id}-`));
  await chmod(tmp, 0o755); // mkdtemp makes it private; the gateway may run as another user
  try {
    const limits = options.untrusted;
    const ceiling = limits?.maxOutputBytes ?? outputCeiling(renditions, probed.durationSeconds);
    const ffmpegStarted = Date.now();
    await runFfmpeg(
      tools,
      ffmpegArgs(input, tmp, probed, renditions, { format, segmentSeconds, preset }),
      (t) => hooks.onProgress?.(probed.durationSeconds > 0 ? Math.min(1, t / probed.durationSeconds) : 0),
      {
        ...(signal ? { signal } : {}),
        ...(limits
          ? {
              timeoutMs: (limits.wallBaseSeconds + limits.wallFactor * probed.durationSeconds) * 1000,
              watch: async () =>
                (await folderBytes(tmp)) > ceiling
                  ? new PackageError('output-too-large', `the output passed ${ceiling} bytes`)
                  : null,
            }
          : {}),
      },
    );
    const ffmpegSeconds = (Date.now() - ffmpegStarted) / 1000;
    // Checked once more at the end: a job faster than the watch's interval is bound by the same ceiling.
    if (limits && (await folderBytes(tmp)) > ceiling)
      throw new PackageError('output-too-large', `the output passed ${ceiling} bytes`);
    hooks.onProgress?.(1);
    aborted();

    const names = renditions.length > 0 ? renditions.map((r) => r.name) : ['audio'];
    let measured: MeasuredRendition[] = [];
    for (const n of names) measured.push(await measureRendition(tools, tmp, n, true, signal));
    if (encrypt) {
      const key = await writeKey(tmp);
      for (const n of names) await encryptPlaylist(join(tmp, n, 'index.m3u8'), key, `../${KEY_FILE}`);
      measured = measured.map((m) => withPadding(m, segmentSeconds));
    }
    await writeFile(join(tmp, MASTER_PLAYLIST), masterPlaylist(measured, format));
    if (options.queryParams)
      for (const p of [MASTER_PLAYLIST, ...names.map((n) => `${n}/index.m3u8`)]) await addQueryParams(join(tmp, p));
    if (probed.video) await poster(tools, input, tmp, probed.durationSeconds, signal);
    aborted();

    const check = await checkPackage(tmp, encrypt);
    if (check.problems.length > 0)
      throw new PackageError(
        'check-failed',
        `the packaged stream does not walk cleanly:\n  ${check.problems.join('\n  ')}`,
      );

    const durationSeconds = Math.round(Math.max(...measured.map((m) => m.durationSeconds)) * 100) / 100;
    const entry: CatalogEntry = { id, title: options.title ?? id, playlist: MASTER_PLAYLIST, durationSeconds };
    if (options.description) entry.description = options.description;
    if (probed.video) entry.poster = 'poster.jpg';
    let folder: string;
    if (publish.to === 'local') {
      folder = target!;
      // Into place with renames only; the old version (with replace) is removed after the new one is live.
      const old = replace && (await exists(target!)) ? `${tmp}-old` : undefined;
      if (old) await rename(target!, old);
      try {
        await rename(tmp, target!);
      } catch (err) {
        if (old) await rename(old, target!);
        throw new PackageError('exists', `${target} appeared while packaging: ${(err as Error).message}`);
      }
      try {
        await upsertEntry(publish.mediaDir, entry);
      } catch (err) {
        await rename(target!, tmp);
        if (old) await rename(old, target!);
        throw new PackageError('publish-failed', `catalog.json could not be updated: ${(err as Error).message}`);
      }
      if (old) await rm(old, { recursive: true, force: true });
    } else if (publish.to === 's3') {
      await publishS3(
        tmp,
        id,
        {
          url: publish.url,
          ...(publish.endpoint ? { endpoint: publish.endpoint } : {}),
          env: options.env ?? process.env,
        },
        replace,
        hooks.onFile ?? (() => {}),
      );
      folder = `${publish.url.replace(/\/$/, '')}/${originKey(id, '')}`;
      // The gateway that issues the grants lists the video from its own catalog.
      if (mediaDir) await upsertEntry(mediaDir, entry);
      await rm(tmp, { recursive: true, force: true });
    } else {
      await publishR2(
        tmp,
        id,
        { bucket: publish.bucket, remote: publish.remote, persistTo: publish.persistTo },
        entry,
        replace,
        options.env ?? process.env,
        hooks.onFile ?? (() => {}),
      );
      folder = `r2://${publish.bucket}/${id}/ (${publish.remote ? 'remote' : `local, ${publish.persistTo}`})`;
      await rm(tmp, { recursive: true, force: true });
    }
    return {
      id,
      folder,
      format,
      encrypted: encrypt,
      segmentSeconds,
      durationSeconds,
      renditions: measured,
      files: check.files + (probed.video ? 1 : 0),
      seconds: Math.round((Date.now() - started) / 100) / 10,
      ffmpegSeconds: Math.round(ffmpegSeconds * 10) / 10,
      dropped,
      entry,
    };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (err instanceof PackageError) throw err;
    throw new PackageError(
      signal?.aborted ? 'aborted' : 'encode-failed',
      err instanceof Error ? err.message : String(err),
    );
  }
}

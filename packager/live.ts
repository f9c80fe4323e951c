import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MASTER_PLAYLIST, VIDEO_ID } from '../server/app/layout.ts';
import type { CatalogEntry } from '../server/app/catalog.ts';
import { PackageError } from './errors.ts';
import { findTools, probe, runTool, type Tools } from './ffmpeg.ts';
import { chooseLadder, encodeArgs, type Rendition } from './ladder.ts';
import { masterPlaylist, measureRendition } from './master.ts';
import { readCatalogFile, updateCatalog, upsertEntry } from './catalog-file.ts';
import { startRtmpGate } from './rtmp-gate.ts';
import { startMirror, type LiveSink, type Mirror } from './live-publish.ts';
import { createServer } from 'node:net';
import { LlStream } from './ll/stream.ts';
import type { PartWritten } from './ll/writer.ts';

// Live ingest: one ffmpeg run (or several, when an encoder reconnects) writes a live ABR ladder straight into the
// media folder, where the gateway serves it as it grows (app/freshness.ts keeps a live playlist fresh). The ladder
// and the encoder settings are the packager's own (ladder.ts); the master playlist is written once the first
// segment of every rendition exists, measured as the packager measures (master.ts). While it runs the catalog marks
// the video live; at the end every playlist gets EXT-X-ENDLIST and the video stays as an on-demand recording (the
// window that is left, or the whole event with `dvr`), or is removed.
//
// An encoder that drops and comes back within `graceSeconds` continues the same stream: ffmpeg starts again with
// `append_list` (numbering goes on from the playlist) and `discont_start` (EXT-X-DISCONTINUITY before the first new
// segment, RFC 8216 section 4.3.2.3), and playlists are written without EXT-X-ENDLIST (`omit_endlist`) until the
// stream has really ended. https://ffmpeg.org/ffmpeg-formats.html#hls-2

/** Where the live source comes from. */
export type LiveInput =
  /** An RTMP push (OBS: Server `rtmp://host:port/<app>`, Stream Key `key`), checked by rtmp-gate.ts. */
  | { kind: 'rtmp'; host: string; port: number; app: string; key: string }
  /** An SRT caller, encrypted and authenticated with a passphrase by libsrt itself. */
  | { kind: 'srt'; host: string; port: number; passphrase: string }
  /**
   * Anything ffmpeg reads: a local file is played in real time (`-re`), a URL or a device as it comes; `format` is
   * ffmpeg's `-f` for devices and generated sources (`v4l2`, `lavfi`: the latter also paced in real time).
   */
  | { kind: 'other'; input: string; format?: string };

export interface LiveOptions {
  id: string;
  title?: string;
  input: LiveInput;
  mediaDir: string;
  /** Heights wanted (never above the source); default 720, 360. */
  ladder?: number[];
  /** Default 2. */
  segmentSeconds?: number;
  /** Segments in a live playlist (a sliding window); default 6. Ignored with `dvr`. */
  window?: number;
  /** Keep every segment (an event playlist): the recording is the whole event. */
  dvr?: boolean;
  /** How long a dropped encoder may take to come back; default 30 s. */
  graceSeconds?: number;
  /** Remove the video at the end instead of keeping the recording. */
  removeAtEnd?: boolean;
  /** Replace a video with this ID that is not live. */
  replace?: boolean;
  /** Also publish it, as it is written, to S3 or R2 (live-publish.ts); the media folder is the working copy. */
  publish?: LiveSink;
  preset?: string;
  /**
   * Low-latency HLS (ll/): fMP4 parts of `partTarget` seconds (default 1/3), preload hints, blocking reload
   * announced; the window defaults to 12 segments so that a delta update has something to skip.
   */
  lowLatency?: boolean;
  partTarget?: number;
  /** Low latency: told of every part written (the encoder's own delay is measured from it). */
  onPart?: PartWritten;
  env?: Record<string, string | undefined>;
}

/** PART-TARGET unless asked otherwise: ten frames at 30 fps; ffmpeg cuts at 90% of it (ll/stream.ts). */
export const DEFAULT_PART_TARGET = 1 / 3;

export type LiveState = 'waiting' | 'live' | 'reconnecting' | 'ended';

export interface LiveStatus {
  state: LiveState;
  /** Output bit rate of the ladder, kbit/s (ffmpeg's own measure). */
  kbps: number;
  frames: number;
  /** Segments written so far, per rendition. */
  segments: number;
}

export interface LiveHooks {
  signal?: AbortSignal;
  onStatus?: (status: LiveStatus) => void;
  onNote?: (text: string) => void;
}

export interface LiveReport {
  id: string;
  folder: string;
  renditions: string[];
  segments: number;
  /** How it ended: the source ended, the encoder did not come back in time, or it was stopped (Ctrl-C). */
  ended: 'source-ended' | 'grace-expired' | 'stopped';
  /** Kept as an on-demand recording (false: removed, or nothing was ever written). */
  recording: boolean;
}

export const DEFAULT_LIVE_LADDER = [720, 360];

/** Quiet, progress on standard output (progressReader). */
const FFMPEG_PREFIX = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-progress', 'pipe:1', '-nostats', '-y'];

/** The arguments of one ffmpeg run; `resumed` after a reconnection. */
export function liveArgs(
  input: string[],
  folder: string,
  renditions: Rendition[],
  audio: boolean,
  o: { segmentSeconds: number; window: number; dvr: boolean; preset: string; capAtSource: boolean; resumed: boolean },
): string[] {
  const encode = encodeArgs(renditions, audio, { ...o, tune: 'zerolatency' });
  const flags = ['independent_segments', 'program_date_time', 'temp_file', 'omit_endlist'];
  if (!o.dvr) flags.push('delete_segments');
  if (o.resumed) flags.push('append_list', 'discont_start');
  return [
    ...FFMPEG_PREFIX,
    ...input,
    ...encode.args,
    ...['-f', 'hls', '-hls_time', String(o.segmentSeconds)],
    ...(o.dvr ? ['-hls_playlist_type', 'event', '-hls_list_size', '0'] : ['-hls_list_size', String(o.window)]),
    ...['-hls_flags', flags.join('+'), '-hls_segment_type', 'mpegts'],
    ...['-hls_segment_filename', `${folder}/%v/seg_%05d.ts`, '-var_stream_map', encode.streams.join(' ')],
    `${folder}/%v/index.m3u8`,
  ];
}

/** ffmpeg's input arguments for one run: a listener waits `waitSeconds` for its encoder (undefined: for ever). */
function inputArgs(input: LiveInput, upstreamPort: number, waitSeconds: number | undefined): string[] {
  switch (input.kind) {
    case 'rtmp':
      // ffmpeg listens on loopback only, behind the key check; the stream name it is given is not the key (ffmpeg
      // ignores it, and a command line is visible to every user of the machine).
      return [
        ...['-rtmp_listen', '1', '-timeout', String(waitSeconds ?? -1)],
        ...['-i', `rtmp://127.0.0.1:${upstreamPort}/${input.app}/stream`],
      ];
    case 'srt': {
      const wait = waitSeconds === undefined ? '' : `&listen_timeout=${Math.round(waitSeconds * 1_000_000)}`;
      // libsrt takes the passphrase from the URL: https://ffmpeg.org/ffmpeg-protocols.html#srt
      return ['-i', `srt://${input.host}:${input.port}?mode=listener&passphrase=${input.passphrase}${wait}`];
    }
    case 'other': {
      const paced =
        input.format === 'lavfi' || (!input.format && existsSync(input.input) && statSync(input.input).isFile());
      return [...(paced ? ['-re'] : []), ...(input.format ? ['-f', input.format] : []), '-i', input.input];
    }
  }
}

/** Which renditions, and whether the source has audio: probed when it can be read ahead, else the ladder as asked. */
async function planLadder(
  tools: Tools,
  input: LiveInput,
  wanted: number[],
): Promise<{ renditions: Rendition[]; audio: boolean; capAtSource: boolean }> {
  if (input.kind === 'other' && !input.format && existsSync(input.input)) {
    const p = await probe(tools, input.input);
    if (!p.video && !p.audio) throw new PackageError('no-streams', input.input);
    return { renditions: chooseLadder(p, wanted).renditions, audio: Boolean(p.audio), capAtSource: false };
  }
  // A push is not there yet: the ladder as asked, each rendition capped at the source's height when it arrives.
  const top = Math.max(...wanted);
  const assumed = { durationSeconds: 0, video: { width: (top * 16) / 9, height: top, fps: 30, codec: 'h264' } };
  return { renditions: chooseLadder(assumed, wanted).renditions, audio: true, capAtSource: true };
}

/** Reads ffmpeg's `-progress` lines (key=value) into the status. */
function progressReader(status: LiveStatus, onFrames: () => void): (line: string) => void {
  return (line) => {
    const [key, value = ''] = line.split('=');
    if (key === 'frame' && Number(value) > 0) {
      status.frames = Number(value);
      onFrames();
    }
  };
}

/**
 * The ladder's output bit rate, from the newest segment of every rendition (its size over its duration): ffmpeg's
 * own `bitrate` is N/A when it writes many files.
 */
async function outputKbps(folder: string, renditions: Rendition[]): Promise<number> {
  let bits = 0;
  for (const r of renditions) {
    const text = await readFile(join(folder, r.name, 'index.m3u8'), 'utf8').catch(() => '');
    const lines = text.trim().split('\n').reverse();
    const uri = lines.find((l) => l && !l.startsWith('#'));
    const duration = Number(/^#EXTINF:([\d.]+)/.exec(lines.find((l) => l.startsWith('#EXTINF:')) ?? '')?.[1]);
    if (!uri || !(duration > 0)) continue;
    const size = await stat(join(folder, r.name, uri.trim())).then(
      (s) => s.size,
      () => 0,
    );
    bits += (size * 8) / duration;
  }
  return Math.round(bits / 1000);
}

/** Segments written so far by a rendition: the playlist's media sequence plus the segments it lists. */
async function segmentsWritten(folder: string, name: string): Promise<number> {
  const text = await readFile(join(folder, name, 'index.m3u8'), 'utf8').catch(() => '');
  const sequence = Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)/m.exec(text)?.[1] ?? 0);
  const listed = text.split('\n').filter((l) => l.startsWith('#EXTINF')).length;
  return listed === 0 ? 0 : sequence + listed;
}

/** A free port on loopback for ffmpeg's own listener (behind the key check). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** The master playlist, once every rendition has its first segment: written once, atomically. */
async function writeMaster(
  tools: Tools,
  folder: string,
  renditions: Rendition[],
  audio: boolean,
  format: 'ts' | 'cmaf',
): Promise<boolean> {
  for (const r of renditions) if ((await segmentsWritten(folder, r.name)) === 0) return false;
  const measured = [];
  for (const r of renditions) {
    const m = await measureRendition(tools, folder, r.name, true);
    // A live rendition's peak is not known from one segment: its encoder's ceiling (maxrate) is announced instead.
    const ceiling = Math.ceil((r.videoKbps * 1.1 + (audio ? 128 : 0)) * 1000);
    measured.push({ ...m, bandwidth: Math.max(m.bandwidth, ceiling), averageBandwidth: m.averageBandwidth });
  }
  await writeAtomically(join(folder, MASTER_PLAYLIST), masterPlaylist(measured, format));
  return true;
}

/** Every rendition's playlist gets EXT-X-ENDLIST: the live stream is now a finished recording. */
async function finish(folder: string, renditions: Rendition[]): Promise<number> {
  let segments = 0;
  for (const r of renditions) {
    const path = join(folder, r.name, 'index.m3u8');
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text === null) continue;
    segments = Math.max(segments, await segmentsWritten(folder, r.name));
    // ffmpeg deletes a segment only a little after it leaves the window (hls_delete_threshold): the recording keeps
    // exactly what its playlist names.
    const named = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')));
    for (const file of await readdir(join(folder, r.name)).catch(() => [] as string[]))
      if (/^seg_\d+\.ts$/.test(file) && !named.has(file)) await rm(join(folder, r.name, file), { force: true });
    if (!/^#EXT-X-ENDLIST\s*$/m.test(text))
      await writeAtomically(path, `${text.replace(/\n?$/, '\n')}#EXT-X-ENDLIST\n`);
  }
  return segments;
}

/** The folder is free, or holds a video that may be replaced; a video that is live now is never replaced. */
async function claimFolder(options: LiveOptions, folder: string): Promise<void> {
  const entry = (await readCatalogFile(options.mediaDir)).find((e) => e.id === options.id);
  if (entry?.live) throw new PackageError('exists', `${options.id} is live now (another hls-gate live?)`);
  if ((entry || existsSync(folder)) && !options.replace)
    throw new PackageError('exists', `${folder} exists: choose another ID, or --replace`);
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder, { recursive: true });
}

/** Runs a live stream until its source ends, its encoder does not come back in time, or `hooks.signal` aborts. */
export async function runLive(options: LiveOptions, hooks: LiveHooks = {}): Promise<LiveReport> {
  if (!VIDEO_ID.test(options.id)) throw new PackageError('publish-failed', `not a video ID: ${options.id}`);
  const tools = findTools(options.env ?? process.env);
  const folder = join(options.mediaDir, options.id);
  const plan = await planLadder(tools, options.input, options.ladder ?? DEFAULT_LIVE_LADDER);
  await claimFolder(options, folder);
  const entry = { id: options.id, title: options.title ?? options.id, playlist: MASTER_PLAYLIST, live: true };
  await upsertEntry(options.mediaDir, entry);
  const mirror = options.publish ? await startPublishing(options, options.publish, entry, hooks) : undefined;
  const status: LiveStatus = { state: 'waiting', kbps: 0, frames: 0, segments: 0 };
  let ended: LiveReport['ended'];
  const upstreamPort = options.input.kind === 'rtmp' ? await freeLoopbackPort() : 0;
  const gate = options.input.kind === 'rtmp' ? await openGate(options.input, upstreamPort, hooks) : undefined;
  const ll = options.lowLatency ? lowLatencyStream(options, folder, plan.renditions) : undefined;
  await ll?.prepare();
  try {
    ended = await ingest(options, hooks, { tools, folder, plan, status, upstreamPort, ...(ll ? { ll } : {}) });
  } finally {
    await gate?.close();
  }
  return await wrapUp(options, hooks, {
    folder,
    plan,
    status,
    ended,
    ...(mirror ? { mirror } : {}),
    ...(ll ? { ll } : {}),
  });
}

function lowLatencyStream(options: LiveOptions, folder: string, renditions: Rendition[]): LlStream {
  const names = renditions.length > 0 ? renditions.map((r) => r.name) : ['audio'];
  const settings = {
    segmentSeconds: options.segmentSeconds ?? 2,
    partTarget: options.partTarget ?? DEFAULT_PART_TARGET,
    window: options.window ?? 12,
    event: options.dvr ?? false,
  };
  return new LlStream(folder, names, settings, options.onPart);
}

/** The catalog once the stream has ended: the entry kept as a recording (no longer live), or removed. */
function afterTheStream(id: string, keep: boolean): (entries: CatalogEntry[]) => CatalogEntry[] {
  if (!keep) return (entries) => entries.filter((e) => e.id !== id);
  return (entries) =>
    entries.map((e) => {
      if (e.id !== id) return e;
      const { live: _live, ...recording } = e;
      return recording;
    });
}

/** The stream's place in S3 or R2: refused when a video of that ID is there (unless replacing), marked live in R2. */
async function startPublishing(
  options: LiveOptions,
  sink: LiveSink,
  entry: CatalogEntry,
  hooks: LiveHooks,
): Promise<Mirror> {
  if (!options.replace && (await sink.exists()))
    throw new PackageError('exists', `${sink.label} already holds a video: choose another ID, or --replace`);
  await sink.catalog?.((entries) => [...entries.filter((e) => e.id !== entry.id), entry]);
  return startMirror(join(options.mediaDir, options.id), sink, (text) => hooks.onNote?.(text));
}

/** The last playlists out, then the catalog beside them: a recording, or nothing left. */
async function stopPublishing(options: LiveOptions, mirror: Mirror, keep: boolean): Promise<void> {
  const sink = options.publish!;
  await mirror.flush();
  await mirror.stop();
  if (!keep) for (const path of mirror.published()) await sink.remove(path);
  await sink.catalog?.(afterTheStream(options.id, keep));
  await sink.close();
}

function openGate(input: Extract<LiveInput, { kind: 'rtmp' }>, upstreamPort: number, hooks: LiveHooks) {
  return startRtmpGate({
    host: input.host,
    port: input.port,
    key: input.key,
    upstreamPort: () => upstreamPort,
    onRefused: (why) => hooks.onNote?.(`refused an RTMP connection: ${why}`),
  });
}

interface Running {
  tools: Tools;
  folder: string;
  plan: { renditions: Rendition[]; audio: boolean; capAtSource: boolean };
  status: LiveStatus;
  upstreamPort: number;
  /** Low latency: the writers of every rendition, kept across runs. */
  ll?: LlStream;
}

/** ffmpeg runs, one per encoder connection, until the stream has ended; returns how it ended. */
async function ingest(options: LiveOptions, hooks: LiveHooks, r: Running): Promise<LiveReport['ended']> {
  const listening = options.input.kind !== 'other';
  const grace = (options.graceSeconds ?? 30) * 1000;
  let lastFrameAt: number | undefined;
  let master = false;
  let ticking = false;
  const report = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void tick().finally(() => (ticking = false));
  }, 2000);
  const tick = async () => {
    r.status.segments = await segmentsWritten(r.folder, r.plan.renditions[0]?.name ?? 'audio');
    r.status.kbps = await outputKbps(r.folder, r.plan.renditions);
    if (!master && r.status.frames > 0)
      master = await writeMaster(r.tools, r.folder, r.plan.renditions, r.plan.audio, r.ll ? 'cmaf' : 'ts').catch(
        () => false,
      );
    hooks.onStatus?.({ ...r.status });
  };
  try {
    for (;;) {
      if (hooks.signal?.aborted) return 'stopped';
      const left = lastFrameAt === undefined ? undefined : grace - (Date.now() - lastFrameAt);
      if (left !== undefined && (!listening || left <= 0)) return listening ? 'grace-expired' : 'source-ended';
      r.status.state = lastFrameAt === undefined ? 'waiting' : 'reconnecting';
      hooks.onStatus?.({ ...r.status });
      const got = await oneRun(options, hooks, r, { resumed: lastFrameAt !== undefined, wait: left });
      if (got) lastFrameAt = Date.now();
      if (!listening && !got) throw new PackageError('unreadable', 'the source gave no frames');
    }
  } finally {
    clearInterval(report);
    await tick();
  }
}

/** One ffmpeg run; true when it got frames (an encoder was connected, or the source played). */
async function oneRun(
  options: LiveOptions,
  hooks: LiveHooks,
  r: Running,
  run: { resumed: boolean; wait: number | undefined },
): Promise<boolean> {
  let got = false;
  const input = inputArgs(
    options.input,
    r.upstreamPort,
    run.wait === undefined ? undefined : Math.max(1, run.wait / 1000),
  );
  const common = {
    segmentSeconds: options.segmentSeconds ?? 2,
    preset: options.preset ?? 'veryfast',
    capAtSource: r.plan.capAtSource,
  };
  const ll = r.ll?.run(r.plan.renditions, r.plan.audio, {
    ...common,
    partTarget: options.partTarget ?? DEFAULT_PART_TARGET,
  });
  const args = ll
    ? [...FFMPEG_PREFIX, ...input, ...ll.args]
    : liveArgs(input, r.folder, r.plan.renditions, r.plan.audio, {
        ...common,
        window: options.window ?? 6,
        dvr: options.dvr ?? false,
        resumed: run.resumed,
      });
  const onLine = progressReader(r.status, () => {
    got = true;
    r.status.state = 'live';
  });
  try {
    await runTool(r.tools, r.tools.ffmpeg, args, 'encode-failed', {
      ...(hooks.signal ? { signal: hooks.signal } : {}),
      onStdoutLine: onLine,
      ...(ll ? { outputs: ll.outputs } : {}),
    });
  } catch (err) {
    if (hooks.signal?.aborted) return got;
    // A listener that timed out or an encoder that broke off: told, and the loop decides what comes next.
    if (got || options.input.kind === 'other') hooks.onNote?.((err as PackageError).detail ?? String(err));
  }
  return got;
}

/** Every rendition finished; a writer that failed is told, and the stream still ends (the catalog, the folder). */
async function finishLowLatency(ll: LlStream, hooks: LiveHooks): Promise<number> {
  try {
    return await ll.finish();
  } catch (err) {
    hooks.onNote?.(`a low-latency rendition could not be written: ${err instanceof Error ? err.message : String(err)}`);
    return Math.max(0, ...ll.renditions.map((x) => x.written));
  }
}

async function wrapUp(
  options: LiveOptions,
  hooks: LiveHooks,
  r: {
    folder: string;
    plan: Running['plan'];
    status: LiveStatus;
    ended: LiveReport['ended'];
    mirror?: Mirror;
    ll?: LlStream;
  },
): Promise<LiveReport> {
  const segments = r.ll ? await finishLowLatency(r.ll, hooks) : await finish(r.folder, r.plan.renditions);
  const keep = segments > 0 && !options.removeAtEnd && existsSync(join(r.folder, MASTER_PLAYLIST));
  if (r.mirror) await stopPublishing(options, r.mirror, keep);
  await updateCatalog(options.mediaDir, afterTheStream(options.id, keep));
  if (!keep) await rm(r.folder, { recursive: true, force: true });
  hooks.onStatus?.({ ...r.status, state: 'ended' });
  return {
    id: options.id,
    folder: r.folder,
    renditions: r.plan.renditions.map((x) => x.name),
    segments,
    ended: r.ended,
    recording: keep,
  };
}

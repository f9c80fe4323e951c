// `hls-gate live` with an encoder simulated by ffmpeg pushing RTMP, as OBS does: a push with the wrong stream key is
// refused before any media reaches ffmpeg (and the key is never printed); the right key goes live and a viewer in
// Chromium plays; the encoder drops and reconnects within the grace period and the viewer keeps playing (the
// playlist continues with EXT-X-DISCONTINUITY); when the encoder does not come back the stream ends with
// EXT-X-ENDLIST and stays as a recording (--dvr: the whole event) whose every segment is there. An SRT caller with a
// wrong passphrase is refused by libsrt; the right one goes live.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';
import { freePort } from '../helpers/ports.ts';
import { launchBrowser } from '../e2e/browser.ts';

const KEY = 'stream-key-for-tests-0123456789';
const GRACE = 8;

/** ffmpeg as an encoder: `seconds` of test picture and tone pushed in real time to `url` (RTMP, or SRT in MPEG-TS). */
function push(url: string, seconds: number, format = 'flv'): Promise<{ code: number | null; errors: string }> {
  const ffmpeg = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=25:duration=${seconds}`],
      ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a', 'aac', '-f', format, url],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let errors = '';
  ffmpeg.stderr.on('data', (d: Buffer) => (errors += d.toString()));
  return new Promise((r) => ffmpeg.once('exit', (code) => r({ code, errors })));
}

describe('hls-gate live with an RTMP encoder', () => {
  let dir: string;
  let port: number;
  let live: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let gw: RunningGateway;
  let browser: { context: BrowserContext; close(): Promise<void> };
  let page: Page;
  const currentTime = () => page.evaluate(() => document.querySelector('video')!.currentTime);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-rtmp-'));
    port = await freePort();
    live = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/hls-gate.js'),
        ...['live', 'rtmp', '--input', `rtmp://127.0.0.1:${port}/live`, '--ladder', '360,240'],
        ...['--preset', 'ultrafast', '--dvr', '--grace', String(GRACE), '--media-dir', dir, '--metrics-port', '0'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH!, LIVE_STREAM_KEY: KEY } },
    );
    live.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    live.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((r) => live.once('exit', r));
    gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir, MEDIA_HOSTS: '127.0.0.1' }), { log: () => {} });
    browser = await launchBrowser();
    const deadline = Date.now() + 10_000;
    while (!output.includes('waiting for the source') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    if (live?.exitCode === null) live.kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a push with the wrong stream key before any media is written, and never prints the key', async () => {
    const wrong = await push(`rtmp://127.0.0.1:${port}/live/not-the-key-0123456789`, 4);
    expect(wrong.code).not.toBe(0);
    expect(output).toContain('refused an RTMP connection: a wrong stream key');
    expect(output).not.toContain('not-the-key');
    expect(existsSync(join(dir, 'rtmp', '360p', 'index.m3u8'))).toBe(false);
  }, 30_000);

  it('goes live with the right key; a reconnection within the grace period does not stop the viewer; the end leaves a recording', async () => {
    const first = push(`rtmp://127.0.0.1:${port}/live/${KEY}`, 16);
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(dir, 'rtmp', 'master.m3u8')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(join(dir, 'rtmp', 'master.m3u8')), output).toBe(true);
    const token = await viewerToken('*', { sub: 'viewer' });
    page = await browser.context.newPage();
    await page.addInitScript(`window.hlsGate = { getToken: async () => ${JSON.stringify(token)} };`);
    await page.goto(`${gw.url}/?video=rtmp`);
    await page.waitForFunction(() => document.querySelector('video')!.currentTime > 1, undefined, {
      timeout: 30_000,
    });
    expect((await first).code).toBe(0);
    // The encoder dropped; it comes back two seconds later with the same key.
    await new Promise((r) => setTimeout(r, 2000));
    const before = await currentTime();
    const second = push(`rtmp://127.0.0.1:${port}/live/${KEY}`, 14);
    await new Promise((r) => setTimeout(r, 12_000));
    const during = await currentTime();
    expect(during, output).toBeGreaterThan(before + 6);
    // The ingest as Prometheus sees it: live, writing segments at a bit rate, one reconnection.
    const metricsUrl = /metrics: (http:\/\/\S+)/.exec(output)?.[1];
    expect(metricsUrl, output).toBeDefined();
    const metrics = await (await fetch(metricsUrl!)).text();
    expect(metrics).toMatch(/^hlsgate_live_state\{state="live"\} 1$/m);
    expect(Number(/^hlsgate_live_segments_written_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(3);
    expect(Number(/^hlsgate_live_output_bits_per_second (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(10_000);
    expect(metrics).toMatch(/^hlsgate_live_reconnections_total 1$/m);
    expect((await second).code).toBe(0);
    const message = await page.evaluate(
      () => (window as unknown as { __hlsGate: { message: { title: string } | null } }).__hlsGate.message,
    );
    expect(message).toBeNull();
    // No encoder within the grace period: the stream ends and stays as a recording of the whole event.
    expect(await exited, output).toBe(0);
    expect(output).toMatch(/ended \(grace-expired\)/);
    const playlist = readFileSync(join(dir, 'rtmp', '360p', 'index.m3u8'), 'utf8');
    expect(playlist).toMatch(/#EXT-X-ENDLIST\n$/);
    expect(playlist).toContain('#EXT-X-DISCONTINUITY');
    expect(playlist).toContain('#EXT-X-PROGRAM-DATE-TIME');
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    const segments = playlist.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(segments.length).toBeGreaterThanOrEqual(12);
    for (const s of segments) expect(existsSync(join(dir, 'rtmp', '360p', s)), s).toBe(true);
    const master = readFileSync(join(dir, 'rtmp', 'master.m3u8'), 'utf8');
    expect(master).toMatch(/RESOLUTION=640x360,CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    expect(master).toMatch(/RESOLUTION=426x240,CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    const catalog = JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8')) as { videos: { live?: boolean }[] };
    expect(catalog.videos[0]!.live).toBeUndefined();
  }, 120_000);
});

describe('hls-gate live with an SRT caller', () => {
  it('refuses a wrong passphrase (libsrt), goes live with the right one, ends when the caller does not come back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-srt-'));
    const port = await freePort();
    const passphrase = 'srt-passphrase-for-tests-0123';
    let output = '';
    const live = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/hls-gate.js'),
        ...['live', 'srt', '--input', `srt://127.0.0.1:${port}`, '--ladder', '360,240', '--preset', 'ultrafast'],
        ...['--grace', '3', '--media-dir', dir],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH!, LIVE_SRT_PASSPHRASE: passphrase } },
    );
    live.stdout.on('data', (d: Buffer) => (output += d.toString()));
    live.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => live.once('exit', r));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const wrong = await push(
        `srt://127.0.0.1:${port}?passphrase=wrong-passphrase-0000000&pkt_size=1316`,
        3,
        'mpegts',
      );
      expect(wrong.code).not.toBe(0);
      expect(existsSync(join(dir, 'srt', '360p', 'index.m3u8'))).toBe(false);
      const right = await push(`srt://127.0.0.1:${port}?passphrase=${passphrase}&pkt_size=1316`, 8, 'mpegts');
      expect(right.code, right.errors).toBe(0);
      expect(await exited, output).toBe(0);
      expect(output).toMatch(/ended \(grace-expired\)/);
      expect(output).not.toContain(passphrase);
      const playlist = readFileSync(join(dir, 'srt', '360p', 'index.m3u8'), 'utf8');
      expect(playlist).toMatch(/#EXT-X-ENDLIST\n$/);
      expect(playlist.split('\n').filter((l) => l.startsWith('seg_')).length).toBeGreaterThanOrEqual(3);
    } finally {
      if (live.exitCode === null) live.kill('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

// `hls-gate package` with the real ffmpeg: a real 1280x720 source with audio, packaged as TS and CMAF, with and
// without AES-128, served by the gateway and walked file by file with a grant, played in Chromium with every
// rendition in the quality menu; audio-only and silent sources; and an interrupted run that changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { main } from '../../cli/main.ts';
import type { Io } from '../../cli/io.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { parseCatalog } from '../../server/app/catalog.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { walkStream } from '../helpers/walk.ts';
import { launchBrowser, waitForPlayback } from '../e2e/browser.ts';

const ff = (...args: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: { PATH: process.env.PATH },
    now: () => Date.now(),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

interface Report {
  renditions: {
    name: string;
    bandwidth: number;
    averageBandwidth: number;
    resolution?: string;
    codecs: string;
    frameRate?: number;
  }[];
  files: number;
  durationSeconds: number;
}

const FORMS = [
  ['ts', false],
  ['ts', true],
  ['cmaf', false],
  ['cmaf', true],
] as const;

describe('hls-gate package', () => {
  let work: string;
  let media: string;
  const reports: Record<string, Report> = {};

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'hls-gate-pkg-'));
    media = join(work, 'media');
    execFileSync('mkdir', ['-p', media]);
    ff(
      '-f',
      'lavfi',
      '-i',
      'testsrc2=duration=3:size=1280x720:rate=30',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=3:sample_rate=48000',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-shortest',
      join(work, 'source.mp4'),
    );
    for (const [format, encrypt] of FORMS) {
      const id = `${format}${encrypt ? '_aes' : ''}`;
      const out = await run([
        'package',
        join(work, 'source.mp4'),
        '--id',
        id,
        '--title',
        `Source as ${id}`,
        '--format',
        format,
        '--segment-seconds',
        '1',
        '--media-dir',
        media,
        '--json',
        ...(encrypt ? ['--encrypt'] : []),
      ]);
      expect(out.code, out.stderr).toBe(0);
      reports[id] = JSON.parse(out.stdout) as Report;
    }
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('chooses renditions from the source (never upscaled) and measures the master playlist from the output', () => {
    for (const [id, report] of Object.entries(reports)) {
      expect(report.renditions.map((r) => r.resolution)).toEqual(['1280x720', '854x480', '640x360']);
      for (const r of report.renditions) {
        expect(r.codecs).toMatch(/^avc1\.(6400|4d40)[0-9a-f]{2},mp4a\.40\.2$/); // High, or Main with constraint_set1 (x264)
        expect(r.frameRate).toBe(30);
        expect(r.bandwidth).toBeGreaterThanOrEqual(r.averageBandwidth);
      }
      const master = readFileSync(join(media, id, 'master.m3u8'), 'utf8');
      expect(master).toContain(
        `#EXT-X-STREAM-INF:BANDWIDTH=${report.renditions[0]!.bandwidth},AVERAGE-BANDWIDTH=${report.renditions[0]!.averageBandwidth},RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=30.000`,
      );
    }
    // Peak bandwidth really is the largest segment's bit rate.
    const playlist = readFileSync(join(media, 'ts', '720p/index.m3u8'), 'utf8');
    const segments = playlist.split('\n').filter((l) => l.endsWith('.ts'));
    const peak = Math.max(...segments.map((s) => readFileSync(join(media, 'ts', '720p', s)).length * 8)); // 1 s segments
    expect(reports.ts!.renditions[0]!.bandwidth).toBe(Math.ceil(peak / 1));
  });

  it('aligns keyframes: every rendition has the same segment count and durations', () => {
    for (const id of Object.keys(reports)) {
      const durations = ['720p', '480p', '360p'].map((r) =>
        readFileSync(join(media, id, r, 'index.m3u8'), 'utf8')
          .match(/#EXTINF:[\d.]+/g)!
          .join(),
      );
      expect(new Set(durations).size).toBe(1);
      expect(durations[0]!.split(',').length).toBe(3);
    }
  });

  it('writes a catalog entry with title, duration and poster, valid for the gateway; the key is never printed', () => {
    const entries = parseCatalog(readFileSync(join(media, 'catalog.json'), 'utf8'));
    expect(entries.map((e) => e.id)).toEqual(['ts', 'ts_aes', 'cmaf', 'cmaf_aes']);
    expect(entries[1]).toMatchObject({
      title: 'Source as ts_aes',
      durationSeconds: 3,
      poster: 'poster.jpg',
      playlist: 'master.m3u8',
    });
    expect(readFileSync(join(media, 'ts', 'poster.jpg')).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const key = readFileSync(join(media, 'ts_aes', 'key.key'));
    expect(key.length).toBe(16);
    expect(JSON.stringify(reports)).not.toContain(key.toString('hex'));
    expect(JSON.stringify(reports)).not.toContain(key.toString('base64'));
  });

  describe('served by the gateway', () => {
    let gw: RunningGateway;
    beforeAll(async () => {
      gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: media }), { log: () => {} });
    });
    afterAll(() => gw?.close());

    it('lists each poster as a short-lived signed URL for that file alone: no grant needed, nothing else opened', async () => {
      const res = await fetch(`${gw.url}/api/videos`, {
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      const { videos } = (await res.json()) as { videos: { id: string; posterUrl?: string }[] };
      const poster = videos.find((v) => v.id === 'ts_aes')!.posterUrl!;
      expect(poster).toMatch(
        new RegExp(`^${gw.url}/videos/ts_aes/poster\\.jpg\\?Expires=\\d+&Key-Pair-Id=K2JCJMDEHXQW5F&Signature=`),
      );
      const img = await fetch(poster);
      expect(img.status).toBe(200);
      expect(img.headers.get('Content-Type')).toBe('image/jpeg');
      expect((await fetch(poster.replace('poster.jpg', 'key.key'))).status).toBe(403);
      expect((await fetch(poster.replace('/ts_aes/', '/ts/'))).status).toBe(403);
      // Shared within a window: a second listing hands out the same URL (one signature per poster and window).
      const again = (await (
        await fetch(`${gw.url}/api/videos`, { headers: { Authorization: `Bearer ${await viewerToken(['ts_aes'])}` } })
      ).json()) as { videos: { posterUrl?: string }[] };
      expect(again.videos[0]!.posterUrl).toBe(poster);
    });

    it.each(FORMS.map(([f, e]) => `${f}${e ? '_aes' : ''}`))(
      '%s: every playlist, init segment, key and segment walks with a grant, and nothing without',
      async (id) => {
        const res = await fetch(`${gw.url}/api/videos/${id}/access`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${await viewerToken('*')}` },
        });
        const { playlistUrl } = (await res.json()) as { playlistUrl: string };
        const cookie = cookieHeader(cookiesFrom(res));
        const walked = await walkStream((url) => fetch(url, { headers: { Cookie: cookie } }), playlistUrl);
        expect(walked.filter((w) => w.res.status !== 200).map((w) => w.req.url)).toEqual([]);
        expect(new Set(walked.map((w) => w.req.url)).size).toBe(reports[id]!.files - 1); // every file but the poster
        if (id.endsWith('_aes'))
          expect(new Set(walked.filter((w) => w.req.kind === 'key').map((w) => w.req.url)).size).toBe(1);
        expect((await fetch(playlistUrl)).status).toBe(403);
      },
    );
  });

  it('plays in Chromium with every rendition in the quality menu (CMAF, AES-128)', async () => {
    const gw = await startNodeGateway({ PORT: '0', DEMO: 'true', MEDIA_DIR: media }, { log: () => {} });
    const browser: { context: BrowserContext; close(): Promise<void> } = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${gw.url}/?video=cmaf_aes`);
      const state = await waitForPlayback(page, 1.5);
      expect(state.error).toBeNull();
      expect(state.message).toBeNull();
      const options = await page.$$eval('#quality option', (os) => os.map((o) => o.textContent));
      expect(options).toHaveLength(4); // Auto + 720p, 480p, 360p
      expect(options.join(' ')).toMatch(/720/);
      expect(options.join(' ')).toMatch(/360/);
      // The catalog shows the poster (a signed URL the browser loads without any cookie).
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll<HTMLImageElement>('#catalog img.poster')].every(
            (i) => i.complete && i.naturalWidth > 0,
          ),
        undefined,
        { timeout: 10_000 },
      );
      expect(await page.$$eval('#catalog img.poster', (imgs) => imgs.length)).toBeGreaterThan(0);
    } finally {
      await browser.close();
      await gw.close();
    }
  }, 60_000);

  it('audio-only sources and video without audio', async () => {
    ff('-f', 'lavfi', '-i', 'sine=frequency=300:duration=2:sample_rate=44100', '-c:a', 'aac', join(work, 'audio.m4a'));
    ff(
      '-f',
      'lavfi',
      '-i',
      'testsrc2=duration=2:size=640x360:rate=25',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      join(work, 'silent.mp4'),
    );
    const audio = await run(['package', join(work, 'audio.m4a'), '--id', 'audio', '--media-dir', media, '--json']);
    expect(audio.code, audio.stderr).toBe(0);
    expect((JSON.parse(audio.stdout) as Report).renditions).toEqual([
      expect.objectContaining({ name: 'audio', codecs: 'mp4a.40.2' }),
    ]);
    expect(readFileSync(join(media, 'audio', 'master.m3u8'), 'utf8')).not.toContain('RESOLUTION');
    const silent = await run(['package', join(work, 'silent.mp4'), '--id', 'silent', '--media-dir', media, '--json']);
    expect(silent.code, silent.stderr).toBe(0);
    const r = JSON.parse(silent.stdout) as Report;
    expect(r.renditions.map((x) => x.resolution)).toEqual(['640x360']); // a 360p source: 1080/720/480 skipped
    expect(r.renditions[0]!.codecs).toMatch(/^avc1\.[0-9a-f]{6}$/);
  }, 60_000);

  it('refuses a missing ffmpeg with an install hint, an existing ID without --replace, and a bad ladder', async () => {
    let stderr = '';
    const io: Io = {
      stdout: () => {},
      stderr: (t) => void (stderr += t),
      env: { PATH: '/nonexistent' },
      now: () => Date.now(),
    };
    expect(await main(['package', join(work, 'source.mp4'), '--id', 'nope', '--media-dir', media], io)).toBe(2);
    expect(stderr).toMatch(/ffmpeg was not found on the PATH: install it \(Debian\/Ubuntu: apt-get install ffmpeg/);
    expect((await run(['package', join(work, 'source.mp4'), '--id', 'ts', '--media-dir', media])).stderr).toMatch(
      /already exists: choose another --id, or --replace it/,
    );
    expect(
      (await run(['package', join(work, 'source.mp4'), '--id', 'x', '--ladder', '720,abc', '--media-dir', media]))
        .stderr,
    ).toMatch(/--ladder takes heights/);
  });

  it('the player-style check names what is missing or malformed', async () => {
    const { checkPackage } = await import('../../packager/check.ts');
    const { cpSync, unlinkSync, writeFileSync } = await import('node:fs');
    const copy = join(work, 'broken');
    cpSync(join(media, 'cmaf_aes'), copy, { recursive: true });
    expect((await checkPackage(copy, true)).problems).toEqual([]);
    unlinkSync(join(copy, '480p', 'seg_0001.m4s'));
    writeFileSync(join(copy, 'key.key'), 'short');
    writeFileSync(join(copy, '720p', 'init_0.mp4'), 'not mp4'); // ffmpeg names init segments per rendition
    expect((await checkPackage(copy, true)).problems.sort()).toEqual([
      '480p/seg_0001.m4s: missing or empty',
      '720p/init_0.mp4: not an fMP4 init segment (no ftyp box)',
      'key.key: a key must be 16 bytes',
    ]);
  });

  it('an input ffmpeg cannot read fails with its reason and leaves nothing behind', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(work, 'not-a-video.mp4'), 'hello');
    const before = readdirSync(media).sort();
    const out = await run(['package', join(work, 'not-a-video.mp4'), '--id', 'junk', '--media-dir', media]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/ffprobe cannot read .*not-a-video\.mp4/);
    expect(readdirSync(media).sort()).toEqual(before);
  });

  it('Ctrl-C midway leaves the media folder and catalog.json exactly as they were', async () => {
    ff(
      '-f',
      'lavfi',
      '-i',
      'testsrc2=duration=20:size=1280x720:rate=30',
      '-f',
      'lavfi',
      '-i',
      'sine=duration=20',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-shortest',
      join(work, 'long.mp4'),
    );
    const before = { files: readdirSync(media).sort(), catalog: readFileSync(join(media, 'catalog.json'), 'utf8') };
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/hls-gate.js'),
        'package',
        join(work, 'long.mp4'),
        '--id',
        'interrupted',
        '--media-dir',
        media,
        '--preset',
        'medium',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/encoding: [1-9]0%/.test(stderr)) resolve();
      });
      void exited.then((code) =>
        reject(new Error(`packaging ended (${code}) before it could be interrupted: ${stderr}`)),
      );
    });
    expect(readdirSync(media).some((f) => f.startsWith('.package-interrupted-'))).toBe(true); // it was mid-way
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('packaging interrupted; nothing was changed in the media folder');
    expect(readdirSync(media).sort()).toEqual(before.files);
    expect(readFileSync(join(media, 'catalog.json'), 'utf8')).toBe(before.catalog);
    expect(existsSync(join(media, 'interrupted'))).toBe(false);
  }, 90_000);
});

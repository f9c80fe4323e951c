// Live streams played through the gate by real Chromium for 90 s, in every deployment at once: the Node gateway
// alone (a stream from `hls-gate live`, with grants of 20 s so the viewer's grant is renewed several times while it
// watches), nginx in front (a stream written by plain ffmpeg into the media folder: the gate must not depend on its
// own packager), and the Worker in workerd with R2 (the `hls-gate live` stream, published into the bucket as it is
// written by hls-gate's live publisher, segments before the playlists that name them). Sampled every 5 s: the video's
// time advances at every sample and the distance to the live edge never grows past 3 target durations + 2 s. Meanwhile ffmpeg records 60 s
// of the live stream from a device link (no cookies).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Miniflare } from 'miniflare';
import type { BrowserContext, Page } from 'playwright-core';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';
import { freePort } from '../helpers/ports.ts';
import { NGINX_TEST_SECRET, startNginx, type RunningNginx } from '../helpers/nginx.ts';
import { startWorkerd } from '../helpers/workerd.ts';
import { launchBrowser } from '../e2e/browser.ts';
import { startMirror, type LiveSink } from '../../packager/live-publish.ts';
import { storageKey } from '../../server/app/layout.ts';

const TARGET = 2;
const PLAY_SECONDS = 90;
const MAX_BEHIND = 3 * TARGET + 2;

interface Sample {
  t: number;
  currentTime: number;
  latency: number | null;
  renewals: number;
  live: boolean;
  message: string | null;
}

function sample(page: Page): Promise<Sample> {
  return page.evaluate(() => {
    const v = document.querySelector('video')!;
    const d = (
      window as unknown as {
        __hlsGate: {
          hls: { latency: number } | null;
          live: { live: boolean };
          grant: { renewals: number } | null;
          message: { title: string } | null;
        };
      }
    ).__hlsGate;
    const latency = d.hls?.latency;
    return {
      t: Date.now(),
      currentTime: v.currentTime,
      latency: typeof latency === 'number' && Number.isFinite(latency) ? latency : null,
      renewals: d.grant?.renewals ?? -1,
      live: d.live.live,
      message: d.message?.title ?? null,
    };
  });
}

describe('live playback in Chromium, in every deployment', () => {
  let dir: string;
  let live: ChildProcess;
  let plain: ChildProcess;
  let alone: RunningGateway;
  let judged: RunningGateway;
  let nginx: RunningNginx;
  let mf: Miniflare;
  let workerUrl: string;
  let stopMirror: () => Promise<void>;
  let browser: { context: BrowserContext; close(): Promise<void> };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-live-e2e-'));
    writeFileSync(join(dir, 'catalog.json'), '{ "videos": [ { "id": "plain", "playlist": "index.m3u8" } ] }\n');
    mkdirSync(join(dir, 'plain'));
    live = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/hls-gate.js'),
        'live',
        'event',
        '--input',
        'testsrc2=size=640x360:rate=25[out0];sine=frequency=440:sample_rate=48000[out1]',
        '--input-format',
        'lavfi',
        '--ladder',
        '360,240',
        '--preset',
        'ultrafast',
        '--segment-seconds',
        String(TARGET),
        '--media-dir',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    plain = spawn(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25'],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0'],
        ...['-f', 'hls', '-hls_time', String(TARGET), '-hls_list_size', '6'],
        ...['-hls_flags', 'delete_segments+temp_file', join(dir, 'plain', 'index.m3u8')],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    alone = await startNodeGateway(
      testEnv({
        PORT: '0',
        MEDIA_DIR: dir,
        ACCESS_TTL: '20',
        GRANT_WINDOW: '0',
        MEDIA_HOSTS: 'node.example.test,127.0.0.1',
      }),
      { log: () => {} },
    );
    const port = await freePort();
    judged = await startNodeGateway(
      testEnv({
        PORT: String(port),
        MEDIA_DIR: dir,
        SERVE_VIA_NGINX: 'true',
        NGINX_PROXY_SECRET: NGINX_TEST_SECRET,
        MEDIA_HOSTS: '127.0.0.1',
      }),
      { log: () => {} },
    );
    nginx = await startNginx({ upstream: `127.0.0.1:${port}`, mediaDir: dir, verdictCache: 1 });
    const bindings = Object.fromEntries(
      Object.entries(testEnv({ MEDIA_HOSTS: 'worker.example.test' })).filter(
        (e): e is [string, string] => typeof e[1] === 'string',
      ),
    );
    mf = await startWorkerd(bindings, mkdtempSync(join(tmpdir(), 'hls-gate-empty-')), { assets: true });
    const bucket = await mf.getR2Bucket('MEDIA');
    // The stream reaches R2 by hls-gate's own live publisher (what `hls-gate live --r2` runs), into this bucket.
    const sink: LiveSink = {
      label: 'the test bucket',
      exists: async () => false,
      put: async (path, b) =>
        void (await bucket.put(
          storageKey('event', path),
          b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer,
        )),
      remove: (path) => bucket.delete(storageKey('event', path)),
      close: async () => {},
    };
    const mirror = startMirror(join(dir, 'event'), sink, () => {});
    stopMirror = () => mirror.stop();
    // The Worker is reached through a local port that forwards to Miniflare, so Chromium can load it.
    workerUrl = (await mf.ready).href.replace(/\/$/, '');
    // The live stream is there once its master playlist is.
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(dir, 'event', 'master.m3u8')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(join(dir, 'event', 'master.m3u8'))).toBe(true);
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stopMirror?.();
    await mf?.dispose();
    await nginx?.stop();
    await judged?.close();
    await alone?.close();
    live?.kill('SIGINT');
    plain?.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 1000));
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(base: string, video: string): Promise<Page> {
    const token = await viewerToken('*', { sub: `viewer-${video}` });
    const page = await browser.context.newPage();
    await page.addInitScript(`window.hlsGate = { getToken: async () => ${JSON.stringify(token)} };`);
    await page.goto(`${base}/?video=${video}`);
    return page;
  }

  it('plays for 90 s close to the live edge: Node alone, nginx in front, workerd with R2; a device link records 60 s', async () => {
    const recording = join(dir, 'recorded.ts');
    const link = await fetch(`${alone.url}/api/videos/event/device-link`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*', { sub: 'tv' })}` },
    });
    expect(link.status).toBe(200);
    const { url: deviceUrl } = (await link.json()) as { url: string };
    const recorder = spawn(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-y', '-i', deviceUrl, '-c', 'copy', '-t', '60', recording],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let recorderErrors = '';
    recorder.stderr.on('data', (d: Buffer) => (recorderErrors += d.toString()));
    const recorded = new Promise<number | null>((r) => recorder.once('exit', r));

    // One browser, three deployments on three host names (cookies are scoped by host, not by port: on one name the
    // deployments' grants for the same video would replace each other).
    const viewers = {
      'Node alone': await open(alone.url.replace('127.0.0.1', 'node.example.test'), 'event'),
      'nginx in front': await open(nginx.url, 'plain'),
      'workerd with R2': await open(workerUrl.replace('127.0.0.1', 'worker.example.test'), 'event'),
    };
    // Playing at all first (the first segments take a moment), then 90 s of samples.
    for (const [name, page] of Object.entries(viewers)) {
      const playing = await page
        .waitForFunction(() => document.querySelector('video')!.currentTime > 1, undefined, { timeout: 40_000 })
        .then(
          () => true,
          () => false,
        );
      const diag = await page.evaluate(() => {
        const d = (window as unknown as { __hlsGate: { events: unknown[]; refusals: unknown[]; message: unknown } })
          .__hlsGate;
        return JSON.stringify({
          url: location.href,
          message: d.message,
          refusals: d.refusals,
          events: d.events.slice(-15),
        });
      });
      expect(playing, `${name} did not start: ${diag}`).toBe(true);
    }
    const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(viewers).map((k) => [k, []]));
    for (let i = 0; i <= PLAY_SECONDS / 5; i++) {
      for (const [name, page] of Object.entries(viewers)) samples[name]!.push(await sample(page));
      if (i < PLAY_SECONDS / 5) await new Promise((r) => setTimeout(r, 5000));
    }
    for (const [name, list] of Object.entries(samples)) {
      const summary = `${list.map((s) => `${s.currentTime.toFixed(1)}@${s.latency?.toFixed(1)}`).join(' ')} ${await viewers[name as keyof typeof viewers].evaluate(() => JSON.stringify((window as unknown as { __hlsGate: { message: unknown; refusals: unknown[]; events: unknown[] } }).__hlsGate, (k, v: unknown) => (k === 'hls' ? undefined : v)).slice(-3000))}`;
      expect(
        list.every((s) => s.message === null),
        `${name}: ${summary}`,
      ).toBe(true);
      expect(
        list.every((s) => s.live),
        `${name}: the player knows it is live`,
      ).toBe(true);
      for (let i = 1; i < list.length; i++)
        expect(list[i]!.currentTime, `${name}: time advances at every sample: ${summary}`).toBeGreaterThan(
          list[i - 1]!.currentTime,
        );
      expect(list.at(-1)!.t - list[0]!.t).toBeGreaterThanOrEqual(PLAY_SECONDS * 1000);
      for (const s of list)
        expect(s.latency ?? Infinity, `${name}: behind the live edge: ${summary}`).toBeLessThanOrEqual(MAX_BEHIND);
    }
    // 90 s with 20 s grants: renewed again and again while watching, never interrupted.
    expect(samples['Node alone']!.at(-1)!.renewals).toBeGreaterThanOrEqual(3);

    expect(await recorded, recorderErrors).toBe(0);
    const probe = spawnSync('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'csv=p=0',
      recording,
    ]);
    expect(Number(probe.stdout.toString())).toBeGreaterThanOrEqual(58);
  }, 240_000);

  it('the live video is listed first and marked live in the catalog', async () => {
    const res = await fetch(`${alone.url}/api/videos`, {
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    const { videos } = (await res.json()) as { videos: { id: string; live?: boolean }[] };
    expect(videos[0]).toMatchObject({ id: 'event', live: true });
    expect(videos.find((v) => v.id === 'plain')?.live).toBeUndefined();
  });

  it('ends cleanly on Ctrl-C: EXT-X-ENDLIST in every playlist, kept as a recording, no longer live', async () => {
    live.kill('SIGINT');
    const [code] = await new Promise<[number | null]>((r) => live.once('exit', (c) => r([c])));
    expect(code).toBe(0);
    for (const r of ['360p', '240p'])
      expect(readFileSync(join(dir, 'event', r, 'index.m3u8'), 'utf8')).toMatch(/#EXT-X-ENDLIST\n$/);
    const catalog = JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8')) as {
      videos: { id: string; live?: boolean }[];
    };
    expect(catalog.videos.find((v) => v.id === 'event')).toEqual({
      id: 'event',
      title: 'event',
      playlist: 'master.m3u8',
    });
  });
});

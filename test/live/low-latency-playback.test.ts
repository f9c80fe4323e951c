// A low-latency stream from `hls-gate live --low-latency` (the library it runs, in this process, so the encoder's
// own delay is measured from its writer) played by hls.js in Chromium through the gate, on the Node gateway alone
// and behind nginx at once: the frame on screen stays under 3 s behind the wall clock (median, by its
// EXT-X-PROGRAM-DATE-TIME) and the video never stops for more than a second. The 90 s run with recorded figures is
// the benchmark (npm run bench -- --only low-latency); this one plays 30 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { runLive, type LiveReport } from '../../packager/live.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { walkLive } from '../../cli/fetch-segments/live.ts';
import { freePort } from '../helpers/ports.ts';
import { NGINX_TEST_SECRET, startNginx, type RunningNginx } from '../helpers/nginx.ts';
import { launchBrowser } from '../e2e/browser.ts';
import { median, readWatch, startWatching } from '../helpers/ll-watch.ts';

const PLAY_SECONDS = 30;

describe('low-latency playback in Chromium through the gate', () => {
  let dir: string;
  let stop: AbortController;
  let running: Promise<LiveReport>;
  const encoderDelays: number[] = [];
  let alone: RunningGateway;
  let judged: RunningGateway;
  let nginx: RunningNginx;
  let browser: { context: BrowserContext; close(): Promise<void> };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-ll-e2e-'));
    writeFileSync(join(dir, 'catalog.json'), '{ "videos": [] }\n');
    stop = new AbortController();
    running = runLive(
      {
        id: 'auction',
        input: {
          kind: 'other',
          input: 'testsrc2=size=640x360:rate=30[out0];sine=frequency=440:sample_rate=48000[out1]',
          format: 'lavfi',
        },
        mediaDir: dir,
        ladder: [360, 240],
        preset: 'ultrafast',
        lowLatency: true,
        onPart: (p) => encoderDelays.push((p.writtenAt - p.endsAt) / 1000),
      },
      { signal: stop.signal },
    );
    alone = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir, MEDIA_HOSTS: 'node.example.test,127.0.0.1' }), {
      log: () => {},
    });
    const port = await freePort();
    judged = await startNodeGateway(
      testEnv({
        PORT: String(port),
        MEDIA_DIR: dir,
        SERVE_VIA_NGINX: 'true',
        NGINX_PROXY_SECRET: NGINX_TEST_SECRET,
        VERDICT_CACHE: '30',
        MEDIA_HOSTS: 'nginx.example.test,127.0.0.1',
      }),
      { log: () => {} },
    );
    nginx = await startNginx({ upstream: `127.0.0.1:${port}`, mediaDir: dir, verdictCache: 30 });
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(dir, 'auction', 'master.m3u8')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 250));
    expect(existsSync(join(dir, 'auction', 'master.m3u8'))).toBe(true);
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    stop?.abort();
    await running?.catch(() => undefined);
    await nginx?.stop();
    await judged?.close();
    await alone?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(base: string): Promise<Page> {
    const token = await viewerToken('*', { sub: `viewer-${base}` });
    const page = await browser.context.newPage();
    await page.addInitScript(`window.hlsGate = { getToken: async () => ${JSON.stringify(token)} };`);
    // Every request is counted (blocking reloads among them): room for all of them in the resource timing buffer.
    await page.addInitScript('performance.setResourceTimingBufferSize(100000);');
    await page.goto(`${base}/?video=auction`);
    return page;
  }

  it(`plays ${PLAY_SECONDS} s under 3 s behind the wall clock with no stall over 1 s, alone and behind nginx`, async () => {
    const viewers = {
      'Node alone': await open(alone.url.replace('127.0.0.1', 'node.example.test')),
      'nginx in front': await open(nginx.url.replace('127.0.0.1', 'nginx.example.test')),
    };
    for (const [name, page] of Object.entries(viewers)) {
      const playing = await page
        .waitForFunction(() => document.querySelector('video')!.currentTime > 1, undefined, { timeout: 40_000 })
        .then(
          () => true,
          () => false,
        );
      expect(playing, `${name} did not start`).toBe(true);
      await startWatching(page);
    }
    await new Promise((r) => setTimeout(r, PLAY_SECONDS * 1000));
    for (const [name, page] of Object.entries(viewers)) {
      const w = await readWatch(page);
      const summary = `${name}: median ${median(w.behind).toFixed(2)} s, max ${Math.max(...w.behind).toFixed(2)} s, stall ${w.longestStall.toFixed(2)} s, encoder ${median(encoderDelays).toFixed(3)} s`;
      expect(w.lowLatency, summary).toBe(true);
      expect(w.samples).toBeGreaterThanOrEqual(PLAY_SECONDS * 8);
      expect(w.behind.length, summary).toBeGreaterThan(PLAY_SECONDS * 8);
      expect(median(w.behind), summary).toBeLessThan(3);
      expect(w.longestStall, summary).toBeLessThanOrEqual(1);
      // hls.js asked for the next part with blocking reloads (held by the gate), several times a second.
      const blocking = await page.evaluate(
        () => performance.getEntriesByType('resource').filter((e) => /[?&]_HLS_msn=/.test(e.name)).length,
      );
      expect(blocking, summary).toBeGreaterThan(PLAY_SECONDS);
      console.log(summary);
    }
  }, 180_000);

  it('is walked by fetch-segments --live with blocking reloads, every part and segment fetched', async () => {
    const grant = await fetch(`${alone.url}/api/videos/auction/access`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*', { sub: 'walker' })}` },
    });
    const cookie = cookieHeader(cookiesFrom(grant));
    const walk = await walkLive(`${alone.url}/videos/auction/master.m3u8`, {
      seconds: 6,
      timeoutMs: 10_000,
      headersFor: () => ({ Cookie: cookie }),
    });
    const of = (kind: string) => walk.results.filter((r) => r.kind === kind);
    expect(walk.results.filter((r) => r.status !== 200)).toEqual([]);
    expect(walk.stalls).toEqual([]);
    // Two renditions, three parts a second each: the walker kept up with the parts as they were written.
    expect(of('part').length).toBeGreaterThanOrEqual(2 * 3 * 5);
    expect(of('segment').length).toBeGreaterThan(0);
    expect(walk.results.filter((r) => r.url.includes('_HLS_msn=')).length).toBeGreaterThanOrEqual(2 * 3 * 5);
  });

  it('ends on abort: every playlist finished, parts gone, a recording left', async () => {
    stop.abort();
    const report = await running;
    expect(report.recording).toBe(true);
    expect(report.segments).toBeGreaterThan(10);
    for (const r of ['360p', '240p']) {
      const text = readFileSync(join(dir, 'auction', r, 'index.m3u8'), 'utf8');
      expect(text).toMatch(/#EXT-X-ENDLIST\n$/);
      expect(text).not.toMatch(/#EXT-X-(?:PART|PRELOAD-HINT|SERVER-CONTROL)/);
      expect(readdirSync(join(dir, 'auction', r)).filter((f) => /\.\d+\.m4s$/.test(f))).toEqual([]);
    }
    const catalog = JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8')) as { videos: { live?: boolean }[] };
    expect(catalog.videos[0]?.live).toBeUndefined();
  });
});

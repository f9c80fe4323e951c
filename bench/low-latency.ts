// Low-latency HLS (issue: seconds behind the encoder). Two measurements:
// 1. Held requests: 2,000 viewers each hold a blocking playlist reload for the next part (RFC 8216bis 6.2.5.2) of a
//    rendition written by hls-gate's own writer; the gateway (the installed command, on the server core) holds them
//    all. Measured: its RSS before and while they are held (limit: +64 MB), how soon after the part is written every
//    one is answered, and other viewers' segment requests per second while the 2,000 are held against the same
//    load with nothing held (ratio, target 0.9).
// 2. Playback: `hls-gate live --low-latency` (the library, in this process) played by hls.js in Chromium for 90 s
//    through the gateway alone and behind nginx: the frame on screen behind the wall clock (median and p95, by its
//    EXT-X-PROGRAM-DATE-TIME; limit 3 s), the longest stall, and the encoder's own delay (a part's file in place
//    minus the date of its last frame) apart. Figures, not ratios: `ratio` is limit / measured (>= 1 is within).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPrivateKey, signCookies } from '../server/core/index.ts';
import { llState } from '../server/app/ll-hls.ts';
import { median, type Ratio } from './lib.ts';
import {
  JWT_SECRET,
  KEY_PAIR_ID,
  LOAD_CPU,
  MEDIA,
  RSA_PEM,
  prepareMedia,
  rssMb,
  startFrontNginx,
  startGateway,
} from './procs.ts';
import { viewerToken } from '../test/helpers/targets.ts';
import { wrk } from './wrk.ts';
import { SteppedEncoder } from '../test/helpers/ll-encoder.ts';

const HELD = 2000;
const RSS_LIMIT_MB = 64;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

async function cookiesFor(origin: string, video: string): Promise<string> {
  const key = await importPrivateKey(RSA_PEM);
  const signed = await signCookies(
    { resource: `${origin}/videos/${video}/*`, expires: Math.floor(Date.now() / 1000) + 7200 },
    { keyPairId: KEY_PAIR_ID, privateKey: key },
  );
  return Object.entries(signed)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

/** One blocking request; resolves with when its answer arrived and its status. */
function hold(url: string, cookie: string, agent: Agent, viewer: number): Promise<{ at: number; status: number }> {
  // Each viewer from its own address (all of 127.0.0.0/8 is loopback): the gateway caps what one address may hold.
  const localAddress = `127.0.${1 + Math.floor(viewer / 250)}.${1 + (viewer % 250)}`;
  return new Promise((resolve) => {
    const req = request(url, { agent, localAddress, headers: { Cookie: cookie } }, (res) => {
      res.resume();
      res.once('end', () => resolve({ at: Date.now(), status: res.statusCode ?? 0 }));
    });
    req.setTimeout(20_000, () => req.destroy());
    req.once('error', () => resolve({ at: Date.now(), status: 0 }));
    req.end();
  });
}

async function heldRequests(quick: boolean): Promise<Record<string, Ratio>> {
  prepareMedia();
  const dir = join(MEDIA, 'bench-ll');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const enc = new SteppedEncoder(dir, '360p', 20);
  await enc.write(8);
  const all = `0-${cpus().length - 1}`;
  execFileSync('taskset', ['-a', '-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
  const gw = await startGateway({}, 'll-held');
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    const cookie = await cookiesFor(gw.url, 'bench-ll');
    const segCookie = await cookiesFor(gw.url, 'bench');
    const segments = () =>
      wrk(`${gw.url}/videos/bench/seg200k.ts`, {
        seconds: quick ? 2 : 3,
        connections: 16,
        headers: { Cookie: segCookie },
      });
    const playlist = `${gw.url}/videos/bench-ll/360p/index.m3u8`;
    await segments(); // warm-up
    // Rounds alternate: nothing held, then 2,000 held (each hold lasts at most three target durations, 6 s).
    const baseline: number[] = [];
    const loaded: number[] = [];
    // RSS grows with the segment load too (its buffers are kept): each round's growth is measured across the
    // holding alone, right before the requests are opened and once they are all held.
    let growth = 0;
    let rssBefore = 0;
    let after: number[] = [];
    let answers: { at: number; status: number }[] = [];
    for (let r = 0; r < (quick ? 1 : 3); r++) {
      baseline.push((await segments()).requestsPerSec);
      const s = llState(await (await fetch(playlist, { headers: { Cookie: cookie } })).text());
      const url = `${playlist}?_HLS_msn=${s.lastMsn + 1}&_HLS_part=${s.openParts}`;
      const before = rssMb(gw.pid);
      rssBefore ||= before;
      const pending = Array.from({ length: HELD }, (_, i) => hold(url, cookie, agent, i));
      await sleep(1000);
      growth = Math.max(growth, rssMb(gw.pid) - before);
      loaded.push((await segments()).requestsPerSec);
      const writtenAt = await enc.write();
      answers = await Promise.all(pending);
      after = answers.map((a) => a.at - writtenAt);
      await sleep(500);
    }
    const failed = answers.filter((a) => a.status !== 200).length;
    if (failed > 0) throw new Error(`${failed} of ${HELD} held requests were not answered 200`);
    return {
      'low_latency.held_2000.rss_growth': {
        ratio: round(RSS_LIMIT_MB / Math.max(growth, 0.1)),
        target: 1,
        value: round(growth, 1),
        baseline: RSS_LIMIT_MB,
        unit: `MB RSS added by ${HELD} held requests, the most of any round (baseline: the limit; before ${round(rssBefore, 1)} MB)`,
      },
      'low_latency.held_2000.answered_after_part': {
        ratio: round(100 / Math.max(pct(after, 0.99), 1)),
        value: round(pct(after, 0.99), 1),
        baseline: 100,
        unit: `ms p99 from the part written to each of ${HELD} answers (max ${round(Math.max(...after), 1)}, median ${round(pct(after, 0.5), 1)}; baseline 100 ms)`,
      },
      'low_latency.held_2000.segments_while_held': {
        ratio: round(median(loaded) / median(baseline), 3),
        target: 0.9,
        value: round(median(loaded), 0),
        baseline: round(median(baseline), 0),
        spread: `${round(Math.min(...loaded.map((l, i) => l / baseline[i]!)))}-${round(Math.max(...loaded.map((l, i) => l / baseline[i]!)))}`,
        unit: `200 KB segment req/s, ${HELD} reloads held (baseline: none held)`,
      },
    };
  } finally {
    agent.destroy();
    await gw.stop();
    execFileSync('taskset', ['-a', '-p', '-c', all, String(process.pid)], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function playback(quick: boolean): Promise<Record<string, Ratio>> {
  const { runLive } = await import('../packager/live.ts');
  const { launchBrowser } = await import('../test/e2e/browser.ts');
  const { readWatch, startWatching } = await import('../test/helpers/ll-watch.ts');
  const seconds = quick ? 30 : 90;
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-bench-ll-'));
  writeFileSync(join(dir, 'catalog.json'), '{ "videos": [] }\n');
  const stop = new AbortController();
  const encoder: number[] = [];
  const running = runLive(
    {
      id: 'auction',
      input: {
        kind: 'other',
        input: 'testsrc2=size=1280x720:rate=30[out0];sine=frequency=440:sample_rate=48000[out1]',
        format: 'lavfi',
      },
      mediaDir: dir,
      ladder: [720, 360],
      preset: 'ultrafast',
      lowLatency: true,
      onPart: (p) => encoder.push((p.writtenAt - p.endsAt) / 1000),
    },
    { signal: stop.signal },
  );
  const alone = await startGateway({ MEDIA_DIR: dir, MEDIA_HOSTS: 'node.example.test,127.0.0.1' }, 'll-alone');
  const judge = await startGateway(
    { MEDIA_DIR: dir, SERVE_VIA_NGINX: 'true', VERDICT_CACHE: '30', MEDIA_HOSTS: 'nginx.example.test,127.0.0.1' },
    'll-judge',
  );
  const front = await startFrontNginx(judge.port, 30, dir);
  const browser = await launchBrowser();
  try {
    for (let i = 0; i < 240 && !(await fetch(`${alone.url}/healthz`).then(() => true)); i++) await sleep(250);
    await sleep(4000); // the master playlist is written once every rendition has a segment
    const out: Record<string, Ratio> = {};
    const pages = [];
    for (const [layout, base] of [
      ['gateway_alone', alone.url.replace('127.0.0.1', 'node.example.test')],
      ['nginx_front', front.url.replace('127.0.0.1', 'nginx.example.test')],
    ] as const) {
      const token = await viewerToken('*', { secret: JWT_SECRET, sub: `bench-${layout}`, expSeconds: 3600 });
      const page = await browser.context.newPage();
      await page.addInitScript(`window.hlsGate = { getToken: async () => ${JSON.stringify(token)} };`);
      await page.goto(`${base}/?video=auction`);
      pages.push([layout, page] as const);
    }
    for (const [, page] of pages) {
      await page.waitForFunction(() => document.querySelector('video')!.currentTime > 1, undefined, {
        timeout: 60_000,
      });
      await startWatching(page);
    }
    await sleep(seconds * 1000);
    for (const [layout, page] of pages) {
      const w = await readWatch(page);
      out[`low_latency.${layout}.behind_wall_clock`] = {
        ratio: round(3 / median(w.behind)),
        target: 1,
        value: round(median(w.behind)),
        baseline: 3,
        unit: `s median behind the wall clock over ${seconds} s (p95 ${round(pct(w.behind, 0.95))} s, longest stall ${round(w.longestStall)} s; baseline: the 3 s limit)`,
      };
    }
    // The p95: the median is within a frame of 0 (ffmpeg paces a generated source by its own clock, a little ahead
    // or behind the wall clock), so the tail is the figure that says something.
    out['low_latency.encoder_delay'] = {
      ratio: round(3 / Math.max(pct(encoder, 0.95), 0.001)),
      value: round(pct(encoder, 0.95), 3),
      baseline: 3,
      unit: `s p95 from a part's last frame to its file in place (median ${round(median(encoder), 3)} s): the encoder's own part of the delay (baseline: the 3 s limit)`,
    };
    return out;
  } finally {
    await browser.close();
    stop.abort();
    await running.catch(() => undefined);
    await front.stop();
    await judge.stop();
    await alone.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function lowLatency(quick: boolean): Promise<Record<string, Ratio>> {
  return { ...(await heldRequests(quick)), ...(await playback(quick)) };
}

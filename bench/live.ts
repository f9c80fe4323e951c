// A live event's steady load: 1,000 viewers, each with its own grant, reloading a live media playlist once per target
// duration (2 s, RFC 8216 section 6.3.4) while a writer moves the playlist on every 2 s, as a live packager does. The
// same 1,000 viewers against a finished (on-demand) playlist of the same size are the baseline, in the same rounds:
// what it costs that a live playlist must be read and judged afresh (app/freshness.ts) instead of kept for the grant.
// Measured for the gateway alone and behind nginx: the p99 answer time of the playlist (ratio: on-demand p99 / live
// p99, higher is better) and the CPU the gateway (and nginx) spent per second (on-demand / live). The load runs in
// this process on the load core; the servers on the server core.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { importPrivateKey, signCookies } from '../server/core/index.ts';
import { median, type Ratio } from './lib.ts';
import {
  KEY_PAIR_ID,
  LOAD_CPU,
  MEDIA,
  RSA_PEM,
  childPids,
  prepareMedia,
  startFrontNginx,
  startGateway,
} from './procs.ts';

const VIEWERS = 1000;
const TARGET = 2;

function livePlaylist(first: number, ended: boolean): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${TARGET}`, `#EXT-X-MEDIA-SEQUENCE:${first}`];
  for (let n = first; n < first + 6; n++) lines.push('#EXTINF:2.000000,', `seg_${String(n).padStart(5, '0')}.ts`);
  if (ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** Moves the live playlist on every target duration (a new version renamed over the old one). */
function startWriter(dir: string): () => void {
  let n = 0;
  const write = () => {
    writeFileSync(join(dir, '.index.tmp'), livePlaylist(n++, false));
    renameSync(join(dir, '.index.tmp'), join(dir, 'index.m3u8'));
  };
  write();
  const timer = setInterval(write, TARGET * 1000);
  return () => clearInterval(timer);
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz on Linux)
}

/** Every viewer polls `url` once per target duration, at its own phase, for `seconds`; answer times in ms. */
async function poll(url: string, cookies: string[], seconds: number, agent: Agent): Promise<number[]> {
  const times: number[] = [];
  let failures = 0;
  const until = performance.now() + seconds * 1000;
  const viewer = async (cookie: string, phase: number) => {
    await new Promise((r) => setTimeout(r, phase));
    while (performance.now() < until) {
      const started = performance.now();
      const status = await new Promise<number>((resolve) => {
        const req = request(url, { agent, headers: { Cookie: cookie } }, (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
        });
        req.setTimeout(10_000, () => req.destroy());
        req.once('error', () => resolve(0));
        req.end();
      });
      if (status !== 200) failures++;
      times.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, Math.max(0, TARGET * 1000 - (performance.now() - started))));
    }
  };
  await Promise.all(cookies.map((c, i) => viewer(c, (i / cookies.length) * TARGET * 1000)));
  if (failures > 0) throw new Error(`${url}: ${failures} playlist requests failed`);
  return times;
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;

export async function live(quick: boolean): Promise<Record<string, Ratio>> {
  prepareMedia();
  const liveDir = join(MEDIA, 'bench-live');
  const vodDir = join(MEDIA, 'bench-vod');
  mkdirSync(liveDir, { recursive: true });
  mkdirSync(vodDir, { recursive: true });
  writeFileSync(join(vodDir, 'index.m3u8'), livePlaylist(0, true));
  const stopWriter = startWriter(liveDir);
  // The load on its own core: this process, for the length of the suite.
  const all = `0-${cpus().length - 1}`;
  execFileSync('taskset', ['-a', '-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
  const alone = await startGateway({}, 'live-alone');
  const judge = await startGateway({ SERVE_VIA_NGINX: 'true' }, 'live-judge');
  const front = await startFrontNginx(judge.port, 1);
  const agent = new Agent({ keepAlive: true, maxSockets: VIEWERS });
  try {
    const key = await importPrivateKey(RSA_PEM);
    const expires = Math.floor(Date.now() / 1000) + 7200;
    const grants = async (origin: string, video: string) =>
      Promise.all(
        Array.from({ length: VIEWERS }, async (_, i) =>
          Object.entries(
            await signCookies(
              // Each viewer its own grant (nothing shared between viewers, as with real ones).
              { resource: `${origin}/videos/${video}/*`, expires: expires + i },
              { keyPairId: KEY_PAIR_ID, privateKey: key },
            ),
          )
            .map(([k, v]) => `${k}=${v}`)
            .join('; '),
        ),
      );
    const seconds = quick ? 6 : 12;
    const out: Record<string, Ratio> = {};
    for (const [layout, origin, pids] of [
      ['gateway_alone', alone.url, () => [alone.pid]],
      ['nginx_front', front.url, () => [judge.pid, ...childPids(front.pid)]],
    ] as const) {
      const cookies = { live: await grants(origin, 'bench-live'), vod: await grants(origin, 'bench-vod') };
      const samples = {
        live: { p99: [] as number[], cpu: [] as number[] },
        vod: { p99: [] as number[], cpu: [] as number[] },
      };
      // Warm-up: every viewer's connection opened and the gateway's code paths hot, before anything is measured.
      for (const kind of ['live', 'vod'] as const)
        await poll(`${origin}/videos/bench-${kind}/index.m3u8`, cookies[kind], TARGET * 2, agent);
      for (let round = 0; round < (quick ? 2 : 3); round++) {
        for (const kind of ['live', 'vod'] as const) {
          const before = pids().reduce((s, p) => s + cpuSeconds(p), 0);
          const t0 = performance.now();
          const times = await poll(`${origin}/videos/bench-${kind}/index.m3u8`, cookies[kind], seconds, agent);
          const cpu = (pids().reduce((s, p) => s + cpuSeconds(p), 0) - before) / ((performance.now() - t0) / 1000);
          samples[kind].p99.push(p99(times));
          samples[kind].cpu.push(cpu);
        }
      }
      const spread = (a: number[], b: number[]) => {
        const r = a.map((v, i) => v / b[i]!);
        return `${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)}`;
      };
      const entry = (value: number[], baseline: number[], unit: string): Ratio => ({
        ratio: Math.round((median(baseline) / median(value)) * 1000) / 1000,
        value: Math.round(median(value) * 100) / 100,
        baseline: Math.round(median(baseline) * 100) / 100,
        unit,
        spread: spread(baseline, value),
      });
      out[`live.${layout}.playlist_p99_vod_vs_live`] = entry(
        samples.live.p99,
        samples.vod.p99,
        'ms p99 (live; baseline on demand)',
      );
      out[`live.${layout}.cpu_vod_vs_live`] = entry(
        samples.live.cpu,
        samples.vod.cpu,
        'CPU s/s (live; baseline on demand)',
      );
    }
    return out;
  } finally {
    agent.destroy();
    stopWriter();
    await front.stop();
    await judge.stop();
    await alone.stop();
    execFileSync('taskset', ['-a', '-p', '-c', all, String(process.pid)], { stdio: 'ignore' });
  }
}

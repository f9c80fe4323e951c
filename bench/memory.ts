// Memory under load, in both Node layouts: 200 concurrent clients downloading 4 MB segments. The resident memory of
// the serving processes (the gateway; behind nginx, the gateway and nginx's worker) is sampled every 50 ms while
// wrk runs in the background, and compared with their idle memory. Reported as (idle + 64 MB) / peak: at least 1
// means the peak stayed within the budget. Any error or timeout fails the run.
import { importPrivateKey, signCookies } from '../server/core/index.ts';
import type { Ratio } from './lib.ts';
import { KEY_PAIR_ID, RSA_PEM, childPids, prepareMedia, rssMb, startFrontNginx, startGateway } from './procs.ts';
import { wrk } from './wrk.ts';

const BUDGET_MB = 64;

async function underLoad(
  origin: string,
  pids: () => number[],
  seconds: number,
): Promise<{ idle: number; peak: number; samples: number; mbPerSec: number; errors: number }> {
  const key = await importPrivateKey(RSA_PEM);
  const cookies = await signCookies(
    { resource: `${origin}/videos/bench/*`, expires: Math.floor(Date.now() / 1000) + 3600 },
    { keyPairId: KEY_PAIR_ID, privateKey: key },
  );
  const cookie = Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
  const total = () => pids().reduce((sum, pid) => sum + rssMb(pid), 0);
  await wrk(`${origin}/videos/bench/index.m3u8`, { seconds: 1, connections: 4, headers: { Cookie: cookie } }); // warm-up
  await new Promise((r) => setTimeout(r, 1000));
  const idle = total();
  let peak = idle;
  let samples = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, total());
    samples++;
  }, 50);
  const load = await wrk(`${origin}/videos/bench/seg4m.ts`, {
    seconds,
    connections: 200,
    headers: { Cookie: cookie },
    timeoutSeconds: 30,
  });
  clearInterval(sampler);
  if (samples < seconds * 10)
    throw new Error(`memory: only ${samples} samples in ${seconds} s: the sampler did not run`);
  return { idle, peak, samples, mbPerSec: load.mbPerSec, errors: load.non2xx + load.errors };
}

export async function memory(quick: boolean): Promise<Record<string, Ratio>> {
  prepareMedia();
  const seconds = quick ? 5 : 15;
  const out: Record<string, Ratio> = {};
  const record = (name: string, r: Awaited<ReturnType<typeof underLoad>>, what: string) => {
    console.error(
      `memory ${name}: idle ${r.idle.toFixed(0)} MB, peak ${r.peak.toFixed(0)} MB over ${r.samples} samples, ${r.errors} errors`,
    );
    if (r.errors > 0) throw new Error(`memory ${name}: ${r.errors} errors or timeouts under 200 clients`);
    out[`memory.${name}.peak_rss_under_200_clients_vs_idle_budget`] = {
      ratio: Math.round(((r.idle + BUDGET_MB) / r.peak) * 1000) / 1000,
      target: 1,
      value: Math.round(r.peak),
      baseline: Math.round(r.idle),
      unit: `MB peak RSS of ${what} (baseline: idle; budget idle + ${BUDGET_MB} MB)`,
      note: `${Math.round(r.mbPerSec)} MB/s to 200 clients of 4 MB segments, 0 errors, ${r.samples} samples`,
    };
  };
  const alone = await startGateway({}, 'memory-alone');
  try {
    record('gateway_alone', await underLoad(alone.url, () => [alone.pid], seconds), 'the gateway');
  } finally {
    await alone.stop();
  }
  const judge = await startGateway({ SERVE_VIA_NGINX: 'true' }, 'memory-judge');
  const front = await startFrontNginx(judge.port, 1);
  try {
    record(
      'nginx_front',
      await underLoad(front.url, () => [judge.pid, ...childPids(front.pid)], seconds),
      'the gateway and nginx',
    );
  } finally {
    await front.stop();
    await judge.stop();
  }
  return out;
}

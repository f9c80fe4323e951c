// 4: memory. Peak RSS of the gateway process while 200 concurrent clients download 4 MB segments, against its
// RSS when idle. Reported as (idle + 64 MB) / peak: at least 1 means the peak stayed within the budget.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importPrivateKey, signCookies } from '../server/core/index.ts';
import { REPO_ROOT } from '../server/node/load-env.ts';
import type { Ratio } from './lib.ts';
import { prepareMedia, startGateway, wrk } from './peers.ts';

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024; // MB
}

export async function memory(quick: boolean): Promise<Record<string, Ratio>> {
  prepareMedia();
  const gw = await startGateway(false);
  try {
    const key = await importPrivateKey(readFileSync(join(REPO_ROOT, 'test/fixtures/keys/rsa-pkcs8.pem'), 'utf8'));
    const cookies = await signCookies({ resource: `${gw.url}/videos/bench/*`, expires: Math.floor(Date.now() / 1000) + 3600 }, { keyPairId: 'K2JCJMDEHXQW5F', privateKey: key });
    const cookie = Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ');
    // Warm up (JIT, first requests), let the heap settle, then read the idle RSS.
    wrk(`${gw.url}/videos/bench/index.m3u8`, 1, 4, { Cookie: cookie });
    await new Promise((r) => setTimeout(r, 1000));
    const idle = status(gw.pid, 'VmRSS');
    // Reset the kernel's high-water mark so start-up (module loading, transpiling) does not count as load
    // (https://www.kernel.org/doc/html/latest/filesystems/proc.html, clear_refs "5").
    try {
      writeFileSync(`/proc/${gw.pid}/clear_refs`, '5');
    } catch {
      console.error('memory: cannot reset VmHWM (not root?); the peak may include start-up');
    }
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, status(gw.pid, 'VmRSS'))), 50);
    // wrk runs synchronously in this process; VmHWM (the kernel's high-water mark) catches what sampling misses.
    const load = wrk(`${gw.url}/videos/bench/seg4m.ts`, quick ? 5 : 15, 200, { Cookie: cookie });
    clearInterval(sampler);
    const sampled = peak;
    peak = Math.max(peak, status(gw.pid, 'VmHWM'));
    console.error(`memory: idle ${idle.toFixed(0)} MB, sampled peak ${sampled.toFixed(0)} MB, high-water mark ${status(gw.pid, 'VmHWM').toFixed(0)} MB`);
    if (load.non2xx > 0) throw new Error('memory: non-2xx responses under load');
    return {
      'memory.peak_rss_under_200_clients_vs_idle_budget': { ratio: Math.round(((idle + 64) / peak) * 1000) / 1000, target: 1, value: Math.round(peak), baseline: Math.round(idle), unit: 'MB peak RSS (baseline: idle RSS; budget idle + 64 MB)', note: `${Math.round(load.mbPerSec)} MB/s served to 200 clients of 4 MB segments` },
    };
  } finally {
    await gw.stop();
  }
}

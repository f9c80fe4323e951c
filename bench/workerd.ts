// CPU time per access request and per gated segment request in workerd, against the Workers CPU limits.
// workerd freezes timers while a request runs (Spectre mitigation), so time is measured from outside: requests
// are sent one at a time through Miniflare, and a no-op worker on the same path is the baseline. The difference
// is an upper bound on the worker's own CPU time per request (it includes local R2 reads).
import type { Readable } from 'node:stream';
import { Miniflare } from 'miniflare';
import { SignJWT } from 'jose';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { REPO_ROOT } from '../server/node/load-env.ts';
import { median, type Ratio } from './lib.ts';
import { buildWorker } from '../scripts/build-worker.mjs';

const SECRET = 'bench-secret-that-is-long-enough-for-hs256';
const FREE_PLAN_CPU_MS = 10;

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));

async function msPerRequest(send: () => Promise<Response>, n: number): Promise<number> {
  for (let i = 0; i < 20; i++) await (await send()).arrayBuffer(); // warm-up
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const res = await send();
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`workerd bench: status ${res.status}`);
  }
  return (performance.now() - start) / n;
}

export async function workerdCpu(quick: boolean): Promise<Record<string, Ratio>> {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-bench-worker-'));
  const scriptPath = await buildWorker(join(dir, 'index.js'));
  const pem = readFileSync(join(REPO_ROOT, 'test/fixtures/keys/rsa-pkcs8.pem'), 'utf8');
  const gw = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: dirname(scriptPath),
    compatibilityDate: '2026-04-01',
    r2Buckets: ['MEDIA'],
    // Drain the worker's request log instead of printing thousands of lines.
    handleRuntimeStdio: (out: Readable, err: Readable) => {
      out.resume();
      err.resume();
    },
    bindings: {
      CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
      CLOUDFRONT_PRIVATE_KEY: pem,
      AUTH_JWT_SECRET: SECRET,
      GRANT_WINDOW: '0',
      ACCESS_BIND_IP: 'true',
      MEDIA_HOSTS: 'localhost',
    },
  });
  const noop = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response("ok") } }',
    compatibilityDate: '2026-04-01',
  });
  try {
    const bucket = await gw.getR2Bucket('MEDIA');
    const media = join(REPO_ROOT, 'media');
    for (const f of files(join(media, 'ladder')).concat(join(media, 'catalog.json'))) {
      const b = readFileSync(f);
      await bucket.put(relative(media, f), b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    }
    const token = await new SignJWT({ videos: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    const base = 'http://localhost:8787';
    // A different viewer IP each time: IP-bound grants are never shared, so every access request signs.
    let viewer = 0;
    const access = () => {
      viewer++;
      return gw.dispatchFetch(`${base}/api/videos/ladder/access`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'CF-Connecting-IP': `10.${(viewer >> 8) & 255}.${viewer & 255}.1`,
        },
      }) as unknown as Promise<Response>;
    };
    const first = await access();
    if (!first.ok) throw new Error(`workerd bench: access ${first.status}`);
    const cookie = first.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const segment = () =>
      gw.dispatchFetch(`${base}/videos/ladder/240p/seg_001.ts`, {
        headers: { Cookie: cookie, 'CF-Connecting-IP': '10.0.1.1' },
      }) as unknown as Promise<Response>;
    const baseline = () => noop.dispatchFetch(`${base}/`) as unknown as Promise<Response>;
    const n = quick ? 150 : 500;
    const rounds = quick ? 3 : 5;
    const s: Record<string, number[]> = { access: [], segment: [], noop: [] };
    for (let r = 0; r < rounds; r++) {
      s.noop!.push(await msPerRequest(baseline, n));
      s.access!.push(await msPerRequest(access, Math.ceil(n / 3)));
      s.segment!.push(await msPerRequest(segment, n));
    }
    const noopMs = median(s.noop!);
    const out: Record<string, Ratio> = {};
    for (const name of ['access', 'segment'] as const) {
      const cpu = Math.max(0.01, median(s[name]!) - noopMs);
      out[`workerd.${name}_request_cpu_vs_free_plan_limit`] = {
        ratio: Math.round((FREE_PLAN_CPU_MS / cpu) * 100) / 100,
        target: 1,
        value: Math.round(cpu * 1000) / 1000,
        baseline: FREE_PLAN_CPU_MS,
        unit: 'ms per request (upper bound: wall time over a no-op worker; baseline: 10 ms CPU of the free plan, 30 s paid)',
        note: `no-op worker round trip ${noopMs.toFixed(3)} ms`,
      };
    }
    return out;
  } finally {
    await gw.dispose();
    await noop.dispose();
  }
}

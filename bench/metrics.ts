// What watching the gateway costs: the same installed gateway with metrics on (METRICS_PORT, scraped every second
// as Prometheus would) against metrics off, side by side in interleaved rounds, servers on core 0, wrk on core 1:
// 200 KB segments with a valid cookie, and grants that are all signed (IP-bound, a new viewer address per request).
import { SignJWT } from 'jose';
import { importPrivateKey, signCookies } from '../server/core/index.ts';
import { freePort } from '../test/helpers/ports.ts';
import { ratioOf, rounds, type Ratio } from './lib.ts';
import { JWT_SECRET, KEY_PAIR_ID, RSA_PEM, prepareMedia, startGateway } from './procs.ts';
import { wrk, type WrkOptions } from './wrk.ts';

export async function metrics(quick: boolean): Promise<Record<string, Ratio>> {
  prepareMedia();
  const seconds = quick ? 2 : 4;
  const count = quick ? 2 : 5;
  const bind = { ACCESS_BIND_IP: 'true', TRUST_PROXY: 'true' };
  const metricsPort = await freePort();
  const on = await startGateway({ ...bind, METRICS_PORT: String(metricsPort) }, 'metrics-on');
  const off = await startGateway(bind, 'metrics-off');
  // Scraped every second while it serves, as Prometheus would.
  const scraper = setInterval(() => {
    fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
      (r) => r.arrayBuffer(),
      () => {},
    );
  }, 1000);
  try {
    const key = await importPrivateKey(RSA_PEM);
    const expires = Math.floor(Date.now() / 1000) + 7200;
    const cookieFor = async (origin: string) =>
      Object.entries(
        await signCookies(
          { resource: `${origin}/videos/bench/*`, expires },
          { keyPairId: KEY_PAIR_ID, privateKey: key },
        ),
      )
        .map(([k, v]) => `${k}=${v}`)
        .join('; ');
    const cookies = { on: await cookieFor(on.url), off: await cookieFor(off.url) };
    const token = await new SignJWT({ videos: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bench')
      .setExpirationTime('2h')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const addresses = Array.from({ length: 20_000 }, (_, i) => ({
      Authorization: `Bearer ${token}`,
      'X-Forwarded-For': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    }));
    const rps = async (url: string, o: Partial<WrkOptions>) => {
      const r = await wrk(url, { seconds, connections: 16, ...o });
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} socket errors`);
      return r.requestsPerSec;
    };
    const segment = (base: string, cookie: string) => () =>
      rps(`${base}/videos/bench/seg200k.ts`, { headers: { Cookie: cookie } });
    const grant = (base: string) => () =>
      rps(`${base}/api/videos/bench/access`, { method: 'POST', body: '', rotate: addresses });
    await segment(on.url, cookies.on)();
    await segment(off.url, cookies.off)();
    const s = await rounds(
      {
        segOn: segment(on.url, cookies.on),
        segOff: segment(off.url, cookies.off),
        grantOn: grant(on.url),
        grantOff: grant(off.url),
      },
      count,
    );
    return {
      'metrics.segments_on_vs_off': ratioOf(
        s.segOn!,
        s.segOff!,
        'req/s',
        0.97,
        '200 KB segments with a valid cookie; metrics on (METRICS_PORT, scraped every second) against off',
      ),
      'metrics.grants_on_vs_off': ratioOf(
        s.grantOn!,
        s.grantOff!,
        'grants/s',
        0.97,
        'POST /api/videos/:id/access, every grant signed (IP-bound to a new address); metrics on against off',
      ),
    };
  } finally {
    clearInterval(scraper);
    await Promise.all([on.stop(), off.stop()]);
  }
}

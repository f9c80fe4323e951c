// The API over HTTP, as deployed (the installed gateway, request log on, pinned to core 0; wrk on core 1):
// - issuance with grants nothing can share (IP-bound, a new viewer address each request) against the raw rate of
//   signing on the same core, for RSA-2048 and ECDSA P-256; and a popular video (one shared grant per window);
// - the catalog listing for a viewer of 1,001 videos against 3.
import { spawn } from 'node:child_process';
import { SignJWT } from 'jose';
import { ratioOf, rounds, type Ratio } from './lib.ts';
import { EC_PEM, JWT_SECRET, RSA_PEM, SERVER_CPU, TMP, prepareMedia, startFloor, startGateway } from './procs.ts';
import { wrk, type WrkOptions } from './wrk.ts';

/** Signatures per second over distinct policies, on the server core, in a separate process (node:crypto). */
function rawSignRate(pem: string, seconds: number): Promise<number> {
  const code = `
const { createPrivateKey, createSign } = require('node:crypto');
const key = createPrivateKey(process.env.PEM);
const alg = key.asymmetricKeyType === 'ec' ? 'SHA1' : 'RSA-SHA1';
const end = Date.now() + ${seconds * 1000};
let n = 0; const t = performance.now();
while (Date.now() < end) for (let k = 0; k < 16; k++) createSign(alg).update('{"Statement":[{"Resource":"https://m.example.com/videos/v' + (n++) + '/*","Condition":{"DateLessThan":{"AWS:EpochTime":1900000000}}}]}').sign(key);
console.log(n / ((performance.now() - t) / 1000));`;
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', String(SERVER_CPU), process.execPath, '-e', code], {
      env: { PEM: pem },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (c) => (c === 0 ? resolve(Number(out)) : reject(new Error('raw signing failed'))));
  });
}

export async function api(quick: boolean): Promise<Record<string, Ratio>> {
  prepareMedia();
  const seconds = quick ? 2 : 4;
  const count = quick ? 2 : 5;
  const bind = { ACCESS_BIND_IP: 'true', TRUST_PROXY: 'true' };
  const rsa = await startGateway(bind, 'api-rsa');
  const ec = await startGateway({ ...bind, CLOUDFRONT_PRIVATE_KEY: EC_PEM }, 'api-ec');
  const cat3 = await startGateway({ MEDIA_DIR: `${TMP}/catalog3` }, 'catalog3');
  const cat1001 = await startGateway({ MEDIA_DIR: `${TMP}/catalog1001` }, 'catalog1001');
  // The floor: a Hono app that only signs, sets the cookies and logs (bench/floor-servers.mjs).
  const floorRsa = await startFloor('grants', { CLOUDFRONT_PRIVATE_KEY: RSA_PEM });
  const floorEc = await startFloor('grants', { CLOUDFRONT_PRIVATE_KEY: EC_PEM });
  try {
    const token = await new SignJWT({ videos: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bench')
      .setExpirationTime('2h')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const auth = { Authorization: `Bearer ${token}` };
    // A new viewer address per request: every grant is bound to its own IP, so every one is signed.
    // POST without a body, as browsers send it (Content-Length: 0: `body: ''` below).
    const addresses = Array.from({ length: 20_000 }, (_, i) => ({
      ...auth,
      'X-Forwarded-For': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    }));
    const rps = async (url: string, o: Partial<WrkOptions>) => {
      const r = await wrk(url, { seconds, connections: 16, ...o });
      if (r.non2xx > 0 || r.errors > 0)
        throw new Error(`${url}: ${r.non2xx} non-2xx responses, ${r.errors} socket errors`);
      return r.requestsPerSec;
    };
    const grant = (base: string) => () =>
      rps(`${base}/api/videos/bench/access`, { method: 'POST', body: '', rotate: addresses });
    // Not IP-bound (the catalog gateways run with the defaults): every viewer of a video in one window shares a grant.
    const popular = () => rps(`${cat3.url}/api/videos/video-0/access`, { method: 'POST', body: '', rotate: [auth] });
    await grant(rsa.url)();
    await grant(ec.url)();
    await grant(floorRsa.url)();
    await grant(floorEc.url)();
    const s = await rounds(
      {
        rawRsa: () => rawSignRate(RSA_PEM, seconds),
        rsa: grant(rsa.url),
        ec: grant(ec.url),
        popular,
        rawEc: () => rawSignRate(EC_PEM, seconds),
        floorRsa: grant(floorRsa.url),
        floorEc: grant(floorEc.url),
      },
      count,
    );
    // As a browser asks for it (Accept-Encoding: gzip).
    const list = (base: string) => () => rps(`${base}/api/videos`, { headers: { ...auth, 'Accept-Encoding': 'gzip' } });
    await list(cat3.url)();
    await list(cat1001.url)();
    const c = await rounds({ small: list(cat3.url), large: list(cat1001.url) }, count);
    return {
      'issuance.http.rsa_ip_bound_vs_raw_rsa_sign': ratioOf(
        s.rsa!,
        s.rawRsa!,
        'grants/s',
        0.8,
        'POST /api/videos/:id/access over HTTP, every grant IP-bound to a new address (nothing shared); raw = node:crypto signing distinct policies on the same core',
      ),
      'issuance.http.ecdsa_ip_bound_vs_rsa_ip_bound': ratioOf(
        s.ec!,
        s.rsa!,
        'grants/s',
        5,
        'the same endpoint with an ECDSA P-256 key',
      ),
      'issuance.http.ecdsa_ip_bound_vs_raw_ecdsa_sign': ratioOf(
        s.ec!,
        s.rawEc!,
        'grants/s',
        undefined,
        'what is left beside the ECDSA signature: HTTP, JWT check, framework, log',
      ),
      'issuance.http.bare_hono_rsa_vs_raw_rsa_sign': ratioOf(
        s.floorRsa!,
        s.rawRsa!,
        'grants/s',
        undefined,
        'the floor: a Hono app that only signs (batched), sets the three cookies and logs, nothing checked (bench/floor-servers.mjs)',
      ),
      'issuance.http.bare_hono_ecdsa_vs_bare_hono_rsa': ratioOf(
        s.floorEc!,
        s.floorRsa!,
        'grants/s',
        undefined,
        'the same floor with an ECDSA P-256 key',
      ),
      'issuance.http.popular_video_vs_raw_rsa_sign': ratioOf(
        s.popular!,
        s.rawRsa!,
        'grants/s',
        undefined,
        'one video, grants not IP-bound: one signature per GRANT_WINDOW (60 s), reused; what is left is the fixed cost of the endpoint over HTTP',
      ),
      'catalog.http.list_1001_vs_3_videos': ratioOf(
        c.large!,
        c.small!,
        'req/s',
        0.8,
        'GET /api/videos (gzip accepted, as browsers send) for a viewer entitled to every video',
      ),
    };
  } finally {
    await Promise.all([rsa.stop(), ec.stop(), cat3.stop(), cat1001.stop(), floorRsa.stop(), floorEc.stop()]);
  }
}

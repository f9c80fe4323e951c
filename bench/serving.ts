// Serving media over HTTP, as deployed: requests per second for a small playlist, a 10,000-segment playlist, a
// 200 KB and a 2 MB segment, from nginx serving the files statically (the physical limit here), nginx in front of
// hls-gate (SERVE_VIA_NGINX, the Node production layout) with and without its verdict cache, and the gateway alone.
// Then what a verdict costs when the cache cannot help: 5,000 distinct viewers, and a viewer sending four
// same-name cookie sets (grants for several videos), against one viewer. Servers on core 0, wrk on core 1.
import { importPrivateKey, signCookies } from '../server/core/index.ts';
import { ratioOf, rounds, type Ratio } from './lib.ts';
import { KEY_PAIR_ID, RSA_PEM, prepareMedia, startFloor, startFrontNginx, startGateway } from './procs.ts';
import { wrk, type WrkOptions } from './wrk.ts';

const FILES = { playlist: 'index.m3u8', big_playlist: 'big.m3u8', seg200k: 'seg200k.ts', seg2m: 'seg2m.ts' } as const;
/** Targets: nginx in front vs nginx static, and the gateway alone vs nginx static. */
const FRONT_TARGET: Record<string, number> = { playlist: 0.7, big_playlist: 0.5, seg200k: 0.8, seg2m: 0.8 };
const ALONE_TARGET: Record<string, number | undefined> = { seg200k: 0.3, seg2m: 0.5 };

export async function serving(quick: boolean): Promise<Record<string, Ratio>> {
  prepareMedia();
  const seconds = quick ? 2 : 4;
  const count = quick ? 2 : 5;
  const alone = await startGateway({}, 'alone');
  const judge = await startGateway({ SERVE_VIA_NGINX: 'true' }, 'judge');
  const judgeNoCache = await startGateway({ SERVE_VIA_NGINX: 'true', VERDICT_CACHE: '0' }, 'judge-nocache');
  const front = await startFrontNginx(judge.port, 1);
  const frontNoCache = await startFrontNginx(judgeNoCache.port, 0);
  const floor = await startFloor('files');
  try {
    const key = await importPrivateKey(RSA_PEM);
    const expires = Math.floor(Date.now() / 1000) + 7200;
    const cookieFor = async (origin: string, video = 'bench', exp = expires) =>
      Object.entries(
        await signCookies(
          { resource: `${origin}/videos/${video}/*`, expires: exp },
          { keyPairId: KEY_PAIR_ID, privateKey: key },
        ),
      )
        .map(([k, v]) => `${k}=${v}`)
        .join('; ');
    const [aloneCookie, frontCookie, noCacheCookie] = await Promise.all([
      cookieFor(alone.url),
      cookieFor(front.url),
      cookieFor(frontNoCache.url),
    ]);
    const rps = async (url: string, o: Partial<WrkOptions> = {}) => {
      const r = await wrk(url, { seconds, connections: 16, ...o });
      if (r.non2xx > 0 || r.errors > 0)
        throw new Error(`${url}: ${r.non2xx} non-2xx responses, ${r.errors} socket errors (check the setup)`);
      return r.requestsPerSec;
    };
    const out: Record<string, Ratio> = {};
    for (const [label, file] of Object.entries(FILES)) {
      const contenders = {
        nginxStatic: () => rps(`${front.url}/static/bench/${file}`),
        front: () => rps(`${front.url}/videos/bench/${file}`, { headers: { Cookie: frontCookie } }),
        frontNoCache: () => rps(`${frontNoCache.url}/videos/bench/${file}`, { headers: { Cookie: noCacheCookie } }),
        alone: () => rps(`${alone.url}/videos/bench/${file}`, { headers: { Cookie: aloneCookie } }),
        // For segments, the gateway alone's floor: node:http reading the file and logging, nothing checked.
        ...(ALONE_TARGET[label] ? { floor: () => rps(`${floor.url}/bench/${file}`) } : {}),
      };
      for (const run of Object.values(contenders))
        await rps(run === contenders.nginxStatic ? `${front.url}/static/bench/${file}` : `${alone.url}/healthz`, {
          seconds: 1,
        }); // warm-up
      const s = await rounds(contenders, count);
      out[`serving.${label}.nginx_front_vs_nginx_static`] = ratioOf(
        s.front!,
        s.nginxStatic!,
        'req/s',
        FRONT_TARGET[label],
        'nginx in front (SERVE_VIA_NGINX, VERDICT_CACHE=1) vs nginx serving the same file statically',
      );
      out[`serving.${label}.nginx_front_no_verdict_cache_vs_nginx_static`] = ratioOf(
        s.frontNoCache!,
        s.nginxStatic!,
        'req/s',
        undefined,
        'VERDICT_CACHE=0: every request asks hls-gate',
      );
      out[`serving.${label}.gateway_alone_vs_nginx_static`] = ratioOf(
        s.alone!,
        s.nginxStatic!,
        'req/s',
        ALONE_TARGET[label],
        'the Node gateway alone, request log on',
      );
      if (s.floor) {
        out[`serving.${label}.bare_node_file_server_vs_nginx_static`] = ratioOf(
          s.floor,
          s.nginxStatic!,
          'req/s',
          undefined,
          'the floor: node:http reading the file per request (reused buffer) and logging a line, nothing checked (bench/floor-servers.mjs)',
        );
        out[`serving.${label}.gateway_alone_vs_bare_node_file_server`] = ratioOf(
          s.alone!,
          s.floor,
          'req/s',
          undefined,
          'what the gateway keeps of the floor: Hono, the cookie check, containment, headers, CORS',
        );
      }
    }

    // Verdicts the cache cannot share: the gateway alone, small playlist (where a verdict's cost shows most).
    const url = `${alone.url}/videos/bench/index.m3u8`;
    const viewers = await Promise.all(
      Array.from({ length: 5000 }, (_, i) => cookieFor(alone.url, 'bench', expires - i)),
    );
    const decoys = await Promise.all(['v1', 'v2', 'v3'].map((v) => cookieFor(alone.url, v)));
    const fourSets = [...decoys, aloneCookie].join('; ');
    const rotate = viewers.map((c) => ({ Cookie: c }));
    await rps(url, { seconds: quick ? 2 : 3, rotate }); // every viewer's first request: a cold verification each
    const v = await rounds(
      {
        // All three through the same Lua request path, so only the cookies differ.
        one: () => rps(url, { rotate: [{ Cookie: aloneCookie }] }),
        many: () => rps(url, { rotate }),
        four: () => rps(url, { rotate: [{ Cookie: fourSets }] }),
      },
      count,
    );
    out['verify.distinct_viewers_5000_vs_one'] = ratioOf(
      v.many!,
      v.one!,
      'req/s',
      0.9,
      '5,000 viewers, each with their own grant, in turn',
    );
    out['verify.four_cookie_sets_vs_one'] = ratioOf(
      v.four!,
      v.one!,
      'req/s',
      0.8,
      'grants for three other videos sent before the right one, same cookie names',
    );
    return out;
  } finally {
    await Promise.all([front.stop(), frontNoCache.stop()]);
    await Promise.all([alone.stop(), judge.stop(), judgeNoCache.stop(), floor.stop()]);
  }
}

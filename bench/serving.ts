// 3: serving segments. Requests per second and MB/s for a playlist, a 200 KB and a 2 MB segment: the gated route
// with a valid cookie, the same server with gating off, and nginx serving the same files statically and with
// secure_link. wrk (one thread) and the server share the machine's two cores.
import { importPrivateKey, signCookies } from '../server/core/index.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../server/node/load-env.ts';
import { median, ratio, type Ratio } from './lib.ts';
import { prepareMedia, secureLinkQuery, startGateway, startNginx, wrk, type WrkResult } from './peers.ts';

const FILES = { playlist: 'index.m3u8', seg200k: 'seg200k.ts', seg2m: 'seg2m.ts' } as const;

export async function serving(quick: boolean): Promise<Record<string, Ratio>> {
  prepareMedia();
  const seconds = quick ? 3 : 8;
  const rounds = quick ? 2 : 3;
  const gated = await startGateway(false);
  const ungated = await startGateway(true);
  const nginx = await startNginx();
  try {
    const key = await importPrivateKey(readFileSync(join(REPO_ROOT, 'test/fixtures/keys/rsa-pkcs8.pem'), 'utf8'));
    const cookies = await signCookies({ resource: `${gated.url}/videos/bench/*`, expires: Math.floor(Date.now() / 1000) + 3600 }, { keyPairId: 'K2JCJMDEHXQW5F', privateKey: key });
    const cookie = Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ');
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const out: Record<string, Ratio> = {};
    for (const [label, file] of Object.entries(FILES)) {
      const targets: Record<string, () => WrkResult> = {
        gated: () => wrk(`${gated.url}/videos/bench/${file}`, seconds, 16, { Cookie: cookie }),
        ungated: () => wrk(`${ungated.url}/videos/bench/${file}`, seconds, 16),
        nginxStatic: () => wrk(`${nginx.url}/static/bench/${file}`, seconds, 16),
        nginxSecureLink: () => wrk(`${nginx.url}/secure/bench/${file}?${secureLinkQuery(`/secure/bench/${file}`, expires)}`, seconds, 16),
      };
      const samples: Record<string, WrkResult[]> = { gated: [], ungated: [], nginxStatic: [], nginxSecureLink: [] };
      for (let r = 0; r < rounds; r++) for (const [name, run] of Object.entries(targets)) samples[name]!.push(run());
      for (const [name, s] of Object.entries(samples)) if (s.some((x) => x.non2xx > 0)) throw new Error(`${name} ${file}: non-2xx responses (check the setup)`);
      const rps = (name: string) => median(samples[name]!.map((x) => x.requestsPerSec));
      const mbps = (name: string) => median(samples[name]!.map((x) => x.mbPerSec));
      const note = `MB/s: gated ${mbps('gated').toFixed(0)}, ungated ${mbps('ungated').toFixed(0)}, nginx ${mbps('nginxStatic').toFixed(0)}, nginx secure_link ${mbps('nginxSecureLink').toFixed(0)}`;
      out[`serving.${label}.gated_vs_ungated`] = ratio(rps('gated'), rps('ungated'), 'req/s', 0.9, note);
      out[`serving.${label}.gated_vs_nginx_secure_link`] = ratio(rps('gated'), rps('nginxSecureLink'), 'req/s', label === 'seg2m' ? 0.5 : undefined);
      out[`serving.${label}.gated_vs_nginx_static`] = ratio(rps('gated'), rps('nginxStatic'), 'req/s');
    }
    return out;
  } finally {
    await Promise.all([gated.stop(), ungated.stop(), nginx.stop()]);
  }
}

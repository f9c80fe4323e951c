// Ways to run the gateway for the shared HTTP suite: in-process (app.request), a real Node server on loopback,
// and (test/worker) workerd. Each target runs with the same test configuration.
import { SignJWT } from 'jose';
import type { Env } from '../../server/app/config.ts';
import { buildGateway } from '../../server/app/build.ts';
import { createFsStorage } from '../../server/node/fs-storage.ts';
import { loadNodeEnv } from '../../server/node/load-env.ts';
import { loadNodeSettings } from '../../server/node/settings.ts';
import { startNodeGateway } from '../../server/node/start.ts';
import { RSA2_KEY_PAIR_ID, RSA_KEY_PAIR_ID, fixtureKey } from './fixtures.ts';
import { startNginx, type RunningNginx } from './nginx.ts';
import { freePort } from './ports.ts';

export const JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256!';
export const ALLOWED_ORIGIN = 'http://app.example.test';

export interface Target {
  /** The origin the viewer uses; also the public media origin (policies name it). */
  baseUrl: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  privateKeyPem: string;
  keyPairId: string;
  close(): Promise<void>;
}

export type StartTarget = (extraEnv?: Env) => Promise<Target>;

export function testEnv(extra: Env = {}): Env {
  return {
    CLOUDFRONT_KEY_PAIR_ID: RSA_KEY_PAIR_ID,
    CLOUDFRONT_PRIVATE_KEY: fixtureKey('rsa-pkcs8.pem'),
    CLOUDFRONT_PUBLIC_KEYS: `${RSA2_KEY_PAIR_ID}=${fixtureKey('rsa2-spki.pem').replace(/\n/g, '\\n')}`,
    AUTH_JWT_SECRET: JWT_SECRET,
    ALLOWED_ORIGINS: ALLOWED_ORIGIN,
    // The hosts the targets are reached on (the Node server listens on a random port).
    MEDIA_HOSTS: 'localhost,127.0.0.1',
    ...extra,
  };
}

export const inProcess: StartTarget = async (extraEnv = {}) => {
  const { config, mediaDir } = await loadNodeSettings(testEnv(extraEnv));
  const app = await buildGateway(config, createFsStorage(mediaDir), { log: () => {} });
  const baseUrl = 'http://localhost';
  return {
    baseUrl,
    fetch: async (path, init) => app.request(new URL(path, baseUrl).href, init),
    privateKeyPem: fixtureKey('rsa-pkcs8.pem'),
    keyPairId: RSA_KEY_PAIR_ID,
    close: async () => {},
  };
};

export const nodeServer: StartTarget = async (extraEnv = {}) => {
  const gw = await startNodeGateway(testEnv({ PORT: '0', ...extraEnv }), { log: () => {} });
  return {
    baseUrl: gw.url,
    fetch: (path, init) => fetch(new URL(path, gw.url), init),
    privateKeyPem: fixtureKey('rsa-pkcs8.pem'),
    keyPairId: RSA_KEY_PAIR_ID,
    close: () => gw.close(),
  };
};

export async function viewerToken(
  videos: '*' | string[],
  opts: { secret?: string; expSeconds?: number; aud?: string; sub?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ videos })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(opts.sub ?? 'viewer-1')
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expSeconds ?? 600));
  if (opts.aud) jwt = jwt.setAudience(opts.aud);
  return jwt.sign(new TextEncoder().encode(opts.secret ?? JWT_SECRET));
}

/** Set-Cookie headers -> { name: value } (attributes dropped). */
export function cookiesFrom(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sc of res.headers.getSetCookie()) {
    const [pair] = sc.split(';');
    const eq = pair!.indexOf('=');
    out[pair!.slice(0, eq)] = pair!.slice(eq + 1);
  }
  return out;
}

export const cookieHeader = (c: Record<string, string | number>) =>
  Object.entries(c)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

/** nginx in front, hls-gate judging (SERVE_VIA_NGINX): the Node production layout. */
export const behindNginx: StartTarget = async (extraEnv = {}) => {
  const port = await freePort();
  const gw = await startNodeGateway(testEnv({ PORT: String(port), SERVE_VIA_NGINX: 'true', ...extraEnv }), {
    log: () => {},
  });
  const { mediaDir } = await loadNodeEnv(testEnv(extraEnv));
  let nginx: RunningNginx;
  try {
    // nginx keeps verdicts as long as the gateway says (VERDICT_CACHE), 1 s unless the suite sets it.
    const verdictCache = extraEnv.VERDICT_CACHE === undefined ? {} : { verdictCache: Number(extraEnv.VERDICT_CACHE) };
    nginx = await startNginx({ upstream: `127.0.0.1:${port}`, mediaDir, ...verdictCache });
  } catch (err) {
    await gw.close();
    throw err;
  }
  return {
    baseUrl: nginx.url,
    fetch: (path, init) => fetch(new URL(path, nginx.url), init),
    privateKeyPem: fixtureKey('rsa-pkcs8.pem'),
    keyPairId: RSA_KEY_PAIR_ID,
    close: async () => {
      await nginx.stop();
      await gw.close();
    },
  };
};

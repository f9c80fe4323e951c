// 6: session control. (a) The cost of a gated segment request with session control on (HMAC-bound session cookie,
// in-memory deny-list check) vs off, in-process (app.fetch, no HTTP stack to dilute the difference), interleaved.
// (b) Refresh throughput (POST .../access with the device's session id: a grant, a lease renewal, the deny-list
// check) with the Redis store, on a real redis-server started here, vs the in-process store.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { parseConfig } from '../server/app/config.ts';
import { buildGateway } from '../server/app/build.ts';
import { createFsStorage } from '../server/node/fs-storage.ts';
import { createRedisStore } from '../server/node/redis-store.ts';
import { REPO_ROOT } from '../server/node/load-env.ts';
import { compare, ratio, type Ratio } from './lib.ts';
import { freePort } from '../test/helpers/ports.ts';
import { testEnv } from '../test/helpers/targets.ts';

const SESSION_SECRET = 'bench-session-secret-that-is-long-enough-0123';
const JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256!';

async function startRedis(): Promise<{ url: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-bench-redis-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('redis-server did not start (apt-get install redis-server)')),
      10_000,
    );
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => (child.kill(), rmSync(dir, { recursive: true, force: true })),
  };
}

export async function sessions(quick: boolean): Promise<Record<string, Ratio>> {
  const rounds = quick ? 3 : 7;
  const ms = quick ? 400 : 1500;
  const storage = createFsStorage(join(REPO_ROOT, 'media'));
  const quiet = { log: () => {}, events: () => {} };
  const off = await buildGateway(parseConfig(testEnv()), storage, quiet);
  const on = await buildGateway(parseConfig(testEnv({ SESSION_SECRET })), storage, quiet);
  const token = await new SignJWT({ videos: '*' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench-viewer')
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(JWT_SECRET));
  const cookieOf = async (app: typeof on) => {
    const res = await app.request('http://localhost/api/videos/ladder/access', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    return res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
  };
  const [offCookie, onCookie] = [await cookieOf(off), await cookieOf(on)];
  const segment = (app: typeof on, cookie: string) => async () => {
    const res = await app.request('http://localhost/videos/ladder/240p/seg_000.ts', { headers: { Cookie: cookie } });
    if (res.status !== 200) throw new Error(`segment answered ${res.status}`);
    await res.arrayBuffer();
  };
  const media = await compare({ off: segment(off, offCookie), on: segment(on, onCookie) }, rounds, ms);

  const redis = await startRedis();
  try {
    const store = createRedisStore(redis.url);
    const viaRedis = await buildGateway(
      parseConfig(testEnv({ SESSION_SECRET, SESSION_STORE: redis.url, MAX_STREAMS_PER_VIEWER: '5' })),
      storage,
      { ...quiet, sessionStore: store },
    );
    const inMemory = await buildGateway(
      parseConfig(testEnv({ SESSION_SECRET, MAX_STREAMS_PER_VIEWER: '5' })),
      storage,
      quiet,
    );
    const sidOf = async (app: typeof on) =>
      (
        (await (
          await app.request('http://localhost/api/videos/ladder/access', {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}` },
          })
        ).json()) as { sessionId: string }
      ).sessionId;
    const [redisSid, memorySid] = [await sidOf(viaRedis), await sidOf(inMemory)];
    const refresh = (app: typeof on, sid: string) => async () => {
      const res = await app.request('http://localhost/api/videos/ladder/access', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'X-Hls-Gate-Session': sid },
      });
      if (res.status !== 200) throw new Error(`refresh answered ${res.status}`);
      await res.arrayBuffer();
    };
    const refreshes = await compare(
      { redis: refresh(viaRedis, redisSid), memory: refresh(inMemory, memorySid) },
      rounds,
      ms,
    );
    await store.close();
    return {
      'sessions.segment.on_vs_off': ratio(
        media.on!,
        media.off!,
        'req/s',
        0.9,
        'in-process gated 70 KB segment: HMAC-bound session cookie + deny-list check vs session control off',
      ),
      'sessions.refresh.redis_vs_memory': ratio(
        refreshes.redis!,
        refreshes.memory!,
        'grants/s',
        undefined,
        'POST .../access refreshing a device session (JWT check, grant, lease renewal by Lua script, deny-list check), Redis on loopback vs in-process store',
      ),
    };
  } finally {
    redis.stop();
  }
}

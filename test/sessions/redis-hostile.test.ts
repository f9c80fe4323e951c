// Session control with Redis tried as a hostile viewer and through a Redis that loses its state (issue 23): two
// gateway processes and a real redis-server started here, without persistence.
//   - five devices reusing the first device's session id or token, across both instances: exactly the limit play;
//   - revoke A, restart Redis (everything lost), revoke B: B is refused within SESSION_POLL + 1 s, with no request
//     to either gateway in between (the deny-list is polled on a timer, and its version is tagged with an epoch
//     that a restarted Redis does not have).
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { freePort } from '../helpers/ports.ts';
import { waitForOutput } from '../helpers/process.ts';

const SESSION_SECRET = 'session-secret-that-is-long-enough-0123456789';
const ADMIN_SECRET = 'admin-secret-that-is-long-enough-0123456789ab';
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'hls-gate-redis-hostile-'));
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function startRedis(port: number): Promise<ChildProcess> {
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(redis);
  await waitForOutput(redis, /Ready to accept connections/, 'redis-server');
  return redis;
}

async function startGateway(redisUrl: string, extra: Record<string, string> = {}): Promise<string> {
  const env = Object.fromEntries(
    Object.entries(testEnv({ PORT: '0', SESSION_SECRET, ADMIN_SECRET, SESSION_STORE: redisUrl, ...extra })).filter(
      (e): e is [string, string] => e[1] !== undefined,
    ),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/node/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH!, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const m = (await waitForOutput(child, /"msg":"listening","url":"([^"]+)"/, 'the gateway')).match;
  return m[1]!.replace('127.0.0.1', 'localhost');
}

const access = async (base: string, sub: string, session?: string) =>
  fetch(`${base}/api/videos/ladder/access`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${await viewerToken('*', { sub })}`,
      ...(session ? { 'X-Hls-Gate-Session': session } : {}),
    },
  });
const revoke = (base: string, sub: string) =>
  fetch(`${base}/api/admin/revocations`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_SECRET}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ sub, ttl: 600 }),
  });

describe('Redis session control under attack', () => {
  it.each([1, 2])(
    'MAX_STREAMS_PER_VIEWER=%i across two instances: reused session ids and tokens do not add devices',
    async (limit) => {
      const port = await freePort();
      await startRedis(port);
      const url = `redis://127.0.0.1:${port}`;
      const [a, b] = [
        await startGateway(url, { MAX_STREAMS_PER_VIEWER: String(limit) }),
        await startGateway(url, { MAX_STREAMS_PER_VIEWER: String(limit) }),
      ];
      const first = (await (await access(a, 'sharer')).json()) as { sessionId: string; sessionToken: string };
      const byId = await Promise.all(
        Array.from({ length: 5 }, (_, i) => access(i % 2 ? a : b, 'sharer', first.sessionId)),
      );
      expect(byId.filter((r) => r.status === 200)).toHaveLength(limit - 1);
      const byToken = await Promise.all(
        Array.from({ length: 5 }, (_, i) => access(i % 2 ? a : b, 'sharer', first.sessionToken)),
      );
      expect(byToken.filter((r) => r.status === 200)).toHaveLength(1);
      expect((await access(b, 'sharer', first.sessionToken)).status).toBe(429);
    },
    60_000,
  );

  it('a revocation after Redis lost its state is applied within SESSION_POLL + 1 s, with no traffic in between', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    const a = await startGateway(url);
    const b = await startGateway(url);
    // viewer-b plays through both instances (a grant names the origin it was issued for).
    const cookies = new Map<string, string>();
    for (const base of [a, b]) {
      cookies.set(base, cookieHeader(cookiesFrom(await access(base, 'viewer-b'))));
      expect(
        (await fetch(`${base}/videos/ladder/master.m3u8`, { headers: { Cookie: cookies.get(base)! } })).status,
      ).toBe(200);
    }
    expect((await revoke(a, 'viewer-a')).status).toBe(201); // version 1
    await new Promise((r) => setTimeout(r, 1500)); // both instances have read version 1
    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('exit', r));
    redis = await startRedis(port); // empty: no persistence
    let revoked = 0;
    for (let i = 0; i < 50 && revoked !== 201; i++) {
      revoked = (await revoke(a, 'viewer-b')).status; // version 1 again, in a new epoch (retried while ioredis reconnects)
      if (revoked !== 201) await new Promise((r) => setTimeout(r, 200));
    }
    expect(revoked).toBe(201);
    await new Promise((r) => setTimeout(r, 2000)); // SESSION_POLL (1 s) + 1 s, and no request in between
    for (const base of [a, b]) {
      const res = await fetch(`${base}/videos/ladder/master.m3u8`, { headers: { Cookie: cookies.get(base)! } });
      expect(res.status).toBe(403);
      expect(res.headers.get('X-Hls-Gate-Reason')).toBe('revoked');
    }
  }, 60_000);
});

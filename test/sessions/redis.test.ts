// Session control across instances: a real redis-server started here, two gateway processes sharing it. A
// revocation made through one is enforced by the other within the stated delay (SESSION_POLL, 1 s); with
// MAX_STREAMS_PER_VIEWER=2 a third device is refused and admitted once one stops; 20 devices racing across both
// instances for 2 slots admit exactly 2; an unreachable Redis fails closed by default.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

async function startGateway(
  redisUrl: string,
  extra: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
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
  const m = (await waitForOutput(child, /"msg":"listening","url":"([^"]+)"/, 'the gateway')).match;
  return { url: m[1]!.replace('127.0.0.1', 'localhost'), child };
}

describe('session control with Redis, two gateway processes', () => {
  let dir: string;
  let redis: ChildProcess;
  let redisUrl: string;
  const gateways: ChildProcess[] = [];
  let a: string;
  let b: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-redis-'));
    const port = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await waitForOutput(redis, /Ready to accept connections/, 'redis-server');
    redisUrl = `redis://127.0.0.1:${port}`;
    for (const extra of [{ MAX_STREAMS_PER_VIEWER: '2' }, { MAX_STREAMS_PER_VIEWER: '2' }]) {
      const g = await startGateway(redisUrl, extra);
      gateways.push(g.child);
      if (!a) a = g.url;
      else b = g.url;
    }
  }, 60_000);
  afterAll(() => {
    for (const g of gateways) g.kill();
    redis?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const access = async (base: string, sub: string, videoId = 'ladder', sid?: string) =>
    fetch(`${base}/api/videos/${videoId}/access`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${await viewerToken('*', { sub })}`,
        ...(sid ? { 'X-Hls-Gate-Session': sid } : {}),
      },
    });

  it('a revocation made through one instance is enforced by the other within the stated delay', async () => {
    const grant = await access(b, 'alice');
    expect(grant.status).toBe(200);
    const cookie = cookieHeader(cookiesFrom(grant));
    expect((await fetch(`${b}/videos/ladder/master.m3u8`, { headers: { Cookie: cookie } })).status).toBe(200);
    const revoked = await fetch(`${a}/api/admin/revocations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_SECRET}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ sub: 'alice', ttl: 600 }),
    });
    expect(revoked.status).toBe(201);
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < 5000) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await fetch(`${b}/videos/ladder/master.m3u8`, { headers: { Cookie: cookie } })).status;
    }
    expect(status).toBe(403);
    // Stated worst case: one SESSION_POLL (1 s) plus a request in flight.
    expect(Date.now() - started).toBeLessThan(2500);
    expect((await access(b, 'alice')).status).toBe(403);
  });

  it('MAX_STREAMS_PER_VIEWER=2 across instances: a third device is refused, and admitted once one stops', async () => {
    const first = (await (await access(a, 'bob')).json()) as { sessionToken: string };
    expect((await access(b, 'bob', 'cmaf')).status).toBe(200);
    expect((await access(a, 'bob', 'aes')).status).toBe(429);
    expect((await access(b, 'bob', 'aes')).status).toBe(429);
    const stop = await fetch(`${b}/api/videos/ladder/access`, {
      method: 'DELETE',
      headers: {
        Authorization: `Bearer ${await viewerToken('*', { sub: 'bob' })}`,
        'X-Hls-Gate-Session': first.sessionToken,
      },
    });
    expect(stop.status).toBe(204);
    expect((await access(a, 'bob', 'aes')).status).toBe(200);
  });

  it('20 devices racing across both instances for 2 slots: exactly 2 win', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => access(i % 2 ? a : b, 'carol')));
    expect(results.filter((r) => r.status === 200)).toHaveLength(2);
    expect(results.filter((r) => r.status === 429)).toHaveLength(18);
  });

  it('an unreachable Redis fails closed by default: no new grant (503), and it is logged', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const g = await startGateway(dead, { MAX_STREAMS_PER_VIEWER: '2' });
    gateways.push(g.child);
    let log = '';
    g.child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    const res = await access(g.url, 'dave');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'store-unavailable' });
    await new Promise((r) => setTimeout(r, 200));
    expect(log).toMatch(/"level":"error","msg":"session store unreachable \([A-Za-z]+\); failing closed"/);
    const open = await startGateway(dead, { MAX_STREAMS_PER_VIEWER: '2', SESSION_STORE_FAILURE: 'open' });
    gateways.push(open.child);
    expect((await access(open.url, 'dave')).status).toBe(200);
  }, 30_000);
});

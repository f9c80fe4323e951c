// Session control on Workers: the Worker in workerd (Miniflare) with the Durable Object store. The same scenarios
// as with Redis: revocation enforced within one poll, a third device refused and admitted once one stops, 20
// devices racing for 2 slots admit exactly 2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Miniflare, type RequestInit as MiniflareRequestInit } from 'miniflare';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';

import { buildWorker } from '../../scripts/build-worker.mjs';

const ADMIN_SECRET = 'admin-secret-that-is-long-enough-0123456789ab';
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));

describe('session control in workerd with the Durable Object store', () => {
  let mf: Miniflare;
  const base = 'http://localhost:8787';
  const f = async (path: string, init?: RequestInit) =>
    (await mf.dispatchFetch(`${base}${path}`, init as MiniflareRequestInit | undefined)) as unknown as Response;
  const access = async (sub: string, videoId = 'ladder', sid?: string) =>
    f(`/api/videos/${videoId}/access`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${await viewerToken('*', { sub })}`,
        ...(sid ? { 'X-Hls-Gate-Session': sid } : {}),
      },
    });

  beforeAll(async () => {
    const scriptPath = await buildWorker(join(mkdtempSync(join(tmpdir(), 'hls-gate-worker-')), 'index.js'));
    const bindings = Object.fromEntries(
      Object.entries(
        testEnv({
          SESSION_SECRET: 'session-secret-that-is-long-enough-0123456789',
          ADMIN_SECRET,
          MAX_STREAMS_PER_VIEWER: '2',
        }),
      ).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    mf = new Miniflare({
      modules: true,
      scriptPath,
      modulesRoot: dirname(scriptPath),
      compatibilityDate: '2026-04-01',
      r2Buckets: ['MEDIA'],
      durableObjects: { SESSIONS: 'SessionStoreDO' },
      bindings,
    });
    const bucket = await mf.getR2Bucket('MEDIA');
    const media = join(REPO_ROOT, 'media');
    for (const file of files(media)) {
      const b = readFileSync(file);
      await bucket.put(relative(media, file), b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    }
  }, 60_000);
  afterAll(() => mf?.dispose());

  it('a revocation through the admin API is enforced within one poll interval', async () => {
    const grant = await access('alice');
    const cookie = cookieHeader(cookiesFrom(grant));
    expect((await f('/videos/ladder/master.m3u8', { headers: { Cookie: cookie } })).status).toBe(200);
    expect(
      (
        await f('/api/admin/revocations', {
          method: 'POST',
          headers: { Authorization: `Bearer ${ADMIN_SECRET}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ sub: 'alice', ttl: 600 }),
        })
      ).status,
    ).toBe(201);
    const started = Date.now();
    let res = await f('/videos/ladder/master.m3u8', { headers: { Cookie: cookie } });
    while (res.status === 200 && Date.now() - started < 5000) {
      await new Promise((r) => setTimeout(r, 100));
      res = await f('/videos/ladder/master.m3u8', { headers: { Cookie: cookie } });
    }
    expect(res.status).toBe(403);
    expect(res.headers.get('X-Hls-Gate-Reason')).toBe('revoked');
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('a third device is refused, and admitted once one stops', async () => {
    const first = (await (await access('bob')).json()) as { sessionToken: string };
    expect((await access('bob', 'cmaf')).status).toBe(200);
    expect((await access('bob', 'aes')).status).toBe(429);
    expect(
      (
        await f('/api/videos/ladder/access', {
          method: 'DELETE',
          headers: {
            Authorization: `Bearer ${await viewerToken('*', { sub: 'bob' })}`,
            'X-Hls-Gate-Session': first.sessionToken,
          },
        })
      ).status,
    ).toBe(204);
    expect((await access('bob', 'aes')).status).toBe(200);
  });

  it("five devices reusing the first one's session id or token: exactly 2 play (the Durable Object counts devices)", async () => {
    const first = (await (await access('sharer')).json()) as { sessionId: string; sessionToken: string };
    const byId = await Promise.all(Array.from({ length: 5 }, () => access('sharer', 'ladder', first.sessionId)));
    expect(byId.filter((r) => r.status === 200)).toHaveLength(1);
    const byToken = await Promise.all(Array.from({ length: 5 }, () => access('sharer', 'ladder', first.sessionToken)));
    expect(byToken.filter((r) => r.status === 200)).toHaveLength(1);
    expect((await access('sharer', 'ladder', first.sessionToken)).status).toBe(429);
  });

  it('20 devices racing for 2 slots: exactly 2 win', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => access('carol')));
    expect(results.filter((r) => r.status === 200)).toHaveLength(2);
    expect(results.filter((r) => r.status === 429)).toHaveLength(18);
  });
});

// The Durable Object's storage is durable: a restarted workerd (the same persisted state, as after a deploy or an
// eviction) still enforces a revocation; its version counter lives in the same storage, so it never starts over.
describe('the Durable Object store across a restart', () => {
  it('keeps its revocations across a restart', async () => {
    const persist = mkdtempSync(join(tmpdir(), 'hls-gate-do-persist-'));
    const scriptPath = await buildWorker(join(mkdtempSync(join(tmpdir(), 'hls-gate-worker-')), 'index.js'));
    const bindings = Object.fromEntries(
      Object.entries(testEnv({ SESSION_SECRET: 'session-secret-that-is-long-enough-0123456789', ADMIN_SECRET })).filter(
        (e): e is [string, string] => typeof e[1] === 'string',
      ),
    );
    const start = () =>
      new Miniflare({
        modules: true,
        scriptPath,
        modulesRoot: dirname(scriptPath),
        compatibilityDate: '2026-04-01',
        r2Buckets: ['MEDIA'],
        durableObjects: { SESSIONS: 'SessionStoreDO' },
        durableObjectsPersist: persist,
        bindings,
      });
    const admin = (mf: Miniflare, method: string, body?: unknown) =>
      mf.dispatchFetch('http://localhost:8787/api/admin/revocations', {
        method,
        headers: { Authorization: `Bearer ${ADMIN_SECRET}`, 'Content-Type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    let mf = start();
    try {
      expect((await admin(mf, 'POST', { sub: 'before-restart', ttl: 600 })).status).toBe(201);
      await mf.dispose();
      mf = start();
      await (await mf.getR2Bucket('MEDIA')).put('ladder/master.m3u8', '#EXTM3U\n');
      const listed = (await (await admin(mf, 'GET')).json()) as { revocations: { id: string }[] };
      expect(listed.revocations.map((r) => r.id)).toEqual(['before-restart']);
      const grant = await mf.dispatchFetch('http://localhost:8787/api/videos/ladder/access', {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*', { sub: 'before-restart' })}` },
      });
      expect(await grant.json()).toMatchObject({ status: 403, code: 'revoked' });
    } finally {
      await mf.dispose();
    }
  }, 60_000);
});

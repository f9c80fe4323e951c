// One contract, every SessionStore: the in-process store, Redis (a real redis-server started here) and the Durable
// Object (the real object in workerd, through test/workerd/store-worker/index.ts). Each store gets the same cases, read
// from the interface's documentation (server/app/session-store.ts): leases are taken, renewed with the latest proof
// only, refused at the limit, never counted once expired, exact under a race; revocations are listed until they end,
// lifted once, and move the version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { createMemoryStore, type SessionStore } from '../../server/app/session-store.ts';
import { createRedisStore } from '../../server/node/redis-store.ts';
import { freePort } from '../helpers/ports.ts';
import { waitForOutput } from '../helpers/process.ts';

interface Subject {
  store: SessionStore;
  stop: () => Promise<void>;
}

async function redisSubject(): Promise<Subject> {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-contract-redis-'));
  const port = await freePort();
  const redis: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForOutput(redis, /Ready to accept connections/, 'redis-server');
  const store = createRedisStore(`redis://127.0.0.1:${port}`);
  // The store fails fast while it is not connected (no offline queue): wait until it answers.
  for (let i = 0; ; i++) {
    const ok = await store.version().then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (i > 100) throw new Error('redis-server did not answer');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    store,
    stop: async () => {
      await store.close();
      redis.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function durableObjectSubject(): Promise<Subject> {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-contract-do-'));
  const scriptPath = join(dir, 'index.js');
  await build({
    entryPoints: [join(dirname(fileURLToPath(import.meta.url)), '../workerd/store-worker/index.ts')],
    outfile: scriptPath,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    logLevel: 'warning',
  });
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: dir,
    compatibilityDate: '2026-04-01',
    durableObjects: { SESSIONS: 'SessionStoreDO' },
  });
  const call = async <T>(method: keyof SessionStore, ...args: unknown[]): Promise<T> => {
    const res = await mf.dispatchFetch('http://store/', { method: 'POST', body: JSON.stringify({ method, args }) });
    if (!res.ok) throw new Error(`the store worker answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { result: T }).result;
  };
  const store: SessionStore = {
    lease: (...args) => call('lease', ...args),
    release: (...args) => call('release', ...args),
    revoke: (...args) => call('revoke', ...args),
    lift: (...args) => call('lift', ...args),
    revocations: (...args) => call('revocations', ...args),
    version: () => call('version'),
    close: () => call('close'),
  };
  return {
    store,
    stop: async () => {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const SUBJECTS: [string, () => Promise<Subject>][] = [
  ['memory', async () => ({ store: createMemoryStore(), stop: async () => {} })],
  ['redis', redisSubject],
  ['durable object', durableObjectSubject],
];

describe.each(SUBJECTS)('SessionStore contract: %s', (_name, make) => {
  let subject: Subject;
  let store: SessionStore;
  // Real epoch seconds: Redis also expires its keys by wall clock (a minute after the last lease ends).
  const now = Math.floor(Date.now() / 1000);
  let n = 0;
  // A viewer of its own per case: the stores are shared by the cases of one subject.
  const viewer = () => `v${++n}x`;
  const fresh = (next: string) => ({ previous: null, next });

  beforeAll(async () => {
    subject = await make();
    store = subject.store;
  }, 60_000);
  afterAll(() => subject?.stop());

  it('takes a new lease and renews it with its latest proof only', async () => {
    const sub = viewer();
    expect(await store.lease(sub, 's1', now + 60, 2, now, fresh('p1'))).toBe('ok');
    expect(await store.lease(sub, 's1', now + 120, 2, now, { previous: 'p1', next: 'p2' })).toBe('ok');
    // The proof it replaced is worth nothing now: whoever presents it holds a copy.
    expect(await store.lease(sub, 's1', now + 120, 2, now, { previous: 'p1', next: 'p3' })).toBe('stale');
    expect(await store.lease(sub, 's1', now + 180, 2, now, { previous: 'p2', next: 'p4' })).toBe('ok');
  });

  it('refuses a second new lease for a session that already has one (a copied session id)', async () => {
    const sub = viewer();
    expect(await store.lease(sub, 's1', now + 60, 2, now, fresh('p1'))).toBe('ok');
    expect(await store.lease(sub, 's1', now + 60, 2, now, fresh('other'))).toBe('stale');
  });

  it('refuses a renewal of a lease that does not exist or was given back', async () => {
    const sub = viewer();
    expect(await store.lease(sub, 's1', now + 60, 2, now, { previous: 'guess', next: 'p1' })).toBe('stale');
    expect(await store.lease(sub, 's2', now + 60, 2, now, fresh('p2'))).toBe('ok');
    await store.release(sub, 's2');
    expect(await store.lease(sub, 's2', now + 60, 2, now, { previous: 'p2', next: 'p3' })).toBe('stale');
  });

  it('counts the live leases of every viewer (the Node stores; the Durable Object has no metrics to feed)', async () => {
    if (_name === 'durable object') {
      expect('activeLeases' in store).toBe(false);
      return;
    }
    // Far enough ahead that the other cases' leases have all ended.
    const t = now + 10_000;
    const [a, b] = [viewer(), viewer()];
    expect(await store.lease(a, 'x', t + 60, 2, t, fresh('p1'))).toBe('ok');
    expect(await store.lease(a, 'y', t + 5, 2, t, fresh('p2'))).toBe('ok');
    expect(await store.lease(b, 'x', t + 60, 1, t, fresh('p3'))).toBe('ok');
    expect(await store.activeLeases!(t)).toBe(3);
    expect(await store.activeLeases!(t + 10)).toBe(2); // one ended
    await store.release(a, 'x');
    expect(await store.activeLeases!(t + 10)).toBe(1);
  });

  it('refuses a new lease at the limit and admits one once a lease is given back', async () => {
    const sub = viewer();
    expect(await store.lease(sub, 'a', now + 60, 2, now, fresh('pa'))).toBe('ok');
    expect(await store.lease(sub, 'b', now + 60, 2, now, fresh('pb'))).toBe('ok');
    expect(await store.lease(sub, 'c', now + 60, 2, now, fresh('pc'))).toBe('limit');
    // A renewal at the limit is not a new lease.
    expect(await store.lease(sub, 'a', now + 90, 2, now, { previous: 'pa', next: 'pa2' })).toBe('ok');
    await store.release(sub, 'b');
    expect(await store.lease(sub, 'c', now + 60, 2, now, fresh('pc'))).toBe('ok');
    // Another viewer's leases are counted apart.
    expect(await store.lease(viewer(), 'a', now + 60, 1, now, fresh('x'))).toBe('ok');
  });

  it('never counts an expired lease, and an expired lease cannot be renewed', async () => {
    const sub = viewer();
    expect(await store.lease(sub, 'a', now + 10, 1, now, fresh('pa'))).toBe('ok');
    expect(await store.lease(sub, 'b', now + 60, 1, now + 5, fresh('pb'))).toBe('limit');
    expect(await store.lease(sub, 'b', now + 60, 1, now + 10, fresh('pb'))).toBe('ok');
    expect(await store.lease(sub, 'a', now + 60, 2, now + 10, { previous: 'pa', next: 'pa2' })).toBe('stale');
  });

  it('gives exactly max leases to devices racing for them', async () => {
    const sub = viewer();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.lease(sub, `d${i}`, now + 60, 2, now, fresh(`p${i}`))),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(2);
    expect(results.filter((r) => r === 'limit')).toHaveLength(18);
  });

  it('lets exactly one of two holders of the same proof renew', async () => {
    const sub = viewer();
    expect(await store.lease(sub, 's', now + 60, 1, now, fresh('p0'))).toBe('ok');
    const results = await Promise.all(
      ['x', 'y', 'z'].map((next) => store.lease(sub, 's', now + 90, 1, now, { previous: 'p0', next })),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === 'stale')).toHaveLength(2);
  });

  it('lists revocations until they end, lifts each once, and moves the version on every change', async () => {
    const id = viewer();
    const v0 = await store.version();
    await store.revoke({ kind: 'sub', id, until: now + 60 });
    await store.revoke({ kind: 'session', id: `${id}-s`, until: now + 5 });
    const v1 = await store.version();
    expect(v1).not.toBe(v0);
    const mine = (list: { id: string }[]) => list.filter((r) => r.id.startsWith(id));
    expect(mine(await store.revocations(now))).toEqual(
      expect.arrayContaining([
        { kind: 'sub', id, until: now + 60 },
        { kind: 'session', id: `${id}-s`, until: now + 5 },
      ]),
    );
    expect(mine(await store.revocations(now))).toHaveLength(2);
    // Ended revocations are not in force (and are forgotten).
    expect(mine(await store.revocations(now + 5))).toEqual([{ kind: 'sub', id, until: now + 60 }]);
    expect(await store.lift('sub', id)).toBe(true);
    expect(await store.version()).not.toBe(v1);
    expect(await store.lift('sub', id)).toBe(false);
    expect(mine(await store.revocations(now))).toEqual([]);
  });

  it('replaces a revocation of the same id with the newer one', async () => {
    const id = viewer();
    await store.revoke({ kind: 'sub', id, until: now + 60 });
    await store.revoke({ kind: 'sub', id, until: now + 600 });
    expect((await store.revocations(now)).filter((r) => r.id === id)).toEqual([{ kind: 'sub', id, until: now + 600 }]);
    await store.lift('sub', id);
  });
});

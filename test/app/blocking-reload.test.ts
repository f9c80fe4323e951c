// The hub that holds requests (app/blocking-reload.ts), on a storage whose changes the test announces: one read per
// change however many requests wait, every satisfied request answered by that one read, deadlines by one sweep,
// the shared budget, a viewer who goes away forgotten at once, an idle hub closed (its watch ended).
import { describe, expect, it } from 'vitest';
import { BlockingReloads, holdBudget, type WatchableStorage } from '../../server/app/blocking-reload.ts';

function storage() {
  const s = {
    value: 0,
    reads: 0,
    watchers: new Set<() => void>(),
    change(v: number) {
      s.value = v;
      for (const w of s.watchers) w();
    },
  };
  const watchable = {
    head: async () => null,
    get: async () => null,
    watch: (_key: string, onChange: () => void) => {
      s.watchers.add(onChange);
      return () => s.watchers.delete(onChange);
    },
  } as WatchableStorage;
  const read = async () => {
    s.reads += 1;
    return { n: s.value };
  };
  return { s, watchable, read };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('held requests', () => {
  it('are all answered by one read when the value they wait for appears', async () => {
    const { s, watchable, read } = storage();
    const holds = new BlockingReloads(watchable, read, {
      budget: holdBudget(10_000, 10_000),
      sweepMs: 50,
      lingerMs: 100,
      now: Date.now,
    });
    const waiting = Array.from({ length: 2000 }, (_, i) =>
      holds.hold(
        'k',
        (v) => (v.n >= 1 + (i % 2) ? 'ready' : 'wait'),
        () => 10_000,
      ),
    );
    await tick();
    expect(holds.holding).toBe(2000);
    const readsBefore = s.reads;
    s.change(1);
    await tick();
    expect(s.reads - readsBefore).toBe(1);
    expect(holds.holding).toBe(1000); // those waiting for 1
    s.change(2);
    const results = await Promise.all(waiting);
    expect(results.every((r) => typeof r === 'object' && 'version' in r)).toBe(true);
    expect(s.reads - readsBefore).toBe(2);
    holds.close();
  });

  it('end at their deadline, refuse past the shared budget, and forget a viewer who leaves', async () => {
    const { watchable, read } = storage();
    const budget = holdBudget(2, 2);
    const options = { budget, sweepMs: 20, lingerMs: 50, now: Date.now };
    const a = new BlockingReloads(watchable, read, options);
    const b = new BlockingReloads(watchable, read, options);
    const leaving = new AbortController();
    const timed = a.hold(
      'k',
      () => 'wait',
      () => 60,
    );
    const left = b.hold(
      'k',
      () => 'wait',
      () => 10_000,
      leaving.signal,
    );
    await tick();
    expect(
      await a.hold(
        'k',
        () => 'wait',
        () => 10_000,
      ),
    ).toBe('busy');
    leaving.abort();
    expect(await left).toBe('aborted');
    expect(budget.held).toBe(1);
    expect(await timed).toBe('timeout');
    expect(budget.held).toBe(0);
    a.close();
    b.close();
  });

  it('stops watching a playlist nobody waits for', async () => {
    const { s, watchable, read } = storage();
    const holds = new BlockingReloads(watchable, read, {
      budget: holdBudget(10, 10),
      sweepMs: 10,
      lingerMs: 30,
      now: Date.now,
    });
    const r = holds.hold(
      'k',
      (v) => (v.n > 0 ? 'ready' : 'wait'),
      () => 1000,
    );
    s.change(1);
    expect(typeof (await r)).toBe('object');
    expect(s.watchers.size).toBe(1);
    await new Promise((done) => setTimeout(done, 150));
    expect(s.watchers.size).toBe(0);
  });
});

describe('one viewer', () => {
  it('cannot hold more than its share: another viewer still can', async () => {
    const { watchable, read } = storage();
    const holds = new BlockingReloads(watchable, read, {
      budget: holdBudget(100, 2),
      sweepMs: 20,
      lingerMs: 50,
      now: Date.now,
    });
    const mine = [1, 2].map(() =>
      holds.hold(
        'k',
        () => 'wait',
        () => 100,
        undefined,
        '192.0.2.1',
      ),
    );
    await tick();
    expect(
      await holds.hold(
        'k',
        () => 'wait',
        () => 100,
        undefined,
        '192.0.2.1',
      ),
    ).toBe('busy');
    const other = holds.hold(
      'k',
      () => 'wait',
      () => 100,
      undefined,
      '192.0.2.2',
    );
    await tick();
    expect(holds.holding).toBe(3);
    expect(await Promise.all([...mine, other])).toEqual(['timeout', 'timeout', 'timeout']);
    holds.close();
  });

  it('keeps no watch for a name that does not exist', async () => {
    const { s, watchable } = storage();
    const holds = new BlockingReloads(watchable, async () => null, {
      budget: holdBudget(),
      sweepMs: 20,
      lingerMs: 10_000,
      now: Date.now,
    });
    for (let i = 0; i < 100; i++)
      expect(
        await holds.hold(
          `x${i}`,
          () => 'wait',
          () => 100,
        ),
      ).toBe('gone');
    expect(s.watchers.size).toBe(0);
    holds.close();
  });
});

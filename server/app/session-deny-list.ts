import type { Revocation, SessionStore } from './session-store.ts';

// The deny-list as session control reads it: a copy held in memory, reloaded whenever the store's version changes
// (polled every `pollMs`, on a timer where the runtime has one, and by the first request after a pause), so the
// worst-case delay between a revocation and the first refused segment is one poll interval, across a store that
// lost its state too. Also where the store's health is tracked: a failure and a recovery are reported once each.

export type SessionFailMode = 'open' | 'closed';

export interface DenyListOptions {
  store: SessionStore;
  failMode: SessionFailMode;
  pollMs: number;
  now: () => number;
  report: (level: 'warn' | 'error', msg: string) => void;
  background?: boolean;
}

export function createDenyList(opts: DenyListOptions) {
  let denied = new Map<string, number>();
  let loadedVersion: string | null = null;
  let lastGood = 0;
  let nextPoll = 0;
  let polling: Promise<void> | undefined;
  let failing = false;

  function storeFailed(err: unknown): void {
    if (!failing)
      opts.report(
        'error',
        `session store unreachable (${err instanceof Error ? err.name : 'Error'}); failing ${opts.failMode}`,
      );
    failing = true;
  }
  function storeOk(): void {
    if (failing) opts.report('warn', 'session store reachable again');
    failing = false;
  }

  /**
   * Reloads the deny-list when its version changed, at most once per poll interval. While a reload is under way,
   * other requests use the list they have (they never await another request's I/O: Workers forbid it); only
   * before the first good reading do they make their own.
   */
  function refresh(): Promise<void> {
    const now = opts.now();
    if (now < nextPoll) return Promise.resolve();
    if (polling && lastGood > 0) return Promise.resolve();
    // `let`, not `const`: the finally below may run before the assignment (a store whose version() throws at once),
    // and must then read undefined rather than hit the temporal dead zone.
    let mine: Promise<void> | undefined;
    // eslint-disable-next-line prefer-const -- see above
    mine = (async () => {
      try {
        const v = await opts.store.version();
        if (v !== loadedVersion) {
          const list = await opts.store.revocations(Math.floor(now / 1000));
          denied = new Map(list.map((r) => [`${r.kind}:${r.id}`, r.until]));
          loadedVersion = v;
        }
        lastGood = now;
        storeOk();
      } catch (err) {
        storeFailed(err);
      } finally {
        nextPoll = opts.now() + opts.pollMs;
        if (polling === mine) polling = undefined;
      }
    })();
    polling = mine;
    return mine;
  }

  // Where the runtime allows a timer outside requests (Node), the deny-list is kept fresh without traffic too.
  const timer = opts.background ? setInterval(() => void refresh(), opts.pollMs) : undefined;
  (timer as { unref?: () => void } | undefined)?.unref?.();

  return {
    /** Revoked, per the deny-list; or undefined when the list is too old to trust and the mode is closed. */
    async isRevoked(kind: Revocation['kind'], id: string): Promise<boolean | undefined> {
      await refresh();
      const now = opts.now();
      if (now - lastGood > opts.pollMs * 10 + 1000 && opts.failMode === 'closed') return undefined;
      const until = denied.get(`${kind}:${id}`);
      return until !== undefined && until * 1000 > now;
    },
    storeFailed,
    storeOk,
    close(): void {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}

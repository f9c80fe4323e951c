import type { MediaStorage } from './storage.ts';

// Blocking playlist reload (draft-pantos-hls-rfc8216bis section 6.2.5.2): a request that asks for a part the
// playlist does not hold yet is held until it does. Held requests cost no timer and no read each: every playlist
// being waited on has one hub, told by the storage when the file changes (local disk: one inotify watch), which
// reads the new version once and answers every request it now satisfies. One sweep timer for the whole gateway
// ends requests that waited too long (three target durations: 503, section 6.2.5.2) and closes idle hubs.

export type HoldResult<T> =
  | { version: T }
  /** The playlist did not reach what was asked in time. */
  | 'timeout'
  /** The playlist is gone (or unreadable, or too large). */
  | 'gone'
  /** Too many requests are held already (MAX_HELD): answered 503 at once. */
  | 'busy'
  /** The viewer went away. */
  | 'aborted';

/** Requests held at once over every playlist and part (each costs about 25 KB with its connection, bench/). */
export const MAX_HELD = 20_000;
/**
 * Held at once by one address: a player holds one or two (a playlist, a hinted part); a household or an office
 * behind one address several players.
 */
export const MAX_HELD_PER_VIEWER = 32;

export type Readiness = 'ready' | 'wait' | 'too-far';

interface Waiter<T> {
  ready: (v: T) => Readiness;
  deadline: number;
  settle: (r: HoldResult<T> | { tooFar: T }) => void;
}

interface Hub<T> {
  waiters: Set<Waiter<T>>;
  latest: T | null;
  loaded: Promise<void>;
  reading: boolean;
  dirty: boolean;
  idleSince: number;
  unwatch: () => void;
}

/** Storage that can say when an object may have changed: what blocking reload needs. */
export type WatchableStorage = MediaStorage & Required<Pick<MediaStorage, 'watch'>>;

/**
 * How many requests may be held at once, shared by every BlockingReloads of a gateway: in all, and by one viewer
 * (its address), so that one viewer holding thousands cannot take every other viewer's place.
 */
export interface HoldBudget {
  max: number;
  held: number;
  maxPerHolder: number;
  byHolder: Map<string, number>;
}

/** A fresh budget: MAX_HELD in all, MAX_HELD_PER_VIEWER per address. */
export function holdBudget(max = MAX_HELD, maxPerHolder = MAX_HELD_PER_VIEWER): HoldBudget {
  return { max, held: 0, maxPerHolder, byHolder: new Map() };
}

export interface BlockingOptions {
  /** Requests held at once over every playlist and part (shared); more are answered 503 at once. */
  budget: HoldBudget;
  /** How often held requests are checked for their deadline, ms. */
  sweepMs: number;
  /** A hub with nothing held is closed after this long, ms (a player's next request usually comes first). */
  lingerMs: number;
  now: () => number;
}

/**
 * Requests held until what they wait for is in storage: `T` is what one read of a key gives (a playlist version for
 * blocking reload, a file's metadata for a preload-hinted part).
 */
export class BlockingReloads<T> {
  private readonly hubs = new Map<string, Hub<T>>();
  private held = 0;
  private readonly budget: HoldBudget;
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly storage: WatchableStorage,
    private readonly read: (key: string) => Promise<T | null>,
    private readonly options: BlockingOptions,
  ) {
    this.budget = options.budget;
  }

  /** Requests held right now. */
  get holding(): number {
    return this.held;
  }

  /**
   * The current version of `key` once `ready` says so, or why not. `too-far` comes back at once with the version
   * that was judged.
   */
  async hold(
    key: string,
    ready: (v: T) => Readiness,
    waitMs: (v: T) => number,
    signal?: AbortSignal,
    holder = '',
  ): Promise<HoldResult<T> | { tooFar: T }> {
    const hub = this.hubFor(key);
    if (!hub) return 'gone';
    hub.idleSince = this.options.now();
    await hub.loaded;
    // Closed while it loaded (idle long enough): start again on a live hub.
    if (this.hubs.get(key) !== hub) return this.hold(key, ready, waitMs, signal, holder);
    const now = hub.latest;
    if (!now) {
      // Nothing there: no hub is kept for a name that does not exist (a name per request would keep one each).
      if (hub.waiters.size === 0 && !hub.reading) this.drop(key, hub);
      return 'gone';
    }
    const verdict = ready(now);
    if (verdict === 'ready') return { version: now };
    if (verdict === 'too-far') return { tooFar: now };
    const mine = this.budget.byHolder.get(holder) ?? 0;
    if (this.budget.held >= this.budget.max || mine >= this.budget.maxPerHolder) return 'busy';
    if (signal?.aborted) return 'aborted';
    return new Promise((resolve) => {
      const waiter: Waiter<T> = {
        ready,
        deadline: this.options.now() + waitMs(now),
        settle: (r) => {
          if (!hub.waiters.delete(waiter)) return;
          this.held -= 1;
          this.budget.held -= 1;
          const left = (this.budget.byHolder.get(holder) ?? 1) - 1;
          if (left > 0) this.budget.byHolder.set(holder, left);
          else this.budget.byHolder.delete(holder);
          if (hub.waiters.size === 0) hub.idleSince = this.options.now();
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
      };
      const onAbort = () => waiter.settle('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      hub.waiters.add(waiter);
      this.held += 1;
      this.budget.held += 1;
      this.budget.byHolder.set(holder, (this.budget.byHolder.get(holder) ?? 0) + 1);
      this.startSweeping();
    });
  }

  /** Stops watching everything; held requests are answered as timed out. */
  close(): void {
    for (const hub of this.hubs.values()) for (const w of [...hub.waiters]) w.settle('timeout');
    for (const [key, hub] of this.hubs) this.drop(key, hub);
    this.stopSweeping();
  }

  private stopSweeping(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private hubFor(key: string): Hub<T> | null {
    const known = this.hubs.get(key);
    if (known) return known;
    const hub: Hub<T> = {
      waiters: new Set(),
      latest: null,
      loaded: Promise.resolve(),
      reading: false,
      dirty: false,
      idleSince: this.options.now(),
      unwatch: () => {},
    };
    // Watch first, then read: a change between the two is seen by the watch.
    const unwatch = this.storage.watch(key, () => this.changed(hub, key));
    if (!unwatch) return null;
    hub.unwatch = unwatch;
    hub.loaded = this.refresh(hub, key);
    this.hubs.set(key, hub);
    this.startSweeping();
    return hub;
  }

  private changed(hub: Hub<T>, key: string): void {
    if (hub.reading) hub.dirty = true;
    else void this.refresh(hub, key);
  }

  /** Reads the new version once and answers every request it satisfies; again if it changed during the read. */
  private async refresh(hub: Hub<T>, key: string): Promise<void> {
    hub.reading = true;
    do {
      hub.dirty = false;
      hub.latest = await this.read(key).catch(() => null);
      for (const w of [...hub.waiters]) {
        if (!hub.latest) w.settle('gone');
        else if (w.ready(hub.latest) === 'ready') w.settle({ version: hub.latest });
      }
    } while (hub.dirty);
    hub.reading = false;
  }

  private startSweeping(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), this.options.sweepMs);
    // Never what keeps a process alive.
    (this.sweeper as { unref?: () => void }).unref?.();
  }

  private sweep(): void {
    const now = this.options.now();
    for (const [key, hub] of this.hubs) {
      for (const w of [...hub.waiters]) if (w.deadline <= now) w.settle('timeout');
      const idle = hub.waiters.size === 0 && !hub.reading;
      if (idle && (hub.latest === null || now - hub.idleSince >= this.options.lingerMs)) this.drop(key, hub);
    }
    if (this.hubs.size === 0) this.stopSweeping();
  }

  private drop(key: string, hub: Hub<T>): void {
    hub.unwatch();
    this.hubs.delete(key);
  }
}

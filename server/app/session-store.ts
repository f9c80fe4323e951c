// Where session control keeps its state: leases (one per live device session) and revocations. The in-process store
// serves one Node instance; the Redis store (server/node/redis-store.ts) serves several. Leases are exact: taking
// the last slot is one atomic step in each store, so two devices racing for it cannot both win.

export interface Revocation {
  kind: 'sub' | 'session';
  id: string;
  /** epoch seconds: the revocation ends then (it is forgotten afterwards). */
  until: number;
}

export interface SessionStore {
  /**
   * Takes or renews the lease of session `sid` of viewer `sub` until `until` (epoch s). Refused (false) when the
   * viewer already has `max` other live leases. Expired leases never count.
   */
  lease(sub: string, sid: string, until: number, max: number, now: number): Promise<boolean>;
  /** Gives a lease back (playback stopped). */
  release(sub: string, sid: string): Promise<void>;
  revoke(r: Revocation): Promise<void>;
  /** Ends a revocation early; false when there was none. */
  lift(kind: Revocation['kind'], id: string): Promise<boolean>;
  /** The revocations still in force. */
  revocations(now: number): Promise<Revocation[]>;
  /** A number that changes whenever the revocations change (so other instances know when to reload them). */
  version(): Promise<number>;
  close(): Promise<void>;
}

/** One Node instance: state in this process; every step is synchronous, so each is atomic. */
export function createMemoryStore(): SessionStore {
  const leases = new Map<string, Map<string, number>>();
  const revoked = new Map<string, Revocation>();
  let version = 0;
  return {
    async lease(sub, sid, until, max, now) {
      const mine = leases.get(sub) ?? new Map<string, number>();
      for (const [s, u] of mine) if (u <= now) mine.delete(s);
      if (!mine.has(sid) && mine.size >= max) return false;
      mine.set(sid, until);
      leases.set(sub, mine);
      return true;
    },
    async release(sub, sid) {
      leases.get(sub)?.delete(sid);
    },
    async revoke(r) {
      revoked.set(`${r.kind}:${r.id}`, r);
      version++;
    },
    async lift(kind, id) {
      const had = revoked.delete(`${kind}:${id}`);
      if (had) version++;
      return had;
    },
    async revocations(now) {
      for (const [k, r] of revoked) if (r.until <= now) revoked.delete(k);
      return [...revoked.values()];
    },
    async version() {
      return version;
    },
    async close() {},
  };
}

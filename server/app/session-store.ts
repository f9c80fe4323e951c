// Where session control keeps its state: leases (one per live device session) and revocations. The in-process store
// serves one Node instance; the Redis store (server/node/redis-store.ts) serves several. Leases are exact: taking
// the last slot is one atomic step in each store, so two devices racing for it cannot both win.

export interface Revocation {
  kind: 'sub' | 'session';
  id: string;
  /** epoch seconds: the revocation ends then (it is forgotten afterwards). */
  until: number;
}

/**
 * The proof of a lease: a new one is handed out with every grant; renewing needs the latest. Whoever presents an
 * older one (a copy of another device's session) is not that device.
 */
export interface LeaseProof {
  /** The proof the device presented (null: a new session). */
  previous: string | null;
  /** The proof that replaces it. */
  next: string;
}

/** `ok`: leased; `limit`: the viewer has `max` other live leases; `stale`: not the current proof of that lease. */
export type LeaseResult = 'ok' | 'limit' | 'stale';

export interface SessionStore {
  /**
   * Takes (proof.previous null) or renews (proof.previous the lease's current proof) the lease of session `sid` of
   * viewer `sub` until `until` (epoch s), replacing its proof with `proof.next`, in one atomic step. A new lease is
   * refused (`limit`) when the viewer already has `max` live leases; a renewal whose proof is not the lease's current
   * one, or whose lease has ended, is `stale`. Expired leases never count.
   */
  lease(sub: string, sid: string, until: number, max: number, now: number, proof: LeaseProof): Promise<LeaseResult>;
  /** Gives a lease back (playback stopped). */
  release(sub: string, sid: string): Promise<void>;
  revoke(r: Revocation): Promise<void>;
  /** Ends a revocation early; false when there was none. */
  lift(kind: Revocation['kind'], id: string): Promise<boolean>;
  /** The revocations still in force. */
  revocations(now: number): Promise<Revocation[]>;
  /**
   * A value that changes whenever the revocations change, so other instances know when to reload them; also when the
   * store lost its state (a restarted or flushed Redis): it then differs from every value read before.
   */
  version(): Promise<string>;
  /**
   * Optional: leases live at `now` over every viewer (the Node stores; metrics read it at each scrape). The Durable
   * Object store has none: Workers have no metrics listener.
   */
  activeLeases?(now: number): Promise<number>;
  close(): Promise<void>;
}

/** One Node instance: state in this process; every step is synchronous, so each is atomic. */
export function createMemoryStore(): SessionStore {
  const leases = new Map<string, Map<string, { until: number; proof: string }>>();
  const revoked = new Map<string, Revocation>();
  let version = 0;
  return {
    async lease(sub, sid, until, max, now, proof) {
      const mine = leases.get(sub) ?? new Map<string, { until: number; proof: string }>();
      for (const [s, l] of mine) if (l.until <= now) mine.delete(s);
      const held = mine.get(sid);
      if (proof.previous !== null ? held?.proof !== proof.previous : held !== undefined) return 'stale';
      if (!held && mine.size >= max) return 'limit';
      mine.set(sid, { until, proof: proof.next });
      leases.set(sub, mine);
      return 'ok';
    },
    async release(sub, sid) {
      leases.get(sub)?.delete(sid);
    },
    async activeLeases(now) {
      let live = 0;
      for (const [sub, mine] of leases) {
        for (const [sid, l] of mine) if (l.until <= now) mine.delete(sid);
        if (mine.size === 0) leases.delete(sub);
        live += mine.size;
      }
      return live;
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
      return String(version);
    },
    async close() {},
  };
}

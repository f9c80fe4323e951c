import type { LeaseProof, LeaseResult, Revocation, SessionStore } from '../app/session-store.ts';

// Session control on Workers: one Durable Object holds the leases and the revocations. A Durable Object is a
// single writer (its requests are processed one at a time, with storage writes confirmed before the reply), so
// taking the last slot is atomic, like the Redis Lua script. Revocations live in the same object rather than in
// Workers KV: KV is eventually consistent (up to ~60 s to reach other locations), which would stretch the stated
// delay; here every isolate polls the object's version every SESSION_POLL, so the delay stays one poll interval.
// One object for the whole deployment is plenty for lease and revocation traffic (a few requests per viewer per
// grant); spreading leases over one object per viewer is the step after that.

interface LeaseState {
  leases: Record<string, Record<string, { until: number; proof: string }>>;
  revoked: Record<string, Revocation>;
  version: number;
}

type Op =
  | { op: 'lease'; sub: string; sid: string; until: number; max: number; now: number; proof: LeaseProof }
  | { op: 'release'; sub: string; sid: string }
  | { op: 'revoke'; r: Revocation }
  | { op: 'lift'; kind: Revocation['kind']; id: string }
  | { op: 'revocations'; now: number }
  | { op: 'version' };

/** The Durable Object class (bind it as SESSIONS in wrangler.toml). */
export class SessionStoreDO {
  #state: DurableObjectState;
  #data: LeaseState | undefined;

  constructor(state: DurableObjectState) {
    this.#state = state;
  }

  async #load(): Promise<LeaseState> {
    this.#data ??= (await this.#state.storage.get<LeaseState>('state')) ?? { leases: {}, revoked: {}, version: 0 };
    return this.#data;
  }

  async #save(data: LeaseState): Promise<void> {
    await this.#state.storage.put('state', data);
  }

  async fetch(request: Request): Promise<Response> {
    const op = await request.json<Op>();
    const data = await this.#load();
    const reply = (v: unknown) => Response.json({ v });
    switch (op.op) {
      case 'lease': {
        const mine = data.leases[op.sub] ?? {};
        for (const [s, l] of Object.entries(mine)) if (typeof l !== 'object' || l.until <= op.now) delete mine[s];
        const held = mine[op.sid];
        if (op.proof.previous !== null ? held?.proof !== op.proof.previous : held !== undefined) return reply('stale');
        if (!held && Object.keys(mine).length >= op.max) return reply('limit');
        mine[op.sid] = { until: op.until, proof: op.proof.next };
        data.leases[op.sub] = mine;
        await this.#save(data);
        return reply('ok');
      }
      case 'release': {
        if (data.leases[op.sub]) delete data.leases[op.sub]![op.sid];
        await this.#save(data);
        return reply(null);
      }
      case 'revoke': {
        data.revoked[`${op.r.kind}:${op.r.id}`] = op.r;
        data.version++;
        await this.#save(data);
        return reply(null);
      }
      case 'lift': {
        const key = `${op.kind}:${op.id}`;
        const had = key in data.revoked;
        delete data.revoked[key];
        if (had) {
          data.version++;
          await this.#save(data);
        }
        return reply(had);
      }
      case 'revocations': {
        for (const [k, r] of Object.entries(data.revoked)) if (r.until <= op.now) delete data.revoked[k];
        return reply(Object.values(data.revoked));
      }
      case 'version':
        // Durable Object storage is durable: the counter survives restarts and moves, so it only ever grows.
        return reply(String(data.version));
    }
  }
}

/** The SessionStore contract over the Durable Object (one object, named "sessions"). */
export function createDurableObjectStore(namespace: DurableObjectNamespace): SessionStore {
  const call = async <T>(op: Op): Promise<T> => {
    // A stub per call: Workers bind I/O objects to the request that made them, and this store serves them all.
    const stub = namespace.get(namespace.idFromName('sessions'));
    const res = await stub.fetch('https://session-store/', { method: 'POST', body: JSON.stringify(op) });
    if (!res.ok) throw new Error(`session store answered ${res.status}`);
    return (await res.json<{ v: T }>()).v;
  };
  return {
    lease: (sub, sid, until, max, now, proof) => call<LeaseResult>({ op: 'lease', sub, sid, until, max, now, proof }),
    release: (sub, sid) => call<null>({ op: 'release', sub, sid }).then(() => undefined),
    revoke: (r) => call<null>({ op: 'revoke', r }).then(() => undefined),
    lift: (kind, id) => call<boolean>({ op: 'lift', kind, id }),
    revocations: (now) => call<Revocation[]>({ op: 'revocations', now }),
    version: () => call<string>({ op: 'version' }),
    close: async () => {},
  };
}

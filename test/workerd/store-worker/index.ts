// Runs INSIDE workerd: the Durable Object session store (server/worker/session-do.ts) behind a fetch handler, so the
// store contract test (test/sessions/store-contract.test.ts) drives the real object from Node. Each request is one
// call of the SessionStore interface: `{ method, args }` in, `{ result }` out. Type-checked with the Workers types
// (server/worker/tsconfig.json), not with Node's.
import type { SessionStore } from '../../../server/app/session-store.ts';
import { SessionStoreDO, createDurableObjectStore } from '../../../server/worker/session-do.ts';

export { SessionStoreDO };

interface Env {
  SESSIONS: DurableObjectNamespace;
}

/** The interface's required methods (the optional activeLeases is the Node stores' alone). */
type Method = Exclude<keyof SessionStore, 'activeLeases'>;
type Call = { [M in Method]: { method: M; args: Parameters<SessionStore[M]> } }[Method];

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const call = await request.json<Call>();
    const store = createDurableObjectStore(env.SESSIONS);
    const result: unknown = await (
      store[call.method] as (this: SessionStore, ...args: Call['args']) => Promise<unknown>
    ).apply(store, call.args);
    return Response.json({ result: result ?? null });
  },
};

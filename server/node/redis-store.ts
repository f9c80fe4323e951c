import { Redis } from 'ioredis';
import type { Revocation, SessionStore } from '../app/session-store.ts';

// Session control across several Node instances: leases in one sorted set per viewer (score = lease end) with each
// lease's current proof in a hash beside it, taken or renewed by one Lua script, so the check-and-add is atomic in
// Redis and two devices racing for the last slot cannot both win, nor two holders of one proof both renew it.
// Revocations live in one hash with a version counter the instances poll; the counter is tagged with a random epoch
// written once (SET NX), so a Redis that lost its state (restarted without persistence, flushed, failed over to an
// empty replica) reads as a new version even when its counter starts again at the same number.
// Bounded waits: no offline queue, one retry, a command timeout, so an unreachable Redis fails fast and
// SESSION_STORE_FAILURE decides.

// KEYS: leases zset, proofs hash, every viewer's leases zset (metrics). ARGV: sid, until, max, now, previous proof
// ('' = new), next proof, the viewer's prefix in the last zset.
// Returns 1 ok, 0 limit, -1 stale.
const LEASE = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
  redis.call('HDEL', KEYS[2], unpack(expired))
  for _, s in ipairs(expired) do redis.call('ZREM', KEYS[3], ARGV[7] .. s) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[4])
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[5] ~= '' then
  if (not held) or redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[5] then return -1 end
else
  if held then return -1 end
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[7] .. ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local keep = math.ceil(tonumber(last[2])) + 60
redis.call('EXPIREAT', KEYS[1], keep)
redis.call('EXPIREAT', KEYS[2], keep)
return 1`;

const RESULTS = { 1: 'ok', 0: 'limit', [-1]: 'stale' } as const;

/** Live leases over every viewer; ended ones are dropped here (a viewer who never came back leaves its entry until then). */
async function countLeases(redis: Redis, key: string, now: number): Promise<number> {
  const [, counted] =
    (await redis.multi().zremrangebyscore(key, '-inf', now).zcount(key, `(${now}`, '+inf').exec()) ?? [];
  if (!counted || counted[0]) throw counted?.[0] ?? new Error('the lease count failed');
  return Number(counted[1]);
}

/** Bounded waits: no offline queue, one retry, short timeouts; errors are the session control's to report. */
function connect(url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 1000,
    lazyConnect: false,
  });
  redis.on('error', () => {}); // reported by the session control when a command fails; never crash the process
  return redis;
}

export function createRedisStore(url: string, prefix = 'hls-gate:'): SessionStore {
  const redis = connect(url);
  // Subs follow one rule (app/subject.ts): at most 200 bytes, no control characters, so they are safe in a key.
  const leases = (sub: string) => `${prefix}leases:${sub}`;
  const proofs = (sub: string) => `${prefix}lease-proofs:${sub}`;
  // Every live lease once more, member "<sub as JSON>\n<sid>" (a sid has no newline), for one count of them all.
  const allLeases = `${prefix}leases-all`;
  const member = (sub: string) => `${JSON.stringify(sub)}\n`;
  const revokedKey = `${prefix}revoked`;
  const versionKey = `${prefix}revoked:version`;
  const epochKey = `${prefix}revoked:epoch`;
  const newEpoch = () =>
    [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('');
  return {
    async lease(sub, sid, until, max, now, proof) {
      const r = (await redis.eval(
        LEASE,
        3,
        leases(sub),
        proofs(sub),
        allLeases,
        sid,
        String(until),
        String(max),
        String(now),
        proof.previous ?? '',
        proof.next,
        member(sub),
      )) as 1 | 0 | -1;
      return RESULTS[r];
    },
    async release(sub, sid) {
      await redis
        .multi()
        .zrem(leases(sub), sid)
        .hdel(proofs(sub), sid)
        .zrem(allLeases, `${member(sub)}${sid}`)
        .exec();
    },
    activeLeases: (now) => countLeases(redis, allLeases, now),
    async revoke(r) {
      await redis
        .multi()
        .set(epochKey, newEpoch(), 'NX')
        .hset(revokedKey, `${r.kind}:${r.id}`, String(r.until))
        .incr(versionKey)
        .exec();
    },
    async lift(kind, id) {
      const [, [, removed] = [null, 0]] =
        (await redis
          .multi()
          .set(epochKey, newEpoch(), 'NX')
          .hdel(revokedKey, `${kind}:${id}`)
          .incr(versionKey)
          .exec()) ?? [];
      return removed === 1;
    },
    async revocations(now) {
      const all = await redis.hgetall(revokedKey);
      const out: Revocation[] = [];
      const stale: string[] = [];
      for (const [field, until] of Object.entries(all)) {
        const colon = field.indexOf(':');
        const kind = field.slice(0, colon);
        if ((kind !== 'sub' && kind !== 'session') || Number(until) <= now) stale.push(field);
        else out.push({ kind, id: field.slice(colon + 1), until: Number(until) });
      }
      if (stale.length > 0) await redis.hdel(revokedKey, ...stale);
      return out;
    },
    async version() {
      const [epoch, version] = await redis.mget(epochKey, versionKey);
      // No epoch: nothing was ever revoked here, or the store lost its state; either way a fresh reading.
      return `${epoch ?? 'none'}:${version ?? 0}`;
    },
    async close() {
      redis.disconnect();
    },
  };
}

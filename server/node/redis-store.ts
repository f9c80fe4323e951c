import { Redis } from 'ioredis';
import type { Revocation, SessionStore } from '../app/session-store.ts';

// Session control across several Node instances: leases in one sorted set per viewer (score = lease end), taken or
// renewed by one Lua script, so the check-and-add is atomic in Redis and two devices racing for the last slot
// cannot both win; revocations in one hash with a version counter the instances poll. Bounded waits: no offline
// queue, one retry, a command timeout, so an unreachable Redis fails fast and SESSION_STORE_FAILURE decides.

const LEASE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not held) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('EXPIREAT', KEYS[1], math.ceil(tonumber(last[2])) + 60)
return 1`;

export function createRedisStore(url: string, prefix = 'hls-gate:'): SessionStore {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 1000, lazyConnect: false });
  redis.on('error', () => {}); // reported by the session control when a command fails; never crash the process
  const leases = (sub: string) => `${prefix}leases:${sub}`;
  const revokedKey = `${prefix}revoked`;
  const versionKey = `${prefix}revoked:version`;
  return {
    async lease(sub, sid, until, max, now) {
      return (await redis.eval(LEASE, 1, leases(sub), sid, String(until), String(max), String(now))) === 1;
    },
    async release(sub, sid) {
      await redis.zrem(leases(sub), sid);
    },
    async revoke(r) {
      await redis.multi().hset(revokedKey, `${r.kind}:${r.id}`, String(r.until)).incr(versionKey).exec();
    },
    async lift(kind, id) {
      const [[, removed] = [null, 0]] = (await redis.multi().hdel(revokedKey, `${kind}:${id}`).incr(versionKey).exec()) ?? [];
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
      return Number((await redis.get(versionKey)) ?? 0);
    },
    async close() {
      redis.disconnect();
    },
  };
}

import type { Grant } from '../core/index.ts';
import { decodeCloudFrontBase64, encodeCloudFrontBase64 } from '../core/index.ts';
import type { SessionStore } from './session-store.ts';
import { SID, TAG, sessionHmac, type BoundGrant } from './session-hmac.ts';
import { createDenyList, type SessionFailMode } from './session-deny-list.ts';
import { Lru } from '../core/lru.ts';
import { MAX_SUBJECT_BYTES, isSubject } from './subject.ts';

// Session control (on when SESSION_SECRET is set): every grant belongs to a viewer (`sub`) and a device session the
// gateway mints. The companion cookie `HlsGate-Session` carries both, with an HMAC (SESSION_SECRET) over them and
// the grant they travel with (its key pair ID, Resource and expiry: what its CloudFront signature covers), so it
// can be neither forged nor moved onto other credentials. Revocations are checked on every media request against a
// copy of the deny-list held in memory and reloaded whenever the store's version changes (polled every
// `pollMs`, on a timer where the runtime has one, and by the first request after a pause): the worst-case delay
// between a revocation and the first refused segment is one poll interval, across a store that lost its state too.
//
// A device keeps its session across renewals with a session token (`sid.proof.mac`, sent back in
// X-Hls-Gate-Session): the gateway mints the sid, the HMAC binds sid, sub and proof, and under a stream limit each
// renewal replaces the proof in the store (one atomic step), so a copy of another device's token is a stale proof:
// that device is counted as a new one.

export type { SessionFailMode } from './session-deny-list.ts';

export interface SessionControlOptions {
  secret: string;
  store: SessionStore;
  /** Live device sessions allowed per viewer; undefined = no limit (no leases are taken). */
  maxStreams?: number;
  /** When the store cannot be reached: refuse (closed) or carry on without it (open). */
  failMode: SessionFailMode;
  /** How often the deny-list's version is checked (ms). */
  pollMs: number;
  now: () => number;
  /** Store failures and recoveries, for the log (never a cookie value). */
  report: (level: 'warn' | 'error', msg: string) => void;
  /** Poll on a timer too, not only when requests come (runtimes that allow timers outside requests: Node). */
  background?: boolean;
}

export type SessionIssue =
  | { ok: true; sid: string; cookie: string; token: string }
  | { ok: false; status: 403 | 429 | 503; code: 'revoked' | 'too-many-streams' | 'store-unavailable'; detail: string };

export interface SessionCheck {
  ok: boolean;
  reason?: 'session-invalid' | 'revoked' | 'store-unavailable';
  sub?: string;
  sid?: string;
}

export { SID } from './session-hmac.ts';
const SUB_B64_MAX = Math.ceil(MAX_SUBJECT_BYTES / 3) * 4;
/** The shape of an `HlsGate-Session` value (`sid.sub.tag`): anything else is junk, set aside before any work. */
export const isSessionValue = (value: string): boolean => {
  const [sid, subB64, tag, extra] = value.split('.', 4);
  return extra === undefined && SID.test(sid ?? '') && !!subB64 && subB64.length <= SUB_B64_MAX && TAG.test(tag ?? '');
};
/**
 * Well-formed session values judged per request at most (each costs one HMAC, a few microseconds); junk does not
 * count. High enough that cookies planted by a sibling subdomain (a browser keeps ~180 per domain) cannot push the
 * real one out; a request's header size bounds it anyway.
 */
export const MAX_SESSION_VALUES = 256;
const newId = () => encodeCloudFrontBase64(crypto.getRandomValues(new Uint8Array(16))).slice(0, 22);

/** A device session for a grant: the same session for a genuine token, a new one otherwise; a lease under a limit. */
async function issueSession(
  opts: SessionControlOptions,
  hmac: ReturnType<typeof sessionHmac>,
  denyList: ReturnType<typeof createDenyList>,
  sub: string,
  presented: string | null,
  grant: BoundGrant,
): Promise<SessionIssue> {
  const unavailable = {
    ok: false,
    status: 503,
    code: 'store-unavailable',
    detail: 'The session store cannot be reached; try again shortly.',
  } as const;
  const held = await hmac.readToken(presented, sub);
  let sid = held?.sid ?? newId();
  const proof = newId();
  for (const [kind, id] of [
    ['sub', sub],
    ['session', sid],
  ] as const) {
    const r = await denyList.isRevoked(kind, id);
    if (r === undefined) return unavailable;
    if (r) return { ok: false, status: 403, code: 'revoked', detail: 'Access for this viewer or device was revoked.' };
  }
  if (opts.maxStreams !== undefined) {
    try {
      const now = Math.floor(opts.now() / 1000);
      let leased = await opts.store.lease(sub, sid, grant.expiresAt, opts.maxStreams, now, {
        previous: held?.proof ?? null,
        next: proof,
      });
      // A stale proof (a copied token, or a lease that ended): this device is a new one.
      if (leased === 'stale')
        leased = await opts.store.lease(sub, (sid = newId()), grant.expiresAt, opts.maxStreams, now, {
          previous: null,
          next: proof,
        });
      denyList.storeOk();
      if (leased !== 'ok')
        return {
          ok: false,
          status: 429,
          code: 'too-many-streams',
          detail: `This account is already playing on ${opts.maxStreams} device${opts.maxStreams === 1 ? '' : 's'}; stop one to watch here.`,
        };
    } catch (err) {
      denyList.storeFailed(err);
      if (opts.failMode === 'closed') return unavailable;
    }
  }
  return { ok: true, sid, cookie: await hmac.cookie(sid, sub, grant), token: await hmac.token(sid, sub, proof) };
}

export function createSessionControl(opts: SessionControlOptions) {
  const hmac = sessionHmac(opts.secret);
  const denyList = createDenyList(opts);
  // Session cookies whose HMAC already verified for a grant: a segment request then skips the HMAC (the revocation
  // check still runs every time). Successes only, keyed by the exact strings, bounded in entries and bytes.
  const verified = new Lru<{ sub: string; sid: string }>(10_000, 10_000 * 600);

  /** A session whose cookie holds: refused only when revoked (or when the deny-list cannot be trusted). */
  async function judge(sub: string, sid: string): Promise<SessionCheck> {
    const bySub = await denyList.isRevoked('sub', sub);
    const bySession = await denyList.isRevoked('session', sid);
    if (bySub === undefined || bySession === undefined) return { ok: false, reason: 'store-unavailable', sub, sid };
    if (bySub || bySession) return { ok: false, reason: 'revoked', sub, sid };
    return { ok: true, sub, sid };
  }

  /** The viewer and session of a well-formed cookie value whose HMAC is the gateway's for this grant, or null. */
  async function sessionOf(value: string, grant: Grant): Promise<{ sub: string; sid: string } | null> {
    const [sid = '', subB64 = '', tag = ''] = value.split('.');
    try {
      const sub = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(decodeCloudFrontBase64(subB64));
      return isSubject(sub) && (await hmac.cookieValid(sid, sub, grant, tag)) ? { sub, sid } : null;
    } catch {
      return null;
    }
  }

  return {
    /**
     * The session for a grant being issued or renewed. `presented` is the session token the device sent back (its
     * X-Hls-Gate-Session): the same session when the gateway minted it for this viewer and, under a stream limit,
     * its proof is the latest; otherwise a new session, counted as a new device.
     */
    issue: (sub: string, presented: string | null, grant: BoundGrant): Promise<SessionIssue> =>
      issueSession(opts, hmac, denyList, sub, presented, grant),

    /** Checks the session cookies of a media request against the grant that let it through. */
    async check(values: readonly string[], grant: Grant): Promise<SessionCheck> {
      // Junk (malformed values, planted by a sibling subdomain) is set aside before counting, so it cannot push the
      // real cookie out of the values judged; each well-formed one costs one HMAC, and at most MAX_SESSION_VALUES.
      let judged = 0;
      for (const value of values) {
        if (!isSessionValue(value)) continue;
        if (judged++ >= MAX_SESSION_VALUES) break;
        const cacheKey = `${grant.keyPairId}\n${grant.resource}\n${grant.expiresAt}\n${value}`;
        const known = verified.get(cacheKey);
        if (known) return judge(known.sub, known.sid);
        const session = await sessionOf(value, grant);
        if (!session) continue;
        verified.set(cacheKey, session);
        return judge(session.sub, session.sid);
      }
      return { ok: false, reason: 'session-invalid' };
    },

    /** Gives a device's lease back, given its session token; the sid released, or null for a token that is not this viewer's. */
    async release(sub: string, presented: string): Promise<string | null> {
      const held = await hmac.readToken(presented, sub);
      if (!held) return null;
      if (opts.maxStreams === undefined) return held.sid;
      try {
        await opts.store.release(sub, held.sid);
      } catch (err) {
        denyList.storeFailed(err);
      }
      return held.sid;
    },

    close: () => denyList.close(),

    store: opts.store,
  };
}

export type SessionControl = ReturnType<typeof createSessionControl>;

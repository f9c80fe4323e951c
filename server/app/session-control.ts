import type { Grant } from '../core/index.ts';
import { decodeCloudFrontBase64, encodeCloudFrontBase64 } from '../core/index.ts';
import type { Revocation, SessionStore } from './session-store.ts';
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

export type SessionFailMode = 'open' | 'closed';

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

/** A session id as the gateway mints it (16 random bytes in CloudFront's base64 alphabet). */
export const SID = /^[A-Za-z0-9~_-]{22}$/;
// An HMAC-SHA256 tag in CloudFront's base64 alphabet: 43 characters and the padding character.
const TAG = /^[A-Za-z0-9~-]{43}_$/;
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
const enc = new TextEncoder();
const newId = () => encodeCloudFrontBase64(crypto.getRandomValues(new Uint8Array(16))).slice(0, 22);

export function createSessionControl(opts: SessionControlOptions) {
  const keyPromise = crypto.subtle.importKey('raw', enc.encode(opts.secret) as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  let denied = new Map<string, number>();
  let loadedVersion: string | null = null;
  let lastGood = 0;
  let nextPoll = 0;
  let polling: Promise<void> | undefined;
  let failing = false;
  // Session cookies whose HMAC already verified for a grant: a segment request then skips the HMAC (the revocation
  // check still runs every time). Successes only, keyed by the exact strings, bounded in entries and bytes.
  const verified = new Lru<{ sub: string; sid: string }>(10_000, 10_000 * 600);

  const material = (sid: string, sub: string, grant: Pick<Grant, 'keyPairId' | 'resource' | 'expiresAt'>) =>
    enc.encode(`hls-gate-session-v1\n${sid}\n${sub}\n${grant.keyPairId}\n${grant.resource}\n${grant.expiresAt}`);

  async function mac(sid: string, sub: string, grant: Pick<Grant, 'keyPairId' | 'resource' | 'expiresAt'>): Promise<string> {
    return encodeCloudFrontBase64(new Uint8Array(await crypto.subtle.sign('HMAC', await keyPromise, material(sid, sub, grant))));
  }

  // The session token: another HMAC input (its own prefix), so a token can never pass for a cookie or the reverse.
  const tokenMaterial = (sid: string, sub: string, proof: string) => enc.encode(`hls-gate-session-token-v1\n${sid}\n${sub}\n${proof}`);
  async function token(sid: string, sub: string, proof: string): Promise<string> {
    return `${sid}.${proof}.${encodeCloudFrontBase64(new Uint8Array(await crypto.subtle.sign('HMAC', await keyPromise, tokenMaterial(sid, sub, proof))))}`;
  }
  /** The sid and proof of a token the gateway minted for this viewer, or null. */
  async function readToken(value: string | null, sub: string): Promise<{ sid: string; proof: string } | null> {
    const [sid, proof, tag, extra] = (value ?? '').split('.', 4);
    if (extra !== undefined || !sid || !SID.test(sid) || !proof || !SID.test(proof) || !tag || !TAG.test(tag)) return null;
    try {
      const ok = await crypto.subtle.verify('HMAC', await keyPromise, decodeCloudFrontBase64(tag) as BufferSource, tokenMaterial(sid, sub, proof));
      return ok ? { sid, proof } : null;
    } catch {
      return null;
    }
  }

  function storeFailed(err: unknown): void {
    if (!failing) opts.report('error', `session store unreachable (${err instanceof Error ? err.name : 'Error'}); failing ${opts.failMode}`);
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

  /** Revoked, per the deny-list; or undefined when the list is too old to trust and the mode is closed. */
  async function isRevoked(kind: Revocation['kind'], id: string): Promise<boolean | undefined> {
    await refresh();
    const now = opts.now();
    if (now - lastGood > opts.pollMs * 10 + 1000 && opts.failMode === 'closed') return undefined;
    const until = denied.get(`${kind}:${id}`);
    return until !== undefined && until * 1000 > now;
  }

  /** A session whose cookie holds: refused only when revoked (or when the deny-list cannot be trusted). */
  async function judge(sub: string, sid: string): Promise<SessionCheck> {
    const bySub = await isRevoked('sub', sub);
    const bySession = await isRevoked('session', sid);
    if (bySub === undefined || bySession === undefined) return { ok: false, reason: 'store-unavailable', sub, sid };
    if (bySub || bySession) return { ok: false, reason: 'revoked', sub, sid };
    return { ok: true, sub, sid };
  }

  // Where the runtime allows a timer outside requests (Node), the deny-list is kept fresh without traffic too.
  const timer = opts.background ? setInterval(() => void refresh(), opts.pollMs) : undefined;
  (timer as { unref?: () => void } | undefined)?.unref?.();

  return {
    /**
     * The session for a grant being issued or renewed. `presented` is the session token the device sent back (its
     * X-Hls-Gate-Session): the same session when the gateway minted it for this viewer and, under a stream limit,
     * its proof is the latest; otherwise a new session, counted as a new device.
     */
    async issue(sub: string, presented: string | null, grant: Pick<Grant, 'keyPairId' | 'resource' | 'expiresAt'>): Promise<SessionIssue> {
      const unavailable = { ok: false, status: 503, code: 'store-unavailable', detail: 'The session store cannot be reached; try again shortly.' } as const;
      const held = await readToken(presented, sub);
      let sid = held?.sid ?? newId();
      const proof = newId();
      for (const [kind, id] of [['sub', sub], ['session', sid]] as const) {
        const r = await isRevoked(kind, id);
        if (r === undefined) return unavailable;
        if (r) return { ok: false, status: 403, code: 'revoked', detail: 'Access for this viewer or device was revoked.' };
      }
      if (opts.maxStreams !== undefined) {
        try {
          const now = Math.floor(opts.now() / 1000);
          let leased = await opts.store.lease(sub, sid, grant.expiresAt, opts.maxStreams, now, { previous: held?.proof ?? null, next: proof });
          // A stale proof (a copied token, or a lease that ended): this device is a new one.
          if (leased === 'stale') leased = await opts.store.lease(sub, (sid = newId()), grant.expiresAt, opts.maxStreams, now, { previous: null, next: proof });
          storeOk();
          if (leased !== 'ok') return { ok: false, status: 429, code: 'too-many-streams', detail: `This account is already playing on ${opts.maxStreams} device${opts.maxStreams === 1 ? '' : 's'}; stop one to watch here.` };
        } catch (err) {
          storeFailed(err);
          if (opts.failMode === 'closed') return unavailable;
        }
      }
      const subB64 = encodeCloudFrontBase64(sub);
      return { ok: true, sid, cookie: `${sid}.${subB64}.${await mac(sid, sub, grant)}`, token: await token(sid, sub, proof) };
    },

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
        const [sid = '', subB64 = '', tag = ''] = value.split('.');
        let sub: string;
        try {
          sub = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(decodeCloudFrontBase64(subB64));
          if (!isSubject(sub)) continue;
          const ok = await crypto.subtle.verify('HMAC', await keyPromise, decodeCloudFrontBase64(tag) as BufferSource, material(sid, sub, grant));
          if (!ok) continue;
        } catch {
          continue;
        }
        verified.set(cacheKey, { sub, sid });
        return judge(sub, sid);
      }
      return { ok: false, reason: 'session-invalid' };
    },

    /** Gives a device's lease back, given its session token; the sid released, or null for a token that is not this viewer's. */
    async release(sub: string, presented: string): Promise<string | null> {
      const held = await readToken(presented, sub);
      if (!held) return null;
      if (opts.maxStreams === undefined) return held.sid;
      try {
        await opts.store.release(sub, held.sid);
      } catch (err) {
        storeFailed(err);
      }
      return held.sid;
    },

    close(): void {
      if (timer !== undefined) clearInterval(timer);
    },

    store: opts.store,
  };
}

export type SessionControl = ReturnType<typeof createSessionControl>;

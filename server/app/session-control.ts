import type { Grant } from '../core/index.ts';
import { decodeCloudFrontBase64, encodeCloudFrontBase64 } from '../core/index.ts';
import type { Revocation, SessionStore } from './session-store.ts';
import { Lru } from '../core/lru.ts';

// Session control (on when SESSION_SECRET is set): every grant belongs to a viewer (`sub`) and a device session the
// gateway mints. The companion cookie `HlsGate-Session` carries both, with an HMAC (SESSION_SECRET) over them and
// the grant they travel with (its key pair ID, Resource and expiry: what its CloudFront signature covers), so it
// can be neither forged nor moved onto other credentials. Revocations are checked on every media request against a
// copy of the deny-list held in memory and reloaded whenever the store's version changes (polled every
// `pollMs`): the worst-case delay between a revocation and the first refused segment is one poll interval.

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
}

export type SessionIssue =
  | { ok: true; sid: string; cookie: string }
  | { ok: false; status: 403 | 429 | 503; code: 'revoked' | 'too-many-streams' | 'store-unavailable'; detail: string };

export interface SessionCheck {
  ok: boolean;
  reason?: 'session-invalid' | 'revoked' | 'store-unavailable';
  sub?: string;
  sid?: string;
}

const SID = /^[A-Za-z0-9~_-]{22}$/;
const enc = new TextEncoder();

export function createSessionControl(opts: SessionControlOptions) {
  const keyPromise = crypto.subtle.importKey('raw', enc.encode(opts.secret) as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  let denied = new Map<string, number>();
  let loadedVersion = -1;
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
    return encodeCloudFrontBase64(new Uint8Array(await crypto.subtle.sign('HMAC', await keyPromise, material(sid, sub, grant) as BufferSource)));
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
    let mine: Promise<void> | undefined;
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

  return {
    /** The session for a grant being issued or renewed: `sid` from the player when it has one, else a new one. */
    async issue(sub: string, requestedSid: string | null, grant: Pick<Grant, 'keyPairId' | 'resource' | 'expiresAt'>): Promise<SessionIssue> {
      const sid = requestedSid && SID.test(requestedSid) ? requestedSid : encodeCloudFrontBase64(crypto.getRandomValues(new Uint8Array(16))).slice(0, 22);
      for (const [kind, id] of [['sub', sub], ['session', sid]] as const) {
        const r = await isRevoked(kind, id);
        if (r === undefined) return { ok: false, status: 503, code: 'store-unavailable', detail: 'The session store cannot be reached; try again shortly.' };
        if (r) return { ok: false, status: 403, code: 'revoked', detail: 'Access for this viewer or device was revoked.' };
      }
      if (opts.maxStreams !== undefined) {
        try {
          const leased = await opts.store.lease(sub, sid, grant.expiresAt, opts.maxStreams, Math.floor(opts.now() / 1000));
          storeOk();
          if (!leased) return { ok: false, status: 429, code: 'too-many-streams', detail: `This account is already playing on ${opts.maxStreams} device${opts.maxStreams === 1 ? '' : 's'}; stop one to watch here.` };
        } catch (err) {
          storeFailed(err);
          if (opts.failMode === 'closed') return { ok: false, status: 503, code: 'store-unavailable', detail: 'The session store cannot be reached; try again shortly.' };
        }
      }
      const subB64 = encodeCloudFrontBase64(sub);
      return { ok: true, sid, cookie: `${sid}.${subB64}.${await mac(sid, sub, grant)}` };
    },

    /** Checks the session cookies of a media request against the grant that let it through. */
    async check(values: readonly string[], grant: Grant): Promise<SessionCheck> {
      for (const value of values.slice(0, 4)) {
        const cacheKey = `${grant.keyPairId}\n${grant.resource}\n${grant.expiresAt}\n${value}`;
        const known = verified.get(cacheKey);
        if (known) return judge(known.sub, known.sid);
        const [sid, subB64, tag, extra] = value.split('.');
        if (extra !== undefined || !sid || !SID.test(sid) || !subB64 || !tag || subB64.length > 400) continue;
        let sub: string;
        try {
          sub = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(decodeCloudFrontBase64(subB64));
          const ok = await crypto.subtle.verify('HMAC', await keyPromise, decodeCloudFrontBase64(tag) as BufferSource, material(sid, sub, grant) as BufferSource);
          if (!ok) continue;
        } catch {
          continue;
        }
        verified.set(cacheKey, { sub, sid });
        return judge(sub, sid);
      }
      return { ok: false, reason: 'session-invalid' };
    },

    async release(sub: string, sid: string): Promise<void> {
      if (opts.maxStreams === undefined || !SID.test(sid)) return;
      try {
        await opts.store.release(sub, sid);
      } catch (err) {
        storeFailed(err);
      }
    },

    store: opts.store,
  };
}

export type SessionControl = ReturnType<typeof createSessionControl>;

import type { SigningKey, Verifier } from '../core/index.ts';
import type { SessionStore } from './session-store.ts';
import type { MediaStorage } from './storage.ts';

// What the gateway's operations look like from outside: each call to the signer, the verifier, the session store
// and the media storage runs through one `Instrument`, which a runtime entry implements (the Node entry: Prometheus
// histograms and OpenTelemetry child spans). Web-standard: nothing here knows how it is measured.

/** The operations timed; bounded, so they can be metric labels. */
export type Operation = 'sign' | 'verify' | 'session-store' | 'storage';

export interface Instrument {
  /** Runs `fn` as one `op` (`name` says which call: `lease`, `head`, ...). A rejection counts as a failure. */
  run<T>(op: Operation, name: string, fn: () => Promise<T>): Promise<T>;
  /** Which operations it wants (default: all); the others are not wrapped at all, so they cost nothing. */
  covers?: (op: Operation) => boolean;
}

/** Whether `op` goes through `instrument`. */
export function wants(instrument: Instrument | undefined, op: Operation): instrument is Instrument {
  return instrument !== undefined && (instrument.covers?.(op) ?? true);
}

/** The signing key, each native signature timed (the Node entry always signs natively). */
export function instrumentSigningKey(key: SigningKey, instrument: Instrument): SigningKey {
  const sign = key.sign;
  if (!sign) return key;
  return {
    type: key.type,
    bits: key.bits,
    cryptoKey: (hash) => key.cryptoKey(hash),
    publicKey: () => key.publicKey(),
    publicKeyPem: () => key.publicKeyPem(),
    sign: (data, hash) => instrument.run('sign', 'sign', async () => sign(data, hash)),
  };
}

export function instrumentVerifier(verifier: Verifier, instrument: Instrument): Verifier {
  return {
    verify: (req) => instrument.run('verify', 'verify', () => verifier.verify(req)),
    stats: () => verifier.stats(),
  };
}

export function instrumentSessionStore(store: SessionStore, instrument: Instrument): SessionStore {
  const run = <T>(name: string, fn: () => Promise<T>) => instrument.run('session-store', name, fn);
  return {
    lease: (...a) => run('lease', () => store.lease(...a)),
    release: (...a) => run('release', () => store.release(...a)),
    revoke: (...a) => run('revoke', () => store.revoke(...a)),
    lift: (...a) => run('lift', () => store.lift(...a)),
    revocations: (...a) => run('revocations', () => store.revocations(...a)),
    version: () => run('version', () => store.version()),
    ...(store.activeLeases
      ? { activeLeases: (now: number) => run('active-leases', async () => (await store.activeLeases?.(now)) ?? 0) }
      : {}),
    close: () => store.close(),
  };
}

/** Lookups timed (open, head, get); the bytes themselves stream afterwards, outside the span. */
export function instrumentStorage(storage: MediaStorage, instrument: Instrument): MediaStorage {
  const run = <T>(name: string, fn: () => Promise<T>) => instrument.run('storage', name, fn);
  return {
    head: (key) => run('head', () => storage.head(key)),
    get: (key, range) => run('get', () => storage.get(key, range)),
    ...(storage.open ? { open: (key: string) => run('open', async () => (await storage.open?.(key)) ?? null) } : {}),
    ...(storage.watch ? { watch: (key: string, onChange: () => void) => storage.watch?.(key, onChange) ?? null } : {}),
  };
}

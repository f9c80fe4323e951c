import type { Hono } from 'hono';
import { createVerifier, type SigningKey } from '../core/index.ts';
import type { GatewayConfig } from './config.ts';
import type { MediaStorage } from './storage.ts';
import type { AppDeps, GatewayEnv, Readiness } from './context.ts';
import { importGatewayKeys } from './keys.ts';
import { createViewerAuth } from './auth.ts';
import { createApp, createStandaloneApp } from './create-app.ts';
import { CatalogError, catalogReadsValid, checkCatalog } from './catalog.ts';
import { ConfigError } from './config-error.ts';
import { createMemoryStore, type SessionStore } from './session-store.ts';
import { createSessionControl, type SessionControl } from './session-control.ts';
import { defaultEventLog } from './log.ts';
import { holdBudget } from './blocking-reload.ts';
import {
  instrumentSessionStore,
  instrumentSigningKey,
  instrumentStorage,
  instrumentVerifier,
  wants,
  type Instrument,
} from './instrument.ts';

export type BuildExtras = Pick<
  AppDeps,
  'log' | 'whenSent' | 'events' | 'assets' | 'clientIp' | 'now' | 'uploads' | 'compressesResponses' | 'observe'
> & {
  /** The session store when SESSION_STORE is not `memory` (the Node entry passes Redis). */
  sessionStore?: SessionStore;
  nativeSigner?: (key: SigningKey, pem: string) => SigningKey;
  /** Receives start-up warnings (the gateway runs, but something will not work as the operator may expect). */
  warn?: (message: string) => void;
  /**
   * Runtimes with timers outside requests (Node): session control polls the deny-list on a timer too, until this
   * signal aborts (the server closed).
   */
  background?: AbortSignal;
  /** Times the signer, the verifier, the session store and the storage (the Node entry: metrics and traces). */
  instrument?: Instrument;
  /** Told the finished dependencies (the Node entry's metrics read the verifier's counters and the holds). */
  built?: (deps: AppDeps) => void;
};

/** From a validated config: keys imported once, the catalog checked, verifier and viewer auth made. */
export async function buildDeps(
  config: GatewayConfig,
  plainStorage: MediaStorage,
  extras: BuildExtras = {},
): Promise<AppDeps> {
  const instrument = extras.instrument;
  const storage = wants(instrument, 'storage') ? instrumentStorage(plainStorage, instrument) : plainStorage;
  const imported = await importGatewayKeys(config);
  try {
    await checkCatalog(storage);
  } catch (err) {
    throw err instanceof CatalogError ? new ConfigError(err.message) : err;
  }
  for (const w of imported.warnings) extras.warn?.(w);
  const nativeKey = extras.nativeSigner
    ? extras.nativeSigner(imported.signingKey, config.privateKeyPem)
    : imported.signingKey;
  const signingKey = wants(instrument, 'sign') ? instrumentSigningKey(nativeKey, instrument) : nativeKey;
  const plainVerifier = createVerifier({ keys: imported.keyGroup });
  const verifier = wants(instrument, 'verify') ? instrumentVerifier(plainVerifier, instrument) : plainVerifier;
  const auth = await createViewerAuth(config.auth, config.demo);
  const {
    nativeSigner: _native,
    warn: _warn,
    sessionStore: plainStore,
    background,
    instrument: _i,
    built,
    ...deps
  } = extras;
  const sessionStore =
    plainStore && wants(instrument, 'session-store') ? instrumentSessionStore(plainStore, instrument) : plainStore;
  const memory = () =>
    wants(instrument, 'session-store') ? instrumentSessionStore(createMemoryStore(), instrument) : createMemoryStore();
  const sessionsStore = config.sessions ? (sessionStore ?? memory()) : undefined;
  let sessions: SessionControl | undefined;
  if (config.sessions) {
    if (config.sessions.store !== 'memory' && !sessionStore)
      throw new ConfigError(
        'SESSION_STORE=redis://... needs the Node entry (hls-gate serve); this runtime has only SESSION_STORE=memory',
      );
    const events = extras.events ?? defaultEventLog;
    const now = extras.now ?? (() => Date.now());
    sessions = createSessionControl({
      secret: config.sessions.secret,
      store: sessionsStore ?? memory(),
      ...(config.sessions.maxStreams !== undefined ? { maxStreams: config.sessions.maxStreams } : {}),
      failMode: config.sessions.failMode,
      pollMs: config.sessions.pollMs,
      now,
      report: (level, msg) => events(level, msg),
      ...(background ? { background: true } : {}),
    });
    const control = sessions;
    background?.addEventListener('abort', () => control.close(), { once: true });
  }
  const ready = readiness(storage, sessionsStore);
  const app: AppDeps = {
    config,
    storage,
    signingKey,
    verifier,
    auth,
    ready,
    holdBudget: holdBudget(),
    ...deps,
    ...(sessions ? { sessions } : {}),
  };
  built?.(app);
  return app;
}

/** How long /readyz waits for the session store before calling it unreachable. */
const READY_STORE_MS = 2000;

/**
 * What /readyz reports: the keys (imported before the gateway was built, so always loaded here), the catalog as it
 * reads now, and the session store answering within READY_STORE_MS. Failures are named, never quoted (an error
 * from a store could carry its URL with a password).
 */
function readiness(storage: MediaStorage, store: SessionStore | undefined): () => Promise<Readiness> {
  return async () => {
    const checks: Readiness['checks'] = { keys: 'ok' };
    try {
      await catalogReadsValid(storage);
      checks.catalog = 'ok';
    } catch (err) {
      checks.catalog = err instanceof CatalogError ? 'invalid' : 'unreadable';
    }
    if (store) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<'timeout'>((done) => (timer = setTimeout(() => done('timeout'), READY_STORE_MS)));
      const answer = await Promise.race([
        store.version().then(
          () => 'ok' as const,
          () => 'unreachable' as const,
        ),
        late,
      ]);
      if (timer !== undefined) clearTimeout(timer);
      checks.sessionStore = answer === 'ok' ? 'ok' : 'unreachable';
    }
    return { ready: Object.values(checks).every((v) => v === 'ok'), checks };
  };
}

/** The whole server for a runtime entry (Node, Workers, tests): the gateway at `/`, JSON 404 elsewhere. */
export async function buildGateway(
  config: GatewayConfig,
  storage: MediaStorage,
  extras: BuildExtras = {},
): Promise<Hono> {
  return createStandaloneApp(await buildDeps(config, storage, extras));
}

/** The gateway alone, to mount inside a host app at any prefix. */
export async function buildGatewayApp(
  config: GatewayConfig,
  storage: MediaStorage,
  extras: BuildExtras = {},
): Promise<Hono<GatewayEnv>> {
  return createApp(await buildDeps(config, storage, extras));
}

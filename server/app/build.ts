import type { Hono } from 'hono';
import { createVerifier, type SigningKey } from '../core/index.ts';
import type { GatewayConfig } from './config.ts';
import type { MediaStorage } from './storage.ts';
import type { AppDeps, GatewayEnv } from './context.ts';
import { importGatewayKeys } from './keys.ts';
import { createViewerAuth } from './auth.ts';
import { createApp, createStandaloneApp } from './create-app.ts';
import { CatalogError, checkCatalog } from './catalog.ts';
import { ConfigError } from './config-error.ts';
import { createMemoryStore, type SessionStore } from './session-store.ts';
import { createSessionControl, type SessionControl } from './session-control.ts';
import { defaultEventLog } from './log.ts';

export type BuildExtras = Pick<
  AppDeps,
  'log' | 'whenSent' | 'events' | 'assets' | 'clientIp' | 'now' | 'uploads' | 'compressesResponses'
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
};

/** From a validated config: keys imported once, the catalog checked, verifier and viewer auth made. */
export async function buildDeps(
  config: GatewayConfig,
  storage: MediaStorage,
  extras: BuildExtras = {},
): Promise<AppDeps> {
  const imported = await importGatewayKeys(config);
  try {
    await checkCatalog(storage);
  } catch (err) {
    throw err instanceof CatalogError ? new ConfigError(err.message) : err;
  }
  for (const w of imported.warnings) extras.warn?.(w);
  const signingKey = extras.nativeSigner
    ? extras.nativeSigner(imported.signingKey, config.privateKeyPem)
    : imported.signingKey;
  const verifier = createVerifier({ keys: imported.keyGroup });
  const auth = await createViewerAuth(config.auth, config.demo);
  const { nativeSigner: _native, warn: _warn, sessionStore, background, ...deps } = extras;
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
      store: sessionStore ?? createMemoryStore(),
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
  return { config, storage, signingKey, verifier, auth, ...deps, ...(sessions ? { sessions } : {}) };
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

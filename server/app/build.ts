import type { Hono } from 'hono';
import { createVerifier, type SigningKey } from '../core/index.ts';
import type { GatewayConfig } from './config.ts';
import type { MediaStorage } from './storage.ts';
import { importGatewayKeys } from './keys.ts';
import { createViewerAuth } from './auth.ts';
import { createApp, type AppDeps } from './create-app.ts';
import { CatalogError, checkCatalog } from './catalog.ts';
import { ConfigError } from './config-error.ts';

/** Everything a runtime entry needs, from a validated config: keys imported once, verifier, auth, the app. */
export async function buildGateway(
  config: GatewayConfig,
  storage: MediaStorage,
  extras: Pick<AppDeps, 'log' | 'events' | 'assets' | 'clientIp' | 'now'> & {
    nativeSigner?: (key: SigningKey, pem: string) => SigningKey;
    /** Receives start-up warnings (the gateway runs, but something will not work as the operator may expect). */
    warn?: (message: string) => void;
  } = {},
): Promise<Hono> {
  const imported = await importGatewayKeys(config);
  try {
    await checkCatalog(storage);
  } catch (err) {
    throw err instanceof CatalogError ? new ConfigError(err.message) : err;
  }
  for (const w of imported.warnings) extras.warn?.(w);
  const keyGroup = imported.keyGroup;
  const signingKey = extras.nativeSigner ? extras.nativeSigner(imported.signingKey, config.privateKeyPem) : imported.signingKey;
  const verifier = createVerifier({ keys: keyGroup });
  const auth = await createViewerAuth(config.auth, config.demo);
  const { nativeSigner: _native, warn: _warn, ...deps } = extras;
  return createApp({ config, storage, signingKey, verifier, auth, ...deps });
}

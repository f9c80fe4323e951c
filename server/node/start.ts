import { serve, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Hono } from 'hono';
import { ConfigError, parseConfig, type Env, type GatewayConfig } from '../app/config.ts';
import { buildGateway } from '../app/build.ts';
import type { LogEntry } from '../app/log.ts';
import { createFsStorage } from './fs-storage.ts';
import { createAssets } from './assets.ts';
import { withNodeCrypto } from './native-key.ts';
import { REPO_ROOT, loadNodeEnv, readPublicKeyFiles } from './load-env.ts';

export interface RunningGateway {
  url: string;
  config: GatewayConfig;
  app: Hono;
  zeroConfig: boolean;
  /** Start-up warnings for the operator (printed by `npm start`). */
  warnings: string[];
  close(): Promise<void>;
}

export interface StartOptions {
  log?: (entry: LogEntry) => void;
  now?: () => number;
  assetsDir?: string;
}

/** Starts the gateway on Node: validates config (throws ConfigError), imports keys, listens. */
export async function startNodeGateway(input: Env, options: StartOptions = {}): Promise<RunningGateway> {
  const { env, mediaDir, zeroConfig } = await loadNodeEnv(input);
  const config = readPublicKeyFiles(parseConfig(env));
  const warnings: string[] = [];
  const port = env.PORT === undefined || env.PORT === '' ? 8787 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT="${env.PORT}" must be a port number (0 picks a free one)`);
  const hostname = env.HOST || '127.0.0.1';
  let tls: { key: Buffer; cert: Buffer } | undefined;
  if (env.TLS_CERT_FILE || env.TLS_KEY_FILE) {
    if (!env.TLS_CERT_FILE || !env.TLS_KEY_FILE) throw new ConfigError('HTTPS needs both TLS_CERT_FILE and TLS_KEY_FILE');
    try {
      tls = { cert: readFileSync(env.TLS_CERT_FILE), key: readFileSync(env.TLS_KEY_FILE) };
    } catch {
      throw new ConfigError('cannot read TLS_CERT_FILE or TLS_KEY_FILE');
    }
  }
  const app = await buildGateway(config, createFsStorage(mediaDir), {
    assets: createAssets(options.assetsDir ?? join(REPO_ROOT, 'player/dist')),
    clientIp: (c) => getConnInfo(c).remote.address ?? null,
    nativeSigner: withNodeCrypto,
    warn: (message) => warnings.push(message),
    ...(options.log ? { log: options.log } : {}),
    ...(options.now ? { now: options.now } : {}),
  });

  const server: ServerType = await new Promise((resolveServer, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        port,
        hostname,
        ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
      },
      () => resolveServer(s),
    );
    s.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${address.port}`,
    config,
    app,
    zeroConfig,
    warnings,
    close: () =>
      new Promise<void>((done) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => done());
      }),
  };
}

import type { Context, Hono } from 'hono';
import { parseConfig, type Env } from '../app/config.ts';
import { buildGatewayApp } from '../app/build.ts';
import type { GatewayEnv } from '../app/context.ts';
import type { MediaStorage } from '../app/storage.ts';
import type { EventLog, LogEntry } from '../app/log.ts';
import type { SigningKey } from '../core/index.ts';
import { refuseOptions } from './options-error.ts';

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /**
   * The settings, named as the environment variables of the README (`CLOUDFRONT_KEY_PAIR_ID`,
   * `CLOUDFRONT_PRIVATE_KEY`, `AUTH_JWT_SECRET`, `MEDIA_BASE_URL` or `MEDIA_HOSTS`, `COOKIE_DOMAIN`, ...), validated
   * exactly as at start-up: a bad value throws an Error whose message says what to fix.
   */
  settings: Record<string, string | undefined>;
  /** Where the media comes from: `createFsStorage(dir)` from `hls-gate/node`, `createR2Storage(bucket)` from `hls-gate/worker`, or your own. */
  storage: MediaStorage;
  /** The viewer token's claims: which claim lists the videos (default `videos`), and whether `exp` is required (default true). */
  viewerToken?: { videosClaim?: string; requireExp?: boolean };
  /** Serve the player page at the mount point: a function returning the page's files (see `hls-gate/node`'s `playerAssets`). */
  player?: (path: string, request: Request) => Promise<Response | null>;
  /** The viewer's IP address, for `ACCESS_BIND_IP` (e.g. from `@hono/node-server/conninfo`). */
  clientIp?: (c: Context) => string | null;
  /** One entry per request. Default: a JSON line on the console. */
  log?: (entry: LogEntry) => void;
  /** Lines about the gateway itself. Default: a JSON line on the console. */
  events?: EventLog;
  /** Start-up warnings (e.g. a key CloudFront would not take). Default: a JSON line on the console. */
  warn?: (message: string) => void;
  /** A faster runtime signer for the private key (`hls-gate/node` passes node:crypto). */
  signer?: (key: SigningKey, pem: string) => SigningKey;
}

/**
 * The gateway as a Hono app to mount in your own: `app.route('/media', await createGateway({ settings, storage }))`.
 * It registers only its own routes (`/api/videos/:id/access`, `/api/videos`, `/videos/:id/*`, `/healthz`, and the
 * player page at `/` when `player` is given), so the host's routes keep answering, and every URL it hands out
 * (`playlistUrl`, cookie Paths, policy Resources) carries the prefix it is mounted at.
 */
export async function createGateway(options: GatewayOptions): Promise<Hono<GatewayEnv>> {
  const env: Env = { ...options.settings };
  const config = parseConfig(env);
  if (options.viewerToken?.videosClaim !== undefined) {
    if (!/^[A-Za-z0-9_:.-]{1,64}$/.test(options.viewerToken.videosClaim))
      refuseOptions('createGateway')('viewerToken.videosClaim must be a claim name such as "videos"');
    config.auth.videosClaim = options.viewerToken.videosClaim;
  }
  if (options.viewerToken?.requireExp !== undefined) config.auth.requireExp = options.viewerToken.requireExp;
  return buildGatewayApp(config, options.storage, {
    ...(options.player ? { assets: options.player } : {}),
    ...(options.clientIp ? { clientIp: options.clientIp } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.events ? { events: options.events } : {}),
    ...(options.signer ? { nativeSigner: options.signer } : {}),
    // Mounted inside a Worker, the runtime compresses on its own; Workers name themselves in navigator.userAgent
    // (https://developers.cloudflare.com/workers/runtime-apis/web-standards/#navigatoruseragent).
    compressesResponses:
      (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === 'Cloudflare-Workers',
    warn: options.warn ?? ((message) => console.log(JSON.stringify({ level: 'warn', msg: message }))),
  });
}

import type { BlockingReloads, HoldBudget } from './blocking-reload.ts';
import type { PlaylistVersion } from './http-file.ts';
import type { ObjectMeta } from './storage.ts';
import type { Context, MiddlewareHandler } from 'hono';
import type { GatewayConfig } from './config.ts';
import type { MediaStorage, UploadSink } from './storage.ts';
import type { SigningKey, Verifier } from '../core/index.ts';
import type { ViewerAuth } from './auth.ts';
import type { EventLog, LogEntry } from './log.ts';
import type { SessionControl } from './session-control.ts';

// What the gateway's routes share: its dependencies, and the typed Hono context variables they set.

/** Hono environment of the gateway: the context variables its handlers set (read by the request log). */
export interface GatewayEnv {
  Variables: {
    /** The key pair ID that signed the grant judged (or issued) for this request, when one was well-formed. */
    keyPairId: string | undefined;
    /** Under session control: the viewer (`sub`) and device session of the request, for the log. */
    sub: string | undefined;
    sessionId: string | undefined;
    /** How the media request was granted: CloudFront cookies, or a signed URL (a device link). */
    grantSource: 'cookie' | 'url' | undefined;
  };
}

export interface AppDeps {
  config: GatewayConfig;
  storage: MediaStorage;
  signingKey: SigningKey;
  verifier: Verifier;
  auth: ViewerAuth;
  /** One structured entry per request; default: a JSON line on the console. */
  log?: (entry: LogEntry) => void;
  /**
   * Where the runtime can tell when a response has left (Node: the ServerResponse closes), the request log waits for
   * it: `sent` is called once with whether the whole response was sent. Returns false when it cannot tell for this
   * request (the entry is then written when the app has answered).
   */
  whenSent?: (c: Context, sent: (whole: boolean) => void) => boolean;
  /** Lines about the gateway itself (a catalog that broke while running); default: a JSON line on the console. */
  events?: EventLog;
  /** Static player assets; null when the path is not an asset. Without it, no player page is served. */
  assets?: (path: string, request: Request) => Promise<Response | null>;
  /** The viewer's address as the runtime knows it (socket address on Node, CF-Connecting-IP on Workers). */
  clientIp?: (c: Context) => string | null;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** Session control, when SESSION_SECRET is set (app/session-control.ts). */
  sessions?: SessionControl;
  /**
   * The runtime compresses responses itself (Cloudflare Workers: https://developers.cloudflare.com/workers/runtime-apis/response/,
   * encodeBody): the gateway then never sends a body it gzipped, which would be compressed twice.
   */
  compressesResponses?: boolean;
  /** Where signed uploads land (UPLOADS=true; the Node entry passes local disk). */
  uploads?: UploadSink;
  /** Requests held for blocking playlist reloads, shared by every playlist (made by buildDeps; read by metrics). */
  holdBudget?: HoldBudget;
  /** Runs first on every request (the Node entry's trace span, active while the request is handled). */
  observe?: MiddlewareHandler<GatewayEnv>;
  /** What /readyz reports (made by buildDeps); without it /readyz says ready. */
  ready?: () => Promise<Readiness>;
}

/** /readyz: ready when every check says `ok`; a failed check is named (`invalid`, `unreachable`), never quoted. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, 'ok' | 'invalid' | 'unreadable' | 'unreachable'>;
}

export interface AppContext {
  deps: AppDeps;
  now: () => number;
  /** The public origin of the media routes for this request; null when the request's host may not name one. */
  mediaBase: (c: Context) => string | null;
  clientIp: (c: Context) => string | null;
  /** Told when catalog.json cannot be used (the last good catalog stays in use). */
  catalogError: (err: Error) => void;
  /** Blocking playlist reload and preload-hinted parts, when the storage can watch (app/blocking-reload.ts). */
  holds?: BlockingReloads<PlaylistVersion>;
  /** What one look at a file finds: its metadata, or null while it is not written. */
  partHolds?: BlockingReloads<{ meta: ObjectMeta | null }>;
}

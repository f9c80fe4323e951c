import { REASON_HEADER, SESSION_HEADER } from '../server/core/headers.ts';
import { ROUTES, routePath } from '../server/app/layout.ts';

// The grant logic every player needs, in one place and with no player in it: obtain a video's grant from the
// gateway's access endpoint (which sets the signed cookies), keep it fresh (renewed at `refreshAt`, and on demand
// before a request would go out with a grant about to end), renew once after an `expired` refusal, and give the
// session back when playback stops (`pagehide` too). The player adapters (hlsjs.ts, videojs.ts, shaka.ts,
// native.ts) only wire these calls into each player's hooks.

/** What `POST /api/videos/<id>/access` answers (the cookies come with it). */
export interface AccessGrant {
  videoId: string;
  /** The video's master playlist, to hand to the player. */
  playlistUrl: string;
  /** ISO time the grant ends. */
  expiresAt: string;
  /** ISO time to renew it (before it ends). */
  refreshAt: string;
  /** Under session control: this device's session (what an operator revokes). */
  sessionId?: string;
  /** Under session control: this device's proof, sent back on renewal and on stop (a new one each time). */
  sessionToken?: string;
}

/** A refusal of the access endpoint: its status and the gateway's problem `code` ('network' when it was unreachable). */
export class GrantRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail || code);
    this.name = 'GrantRefusal';
  }
}

export interface GrantClientOptions {
  /** The video to play. */
  videoId: string;
  /** The viewer's token from the host app (a JWT the gateway accepts), asked for on every grant and renewal. */
  getToken: () => string | Promise<string>;
  /** Where hls-gate's API is: an origin (`https://media.example.com`) or a path on this one (`/media`). Default: this page's origin. */
  apiBase?: string;
  /** Called with every grant, the first and each renewal. */
  onGrant?: (grant: AccessGrant, renewals: number) => void;
  /** Called when a renewal in the background is refused (playback then stops at the grant's end). */
  onRefusal?: (refusal: GrantRefusal) => void;
}

export interface GrantClient {
  readonly videoId: string;
  /** The current grant, once started. */
  readonly grant: AccessGrant | undefined;
  /** Renewals so far (0 after the first grant). */
  readonly renewals: number;
  /** Obtains the first grant (and starts keeping it fresh). Rejects with a GrantRefusal. */
  start(): Promise<AccessGrant>;
  /** Renews now; concurrent calls share one request. */
  renew(): Promise<AccessGrant>;
  /** Resolves once the grant has at least `marginMs` left (default 2 s), renewing first when needed. */
  ensureFresh(marginMs?: number): Promise<void>;
  /**
   * After a media request was refused: `reason` is its X-Hls-Gate-Reason. For `expired` the grant is renewed and the
   * answer is true (retry the request once); anything else is false (the refusal stands).
   */
  recover(reason: string | null): Promise<boolean>;
  /** Stops renewing and gives the session back (session control). Also done on `pagehide`. */
  stop(): void;
}

/** The header a refused media request names its reason in (CloudFront's own answers carry none). */
export const REFUSAL_REASON_HEADER = REASON_HEADER;

/** A grant client for one video. Nothing is requested until `start()`. */
export function createGrantClient(options: GrantClientOptions): GrantClient {
  if (!options.videoId) throw new TypeError('createGrantClient: videoId is required');
  if (typeof options.getToken !== 'function') throw new TypeError('createGrantClient: getToken must be a function');
  const base = apiBaseOf(options.apiBase);
  const accessUrl = base + routePath(ROUTES.access, { videoId: options.videoId });
  let grant: AccessGrant | undefined;
  let renewals = -1;
  let expiresAtMs = 0;
  let pending: Promise<AccessGrant> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const schedule = (atMs: number) => {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(
      () =>
        void client.renew().catch((err: unknown) => {
          if (err instanceof GrantRefusal) options.onRefusal?.(err);
        }),
      Math.max(500, atMs - Date.now()),
    );
  };
  const onPageHide = () => client.stop();

  const client: GrantClient = {
    videoId: options.videoId,
    get grant() {
      return grant;
    },
    get renewals() {
      return renewals;
    },
    async start() {
      stopped = false;
      if (typeof addEventListener === 'function') addEventListener('pagehide', onPageHide);
      return client.renew();
    },
    renew() {
      pending ??= requestGrant(accessUrl, options.getToken, grant?.sessionToken)
        .then((g) => {
          grant = g;
          renewals += 1;
          expiresAtMs = Date.parse(g.expiresAt);
          schedule(Date.parse(g.refreshAt));
          options.onGrant?.(g, renewals);
          return g;
        })
        .finally(() => {
          pending = undefined;
        });
      return pending;
    },
    async ensureFresh(marginMs = 2000) {
      if (!stopped && expiresAtMs - Date.now() < marginMs) await client.renew();
    },
    async recover(reason) {
      if (stopped || reason !== 'expired') return false;
      await client.renew();
      return true;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      if (typeof removeEventListener === 'function') removeEventListener('pagehide', onPageHide);
      const token = grant?.sessionToken;
      if (token) void release(accessUrl, options.getToken, token);
    },
  };
  return client;
}

function apiBaseOf(apiBase: string | undefined): string {
  const origin = typeof location === 'undefined' ? undefined : location.origin;
  if (!apiBase) {
    if (!origin) throw new TypeError('createGrantClient: apiBase is required outside a browser page');
    return origin;
  }
  return new URL(apiBase, origin).href.replace(/\/$/, '');
}

async function requestGrant(
  url: string,
  getToken: () => string | Promise<string>,
  sessionToken: string | undefined,
): Promise<AccessGrant> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      // The cookies must be stored even when the API is on another origin of the same site.
      credentials: 'include',
      headers: {
        Authorization: `Bearer ${await getToken()}`,
        ...(sessionToken ? { [SESSION_HEADER]: sessionToken } : {}),
      },
    });
  } catch {
    throw new GrantRefusal(0, 'network', `Cannot reach ${new URL(url).origin}.`);
  }
  if (!res.ok) {
    const p = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
    throw new GrantRefusal(res.status, p.code ?? `http-${res.status}`, p.detail ?? res.statusText);
  }
  return (await res.json()) as AccessGrant;
}

/** Gives the device's session back; keepalive lets it finish while the page goes. */
async function release(url: string, getToken: () => string | Promise<string>, sessionToken: string): Promise<void> {
  const token = await Promise.resolve(getToken()).catch(() => undefined);
  await fetch(url, {
    method: 'DELETE',
    credentials: 'include',
    keepalive: true,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), [SESSION_HEADER]: sessionToken },
  }).catch(() => {});
}

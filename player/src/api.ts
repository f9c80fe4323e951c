import { GrantRefusal } from '../../client/index.ts';
import type { ProblemCode } from '../../server/app/problems.ts';
import { ROUTES, routePath } from '../../server/app/layout.ts';

// Talking to the hls-gate API. Where it lives and where the viewer token comes from are the two integration
// points for a host page (see player/README.md).

export interface HostConfig {
  /** Origin of the hls-gate API and media, e.g. https://media.example.com. Default: this page's origin. */
  apiBase?: string;
  /** Returns the viewer's JWT, issued by the host application. Default (demo mode): /api/demo/token. */
  getToken?: () => Promise<string>;
  /** Extra hls.js settings (buffer sizes, ABR...). Loader hooks are the player's own and cannot be replaced. */
  hlsConfig?: Record<string, unknown>;
}

declare global {
  interface Window {
    hlsGate?: HostConfig;
  }
}

/** An API problem's code (server/app/problems.ts, type only: no server code in the bundle), or what the player says when there was none. */
export type ApiCode = ProblemCode | 'network' | `http-${number}`;

export interface Problem {
  status: number;
  code: ApiCode;
  detail: string;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

/** The problem behind a failed call; anything but an API answer counts as the network's. */
export function problemOf(err: unknown): Problem {
  if (err instanceof GrantRefusal) return { status: err.status, code: err.code as ApiCode, detail: err.detail };
  return err instanceof ApiError ? err.problem : { status: 0, code: 'network', detail: '' };
}

export interface CatalogVideo {
  id: string;
  title: string;
  description?: string;
  durationSeconds?: number;
  playlist: string;
  /** A short-lived signed URL for the poster alone (no grant needed). */
  posterUrl?: string;
  /** Streaming live now. */
  live?: boolean;
}

export function apiBase(): string {
  const fromHost = window.hlsGate?.apiBase;
  const fromMeta = document.querySelector<HTMLMetaElement>('meta[name="hls-gate-api"]')?.content.trim();
  // An origin, or a path on this origin (the gateway mounted at /media serves its page with content="/media").
  const base = fromHost || fromMeta;
  return (base ? new URL(base, window.location.origin).href : window.location.origin).replace(/\/$/, '');
}

async function call<T>(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(apiBase() + path, {
      method,
      // The access call must store the cookies even when the API is on another origin of the same site.
      credentials: 'include',
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'Content-Type': 'application/json' } : {}),
        ...extraHeaders,
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError({ status: 0, code: 'network', detail: `Cannot reach ${apiBase()}.` });
  }
  if (!res.ok) {
    const p = (await res.json().catch(() => ({}))) as Partial<Problem>;
    throw new ApiError({
      status: res.status,
      code: p.code ?? `http-${res.status}`,
      detail: p.detail ?? res.statusText,
    });
  }
  return (await res.json()) as T;
}

let demoToken: Promise<string> | undefined;
let demoAnswered = false;
/** The viewer token: from the host page's `getToken()`, or, only when the gateway runs the demo, a demo token. */
export function getToken(): Promise<string> {
  const hook = window.hlsGate?.getToken;
  if (hook) return hook();
  demoToken ??= call<{ token: string }>('POST', ROUTES.demoToken).then((r) => {
    demoAnswered = true;
    return r.token;
  });
  return demoToken;
}

/** True once the gateway has handed out a demo token (it is in demo mode). */
export const demoActive = () => demoAnswered;

export async function listVideos(): Promise<CatalogVideo[]> {
  return (await call<{ videos: CatalogVideo[] }>('GET', ROUTES.catalog, await getToken())).videos;
}

export interface UploadTicket {
  videoId: string;
  uploadUrl: string;
  maxBytes: number;
}

/** Where an upload stands (`GET /api/uploads/<id>`); a failure has a code and a sentence meant for the uploader. */
export type UploadState =
  | { videoId: string; status: 'reserved' | 'uploaded' | 'ready' }
  | { videoId: string; status: 'packaging'; percent: number }
  | { videoId: string; status: 'failed'; code: string; reason: string };

/** A signed upload URL for a new video (demo: every demo token may upload). */
export async function startUpload(): Promise<UploadTicket> {
  return call<UploadTicket>('POST', ROUTES.uploads, await getToken());
}

export async function uploadState(videoId: string): Promise<UploadState> {
  return call<UploadState>('GET', routePath(ROUTES.upload, { videoId }), await getToken());
}

export interface DeviceLink {
  videoId: string;
  url: string;
  expiresAt: string;
}

/** One URL that plays the whole video on a device without cookies (a TV, a phone, VLC). */
export async function deviceLink(videoId: string): Promise<DeviceLink> {
  return call<DeviceLink>('POST', routePath(ROUTES.deviceLink, { videoId }), await getToken());
}

import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { REASON_HEADER } from '../core/headers.ts';

// One structured line per request. Paths only: never the query string (it may hold a signed URL's Signature or
// Policy), never a cookie, token or policy.

export interface LogEntry {
  time: string;
  method: string;
  path: string;
  /** The route that answered, as its pattern (`/videos/:videoId/*`): a bounded label, with no ID in it. */
  route?: string;
  status: number;
  bytes: number | null;
  ms: number;
  reason?: string;
  keyPairId?: string;
  /** Under session control: the viewer and the device session (ids only, never a cookie value). */
  sub?: string;
  session?: string;
  /** Media requests: granted by cookies or by a signed URL (a device link). */
  grant?: 'cookie' | 'url';
  /** Why a request failed with a 5xx: the error's class and a message cleared of anything token-like. */
  error?: { name: string; message: string };
  /**
   * `false` when the response was cut short (the viewer went away, or a stalled connection was dropped): `status`
   * and `bytes` are what was meant to be sent, not what was. Absent when it was sent whole, or where the runtime
   * cannot tell (Workers).
   */
  complete?: false;
}

/** A line about the gateway itself rather than one request (a catalog that broke while running, ...). */
export type EventLog = (level: 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export const defaultEventLog: EventLog = (level, msg, fields = {}) =>
  console.log(JSON.stringify({ level, msg, ...fields }));

/**
 * An error as it may be logged: the class name, and the message with every long token-like run (a JWT, a
 * signature, a policy, a key) replaced, on one line, bounded in length. Messages of our own error classes never
 * carry secrets, but an error from a library may quote its input.
 */
export function loggableError(err: unknown): { name: string; message: string } {
  const name = err instanceof Error ? err.name : typeof err;
  const raw = err instanceof Error ? err.message : String(err);
  const message = raw
    .replace(/[A-Za-z0-9+/=_~.-]{24,}/g, '[redacted]')
    .replace(/\s+/g, ' ')
    .slice(0, 300);
  return { name, message };
}

/** A request's log line (JSON, no newline): the one format every writer uses. */
export const requestLogLine = (entry: LogEntry): string => JSON.stringify({ level: 'info', msg: 'request', ...entry });

export const defaultLog = (entry: LogEntry): void => console.log(requestLogLine(entry));

/** The context variable the log reads (declared by the gateway's environment, app/context.ts). */
type LogVariables = {
  Variables: {
    keyPairId: string | undefined;
    sub: string | undefined;
    sessionId: string | undefined;
    grantSource: 'cookie' | 'url' | undefined;
  };
};

/**
 * The request log. With `whenSent` (the runtime can tell when a response has left), the line is written then, with
 * `ms` up to the last byte and `complete: false` for a response cut short; otherwise when the app has answered.
 */
export function requestLog(
  log: ((e: LogEntry) => void) | undefined,
  now: () => number,
  whenSent?: (c: Context, sent: (whole: boolean) => void) => boolean,
): MiddlewareHandler<LogVariables> {
  const write = log ?? defaultLog;
  return async function logRequest(c, next) {
    const start = now();
    await next();
    const length = c.res.headers.get('Content-Length');
    const entry: LogEntry = {
      time: new Date(start).toISOString(),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      bytes: length === null ? null : Number(length),
      ms: Math.round((now() - start) * 10) / 10,
    };
    const route = routePath(c);
    if (route && route !== '*' && route !== '/*') entry.route = route;
    const reason = c.res.headers.get(REASON_HEADER);
    if (reason) entry.reason = reason;
    const kid = c.get('keyPairId');
    if (kid) entry.keyPairId = kid;
    const sub = c.get('sub');
    if (sub) entry.sub = sub.slice(0, 256);
    const session = c.get('sessionId');
    if (session) entry.session = session;
    const grant = c.get('grantSource');
    if (grant) entry.grant = grant;
    if (c.error && c.res.status >= 500) entry.error = loggableError(c.error);
    const waiting = whenSent?.(c, (whole) => {
      entry.ms = Math.round((now() - start) * 10) / 10;
      if (!whole) entry.complete = false;
      write(entry);
    });
    if (!waiting) write(entry);
  };
}

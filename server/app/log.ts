import type { MiddlewareHandler } from 'hono';

// One structured line per request. Paths only: never the query string (it may hold a signed URL's Signature or
// Policy), never a cookie, token or policy.

export interface LogEntry {
  time: string;
  method: string;
  path: string;
  status: number;
  bytes: number | null;
  ms: number;
  reason?: string;
  keyPairId?: string;
}

export const defaultLog = (entry: LogEntry): void => console.log(JSON.stringify({ level: 'info', msg: 'request', ...entry }));

export function requestLog(log: ((e: LogEntry) => void) | undefined, now: () => number): MiddlewareHandler {
  const write = log ?? defaultLog;
  return async function logRequest(c, next) {
    const start = now();
    await next();
    const length = c.res.headers.get('Content-Length');
    const entry: LogEntry = {
      time: new Date(start).toISOString(),
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      bytes: length === null ? null : Number(length),
      ms: Math.round((now() - start) * 10) / 10,
    };
    const reason = c.res.headers.get('X-Hls-Gate-Reason');
    if (reason) entry.reason = reason;
    const kid = c.get('keyPairId' as never) as string | undefined;
    if (kid) entry.keyPairId = kid;
    write(entry);
  };
}

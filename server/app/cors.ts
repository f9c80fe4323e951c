import type { MiddlewareHandler } from 'hono';
import { REASON_HEADER, SESSION_HEADER } from '../core/headers.ts';

// CORS with credentials for the player origins: browsers refuse `*` with credentials, so the exact origin is
// echoed with Access-Control-Allow-Credentials and Vary: Origin
// (https://fetch.spec.whatwg.org/#cors-protocol-and-credentials). Origins not listed get no CORS headers.

const EXPOSED = `${REASON_HEADER}, Content-Range, Content-Length, Accept-Ranges, ETag`;

export function cors(allowedOrigins: readonly string[]): MiddlewareHandler {
  const allowed = new Set(allowedOrigins);
  return async function corsHandler(c, next) {
    const origin = c.req.header('Origin');
    const ok = origin !== undefined && allowed.has(origin);
    if (c.req.method === 'OPTIONS' && c.req.header('Access-Control-Request-Method')) {
      const headers = new Headers({ Vary: 'Origin' });
      if (ok) {
        headers.set('Access-Control-Allow-Origin', origin);
        headers.set('Access-Control-Allow-Credentials', 'true');
        headers.set('Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, DELETE, OPTIONS');
        headers.set(
          'Access-Control-Allow-Headers',
          `Authorization, Content-Type, Range, If-None-Match, If-Range, ${SESSION_HEADER}, x-amz-content-sha256`,
        );
        headers.set('Access-Control-Max-Age', '600');
      }
      return new Response(null, { status: 204, headers });
    }
    await next();
    c.res.headers.append('Vary', 'Origin');
    if (ok) {
      c.res.headers.set('Access-Control-Allow-Origin', origin);
      c.res.headers.set('Access-Control-Allow-Credentials', 'true');
      c.res.headers.set('Access-Control-Expose-Headers', EXPOSED);
    }
  };
}

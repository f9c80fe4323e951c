import { createHash, timingSafeEqual } from 'node:crypto';
import { readSync } from 'node:fs';
import { ServerResponse, type OutgoingHttpHeaders } from 'node:http';
import type { HttpBindings, Http2Bindings } from '@hono/node-server';
// Tells @hono/node-server the response has been written already.
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { BUFFER_BYTES, leaseBuffer, shortenLease } from './file-buffers.ts';
import { FileSpan } from './file-spans.ts';
import { NGINX_FILES_LOCATION, type NginxHandOff } from './nginx-config.ts';
import { FILE_HEADER, METHOD_HEADER, PROXY_HEADER, VERDICT_HEADER, WHOLE_HEADER } from '../core/headers.ts';
import { problem } from '../app/responses.ts';
import { storedFileOf, type StoredFile } from '../app/http-file.ts';
import { keepPrivately } from '../app/freshness.ts';
import { ROUTES } from '../app/layout.ts';

// How granted file bytes leave the Node server. The app answers with a lazy stream over a checked file (a FileSpan,
// file-spans.ts, carried on the Response with its cache lifetime as typed values: app/http-file.ts, StoredFile);
// here, after every middleware has had its say on status and headers, the server either
// - writes the bytes itself, straight from the descriptor to the socket (no web-stream chunks), or
// - with nginx in front (SERVE_VIA_NGINX, nginx-config.ts), sends no bytes at all: to nginx's auth_request it
//   answers a verdict (200 naming the checked file, or 403 "ask me"), and to a plain request for a granted file an
//   empty answer with X-Accel-Redirect to nginx's `internal` location; nginx serves the file with sendfile
//   (https://nginx.org/en/docs/http/ngx_http_auth_request_module.html,
//   https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_ignore_headers, "X-Accel-Redirect").

type Fetch = (request: Request, env: HttpBindings | Http2Bindings) => Response | Promise<Response>;

/** Bytes per read and write, and the one buffer a response holds: 200 stalled viewers hold at most 50 MB. */
const CHUNK = BUFFER_BYTES;

/** A stored file whose body the disk storage made a span of the open file (it alone decides which: fs-storage.ts). */
type HandedOff = StoredFile & { body: FileSpan };

/** The answer's file span, if it has one and nothing has read it yet; `res.body` is never touched (see StoredFile). */
function handedOff(res: Response): HandedOff | undefined {
  const stored = storedFileOf(res);
  return stored && isSpan(stored) ? stored : undefined;
}

function isSpan(stored: StoredFile): stored is HandedOff {
  return stored.body instanceof FileSpan && !stored.body.locked;
}

/** Wraps the app's fetch for @hono/node-server: file bodies leave by the fast route. */
export function withFileResponses(fetch: Fetch, nginx?: NginxHandOff): Fetch {
  if (nginx) return viaNginx(fetch, nginx);
  return async (request, env) => {
    const res = await fetch(request, env);
    const file = handedOff(res);
    if (!file || !(env.outgoing instanceof ServerResponse)) return res;
    void sendSpan(res.status, res.headers, file.body, env.outgoing);
    return RESPONSE_ALREADY_SENT;
  };
}

function outgoingHeaders(headers: Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') out[name] = value;
  });
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}

/**
 * Writes the span to the socket; a file that ends early aborts the connection (never a short body). A span of up to
 * CHUNK is one read and one write; a longer one reuses one buffer, each read waiting until the socket has taken the
 * previous chunk (no new 256 KB allocation per chunk for the garbage collector to chase).
 */
async function sendSpan(status: number, headers: Headers, span: FileSpan, out: ServerResponse): Promise<void> {
  try {
    out.writeHead(status, outgoingHeaders(headers));
    if (span.length === 0) {
      out.end();
      return;
    }
    // Returned to the pool when the response finishes with it (file-buffers.ts).
    const chunk = leaseBuffer(Math.min(CHUNK, span.length));
    let position = span.offset;
    const end = span.offset + span.length;
    while (position < end && !out.destroyed) {
      const size = Math.min(chunk.length, end - position);
      let got = 0;
      while (got < size) {
        const bytesRead = readSync(span.fd, chunk, got, size - got, position + got); // synchronous: see fs-storage.ts
        if (bytesRead === 0) throw new Error('the file became shorter while it was being sent');
        got += bytesRead;
      }
      position += size;
      const piece = size === chunk.length ? chunk : shortenLease(chunk, size);
      if (position >= end) {
        out.end(piece);
        break;
      }
      // Resumes once the socket has taken this chunk (or the connection is gone): the buffer is free again.
      await new Promise<void>((resume) => {
        const done = () => {
          out.off('close', done);
          resume();
        };
        out.on('close', done);
        out.write(piece, done);
      });
    }
  } catch {
    out.destroy();
  } finally {
    await span.cancel().catch(() => {}); // closes the descriptor
  }
}

/** Request headers nginx evaluates itself against the file it serves (RFC 9110 section 13 and 14). */
const FILE_CONDITIONS = ['range', 'if-range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since'];
/** Path characters nginx takes literally in X-Accel-Redirect; any other file is served by Node itself. */
const PLAIN_PATH = /^[A-Za-z0-9._~/-]+$/;

/**
 * Whether a request came through nginx: it carries NGINX_PROXY_SECRET in PROXY_HEADER (nginx-config.ts). Compared in
 * constant time, as SHA-256 digests (equal lengths whatever was sent).
 */
function proxyProof(secret: string): (request: Request) => boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  const expected = digest(secret);
  return (request) => {
    const presented = request.headers.get(PROXY_HEADER);
    return presented !== null && timingSafeEqual(digest(presented), expected);
  };
}

/**
 * A request that reached the gateway's port without passing through nginx: its X-Forwarded-For would be believed (the
 * viewer's address, which IP-bound grants check) and a granted file handed off, so it is refused, whatever it asks
 * for. Only the health and readiness checks are answered (they hand off no file and believe no forwarded address):
 * probes may knock on the gateway's own port.
 */
function notViaProxy(request: Request): Response | undefined {
  const probe = pathOf(request.url) === ROUTES.health || pathOf(request.url) === ROUTES.ready;
  if ((request.method === 'GET' || request.method === 'HEAD') && probe) return undefined;
  return problem('not-via-proxy');
}

function pathOf(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

function viaNginx(fetch: Fetch, options: NginxHandOff): Fetch {
  const fromNginx = proxyProof(options.proxySecret);
  return async (request, env) => {
    if (!fromNginx(request)) {
      const refused = notViaProxy(request);
      if (refused) return refused;
      // The health check, without anything nginx would have added or asked for.
      return fetch(new Request(request.url, { method: request.method }), env);
    }
    // nginx answers Range, HEAD and the conditionals from the file it serves; the gateway judges the plain GET.
    const verdict = request.headers.get(VERDICT_HEADER) === '1';
    // Only a GET or HEAD can be answered with a file; any other method gets hls-gate's own answer (a preflight, 405).
    if (verdict && !['GET', 'HEAD'].includes(request.headers.get(METHOD_HEADER) ?? ''))
      return new Response(null, { status: 403, headers: { 'Cache-Control': 'no-store' } });
    const whole =
      !verdict && request.headers.get(WHOLE_HEADER) === '1' && (request.method === 'GET' || request.method === 'HEAD');
    // A new Request only when there is something to take out: a verdict is asked for on every uncached segment.
    const strip =
      request.method === 'HEAD' || (request.method === 'GET' && FILE_CONDITIONS.some((h) => request.headers.has(h)));
    const plain = strip ? stripConditions(request) : request;
    const res = await fetch(plain, env);
    const file = handedOff(res);
    const span = file?.body;
    const relative = span && span.path.startsWith(`${span.root}/`) ? span.path.slice(span.root.length + 1) : undefined;
    const plainName =
      relative !== undefined && PLAIN_PATH.test(relative) && !relative.split('/').some((s) => s.startsWith('.'));
    if (verdict) {
      // nginx's auth_request: 200 "serve this file" (cacheable for X-Accel-Expires), or 403 "ask for the full
      // answer", which nginx then does (a refusal, a 404, a tokenized playlist: hls-gate's own response).
      await (span ?? res.body)?.cancel();
      if (!file || !plainName) return new Response(null, { status: 403, headers: { 'Cache-Control': 'no-store' } });
      const headers = keptFor(handOffHeaders(res.headers), file.keepFor, options.verdictCache);
      headers.set(FILE_HEADER, relative);
      return new Response(null, { status: 200, headers });
    }
    if (!file) {
      // A playlist read whole (app/http-file.ts readPlaylistVersion): nginx keeps it like a verdict, as long as its own
      // freshness allows (a live playlist briefly), and serves Range, HEAD and 304 from its copy.
      const stored = storedFileOf(res);
      if (!whole || !(stored?.body instanceof Uint8Array)) return res;
      if (env.outgoing instanceof ServerResponse) env.outgoing.sendDate = false;
      const headers = keptFor(new Headers(res.headers), stored.keepFor, options.verdictCache);
      // A held blocking reload goes out the moment it is answered (nginx reads X-Accel-Buffering and drops it).
      if (stored.held) headers.set('X-Accel-Buffering', 'no');
      return new Response(stored.body as Uint8Array<ArrayBuffer>, { status: res.status, headers });
    }
    if (whole && env.outgoing instanceof ServerResponse) {
      // nginx keeps this answer like a verdict (same key, same lifetime) and serves Range, HEAD and 304 from it.
      // Without a Date: nginx sends its own (an upstream's is hidden), and every stored header is parsed again on
      // every cache hit.
      env.outgoing.sendDate = false;
      void sendSpan(
        res.status,
        keptFor(new Headers(res.headers), file.keepFor, options.verdictCache),
        file.body,
        env.outgoing,
      );
      return RESPONSE_ALREADY_SENT;
    }
    await file.body.cancel();
    if (!plainName) {
      // An unusual file name: Node serves it, judging the original request (its Range, HEAD, conditions).
      const original = await fetch(request, env);
      const again = handedOff(original);
      if (!again || !(env.outgoing instanceof ServerResponse)) return original;
      void sendSpan(original.status, original.headers, again.body, env.outgoing);
      return RESPONSE_ALREADY_SENT;
    }
    const headers = handOffHeaders(res.headers);
    headers.set('X-Accel-Redirect', `${NGINX_FILES_LOCATION}${relative}`);
    headers.set('X-Accel-Expires', '0'); // nginx cannot cache an X-Accel-Redirect answer anyway
    return new Response(null, { status: 200, headers });
  };
}

/**
 * Marks an answer nginx may keep (X-Accel-Expires) for `lifetime` seconds: at most the max-age the viewer's own cache
 * got (`keepFor`, already capped at the grant's expiry; a number from the app, app/http-file.ts: nothing is parsed
 * back out of Cache-Control), at most `cap` seconds (VERDICT_CACHE); 0 (never) when the answer must be revalidated
 * (under session control the app gives keepFor 0: every request is checked). The answer is `private` to the viewer,
 * and nginx's cache key holds everything the verdict read (URL, host, cookies, origin, client address: see
 * nginx-config.ts), so it is reused only for the same viewer. A kept answer is up to `lifetime` seconds old when nginx
 * hands it out, so its max-age is shortened by as much: the viewer's copy still ends by the grant's expiry.
 */
function keptFor(headers: Headers, keepFor: number, cap: number): Headers {
  const lifetime = Math.min(keepFor, cap);
  if (lifetime > 0) headers.set('Cache-Control', keepPrivately(keepFor - lifetime));
  headers.set('X-Accel-Expires', String(lifetime));
  return headers;
}

/** The app's headers without those nginx makes itself from the file it serves. */
function handOffHeaders(from: Headers): Headers {
  const headers = new Headers(from);
  for (const name of ['content-length', 'content-range', 'content-type', 'etag', 'last-modified', 'accept-ranges'])
    headers.delete(name);
  return headers;
}

/** The request as judged when nginx serves the file: HEAD as GET, without Range or conditions; other methods kept. */
function stripConditions(request: Request): Request {
  const headers = new Headers(request.headers);
  for (const name of FILE_CONDITIONS) headers.delete(name);
  return new Request(request.url, { method: request.method === 'HEAD' ? 'GET' : request.method, headers });
}

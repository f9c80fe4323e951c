import type { HonoRequest } from 'hono';
import type { Denial } from '../core/index.ts';
import { cloudFrontErrorXml } from '../core/denials.ts';

// Error bodies. API errors are RFC 9457 problem details with a stable `code`; media refusals copy CloudFront's
// XML body for the same cause, plus X-Hls-Gate-Reason so a player can tell "refresh" from "give up".

export function problem(status: number, code: string, detail: string, headers: HeadersInit = {}): Response {
  // RFC 9110 section 15 reason phrases for every status the gateway answers with a problem.
  const title = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 411: 'Length Required', 413: 'Content Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable', 507: 'Insufficient Storage' }[status] ?? 'Error';
  return new Response(JSON.stringify({ type: `https://github.com/hls-gate/hls-gate#${code}`, title, status, code, detail }), {
    status,
    headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store', ...headers },
  });
}

/** The request's Host may not name a media origin (app/hosts.ts): nothing is granted or checked for it. */
export function badHost(): Response {
  return problem(400, 'bad-host', 'The Host header does not name a media host this gateway serves (see MEDIA_BASE_URL and MEDIA_HOSTS).');
}

export function cloudFrontDenial(denial: Pick<Denial, 'code' | 'reason'>): Response {
  return new Response(cloudFrontErrorXml(denial.code), {
    status: 403,
    headers: { 'Content-Type': 'text/xml', 'Cache-Control': 'no-store', 'X-Hls-Gate-Reason': denial.reason },
  });
}

/**
 * An API request's optional JSON body: its fields, none when the request is not JSON, or a 400 that shows the
 * expected `shape` when it does not parse (or is not an object).
 */
export async function optionalJsonBody(req: HonoRequest, shape: string): Promise<Record<string, unknown> | Response> {
  if (!(req.header('Content-Type') ?? '').includes('json')) return {};
  try {
    const body: unknown = await req.json();
    if (body !== null && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // answered below
  }
  return problem(400, 'bad-json', `The body must be JSON: ${shape}.`);
}

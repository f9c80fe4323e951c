import type { Denial } from '../core/index.ts';

// Error bodies. API errors are RFC 9457 problem details with a stable `code`; media refusals copy CloudFront's
// XML body for the same cause, plus X-Hls-Gate-Reason so a player can tell "refresh" from "give up".

export function problem(status: number, code: string, detail: string, headers: HeadersInit = {}): Response {
  const title = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error' }[status] ?? 'Error';
  return new Response(JSON.stringify({ type: `https://github.com/hls-gate/hls-gate#${code}`, title, status, code, detail }), {
    status,
    headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store', ...headers },
  });
}

/** The request's Host may not name a media origin (app/hosts.ts): nothing is granted or checked for it. */
export function badHost(): Response {
  return problem(400, 'bad-host', 'The Host header does not name a media host this gateway serves (see MEDIA_BASE_URL and MEDIA_HOSTS).');
}

// CloudFront's messages for each code (see the Developer Guide's troubleshooting of signed URLs and cookies).
const CLOUDFRONT_MESSAGES: Record<Denial['code'], string> = {
  MissingKey: 'Missing Key-Pair-Id query parameter or cookie value',
  InvalidKey: 'Unknown Key',
  MalformedPolicy: 'Malformed Policy',
  AccessDenied: 'Access denied',
};

export function cloudFrontDenial(denial: Pick<Denial, 'code' | 'reason'>): Response {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${denial.code}</Code><Message>${CLOUDFRONT_MESSAGES[denial.code]}</Message></Error>`;
  return new Response(body, {
    status: 403,
    headers: { 'Content-Type': 'text/xml', 'Cache-Control': 'no-store', 'X-Hls-Gate-Reason': denial.reason },
  });
}

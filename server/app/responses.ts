import type { HonoRequest } from 'hono';
import type { Denial } from '../core/index.ts';
import { cloudFrontErrorXml } from '../core/denials.ts';
import { REASON_HEADER } from '../core/headers.ts';
import { PROBLEMS, TITLES, type FixedProblemCode, type ProblemCode, type ProblemSpec } from './problems.ts';

// Error bodies. API errors are RFC 9457 problem details with a stable `code`; media refusals copy CloudFront's
// XML body for the same cause, plus X-Hls-Gate-Reason so a player can tell "refresh" from "give up".

/** An API problem: its status and title from the catalogue (problems.ts); the detail is the code's own unless given. */
export function problem(code: FixedProblemCode, detail?: string, headers?: HeadersInit): Response;
export function problem(code: ProblemCode, detail: string, headers?: HeadersInit): Response;
export function problem(code: ProblemCode, detail?: string, headers: HeadersInit = {}): Response {
  const spec: ProblemSpec = PROBLEMS[code];
  const { status } = spec;
  const body = {
    type: `https://github.com/hls-gate/hls-gate#${code}`,
    title: TITLES[status],
    status,
    code,
    detail: detail ?? spec.detail,
  };
  return new Response(JSON.stringify(body), {
    status,
    // The code in a header too, as media refusals carry their reason: the request log and the metrics read it there.
    headers: {
      'Content-Type': 'application/problem+json',
      'Cache-Control': 'no-store',
      [REASON_HEADER]: code,
      ...headers,
    },
  });
}

/** The request's Host may not name a media origin (app/hosts.ts): nothing is granted or checked for it. */
export function badHost(): Response {
  return problem('bad-host');
}

export function cloudFrontDenial(denial: Pick<Denial, 'code' | 'reason'>): Response {
  return new Response(cloudFrontErrorXml(denial.code), {
    status: 403,
    headers: { 'Content-Type': 'text/xml', 'Cache-Control': 'no-store', [REASON_HEADER]: denial.reason },
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
  return problem('bad-json', `The body must be JSON: ${shape}.`);
}

import { discover, PlaylistError, type HlsRequest, type RequestKind } from './discover.ts';
import { REASON_HEADER } from '../../server/core/headers.ts';

// Fetches a whole stream like a player would, with bounded concurrency, a per-request timeout and no retries.

export interface FetchResult {
  url: string;
  kind: RequestKind;
  status: number; // 0 = network error or timeout
  bytes: number;
  ms: number;
  range?: { offset: number; length: number };
  /** CloudFront / hls-gate refusal details when present. */
  code?: string;
  reason?: string;
  error?: string;
}

export interface CrawlOptions {
  concurrency: number;
  timeoutMs: number;
  maxSegments?: number;
  /** Headers for a URL (Cookie, ...). */
  headersFor: (url: string) => Record<string, string>;
  propagateQuery?: URLSearchParams;
  /** Follow playlists to their children (off when re-requesting a known list). */
  follow: boolean;
  onProgress?: (done: number, queued: number) => void;
}

export function redact(url: string): string {
  // Never print a signed URL's secrets.
  return url.replace(/([?&](?:Signature|Policy)=)[^&]*/g, '$1…');
}

export async function fetchOne(
  req: HlsRequest,
  opts: Pick<CrawlOptions, 'timeoutMs' | 'headersFor'>,
): Promise<{ result: FetchResult; text?: string }> {
  const started = performance.now();
  const headers: Record<string, string> = { ...opts.headersFor(req.url) };
  if (req.range) headers.Range = `bytes=${req.range.offset}-${req.range.offset + req.range.length - 1}`;
  const base = { url: req.url, kind: req.kind, ...(req.range ? { range: req.range } : {}) };
  try {
    const res = await fetch(req.url, { headers, signal: AbortSignal.timeout(opts.timeoutMs), redirect: 'follow' });
    const body = new Uint8Array(await res.arrayBuffer());
    const result: FetchResult = { ...base, status: res.status, bytes: body.length, ms: performance.now() - started };
    const reason = res.headers.get(REASON_HEADER);
    if (reason) result.reason = reason;
    if (!res.ok) {
      const code = /<Code>([A-Za-z]+)<\/Code>/.exec(new TextDecoder().decode(body.subarray(0, 2048)))?.[1];
      if (code) result.code = code;
    }
    if (req.range && res.status === 200)
      result.error = 'Range request answered with the whole file (200, expected 206)';
    return req.kind === 'playlist' && res.ok ? { result, text: new TextDecoder().decode(body) } : { result };
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    const error =
      name === 'TimeoutError'
        ? `timed out after ${opts.timeoutMs} ms`
        : err instanceof Error
          ? err.cause instanceof Error
            ? err.cause.message
            : err.message
          : String(err);
    return { result: { ...base, status: 0, bytes: 0, ms: performance.now() - started, error } };
  }
}

export async function crawl(start: HlsRequest[], opts: CrawlOptions): Promise<FetchResult[]> {
  const queue = [...start];
  const key = (r: HlsRequest) => `${r.url}|${r.range ? `${r.range.offset}+${r.range.length}` : ''}`;
  const seen = new Set(start.map(key));
  const results: FetchResult[] = [];
  let active = 0;
  return new Promise((resolve) => {
    const pump = () => {
      while (active < opts.concurrency && queue.length > 0) {
        const req = queue.shift()!;
        active++;
        void fetchOne(req, opts).then(({ result, text }) => {
          if (text !== undefined && opts.follow) {
            try {
              for (const child of discover(text, req.url, {
                ...(opts.maxSegments !== undefined ? { maxSegments: opts.maxSegments } : {}),
                ...(opts.propagateQuery ? { propagateQuery: opts.propagateQuery } : {}),
              })) {
                if (!seen.has(key(child))) {
                  seen.add(key(child));
                  queue.push(child);
                }
              }
            } catch (err) {
              result.error =
                err instanceof PlaylistError ? `broken playlist: ${err.message}` : `broken playlist: ${String(err)}`;
            }
          }
          results.push(result);
          active--;
          opts.onProgress?.(results.length, results.length + active + queue.length);
          if (active === 0 && queue.length === 0) resolve(results);
          else pump();
        });
      }
    };
    if (queue.length === 0) resolve(results);
    else pump();
  });
}

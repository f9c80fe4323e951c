import { redact, type FetchResult } from './crawl.ts';

// The end-of-run summary (a table a person reads) and the machine-readable report (--json).

export type Expectation = 'ok' | 'denied';

export function passed(r: FetchResult, expect: Expectation): boolean {
  if (r.error) return false;
  return expect === 'ok' ? r.status >= 200 && r.status < 300 : r.status === 401 || r.status === 403;
}

export interface Phase {
  name: string;
  expect: Expectation;
  results: FetchResult[];
  seconds: number;
}

export function phaseOk(p: Phase): boolean {
  return p.results.length > 0 && p.results.every((r) => passed(r, p.expect));
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);
const mb = (bytes: number) => (bytes / 1e6).toFixed(2);

export function renderPhase(p: Phase): string {
  const lines: string[] = [];
  lines.push(`== ${p.name} (expect ${p.expect === 'ok' ? 'every request to succeed' : 'every request to be refused'})`);
  const kinds = [...new Set(p.results.map((r) => r.kind))];
  lines.push(
    `${pad('kind', 10)}${lpad('requests', 9)}${lpad('2xx', 6)}${lpad('3xx', 6)}${lpad('4xx', 6)}${lpad('5xx', 6)}${lpad('errors', 8)}${lpad('MB', 9)}`,
  );
  const row = (name: string, rs: FetchResult[]) => {
    const by = (lo: number) => rs.filter((r) => r.status >= lo && r.status < lo + 100).length;
    lines.push(
      `${pad(name, 10)}${lpad(rs.length, 9)}${lpad(by(200), 6)}${lpad(by(300), 6)}${lpad(by(400), 6)}${lpad(by(500), 6)}${lpad(rs.filter((r) => r.status === 0).length, 8)}${lpad(mb(rs.reduce((n, r) => n + r.bytes, 0)), 9)}`,
    );
  };
  for (const k of kinds)
    row(
      k,
      p.results.filter((r) => r.kind === k),
    );
  row('total', p.results);
  const bytes = p.results.reduce((n, r) => n + r.bytes, 0);
  lines.push(
    `${mb(bytes)} MB in ${p.seconds.toFixed(2)} s = ${(bytes / 1e6 / Math.max(p.seconds, 1e-3)).toFixed(2)} MB/s`,
  );
  const refusals = new Map<string, number>();
  for (const r of p.results)
    if (r.code || r.reason)
      refusals.set(
        [r.code, r.reason].filter(Boolean).join('/'),
        (refusals.get([r.code, r.reason].filter(Boolean).join('/')) ?? 0) + 1,
      );
  if (refusals.size > 0) lines.push(`refusals: ${[...refusals].map(([k, n]) => `${n} × ${k}`).join(', ')}`);
  const slowest = [...p.results].sort((a, b) => b.ms - a.ms).slice(0, 3);
  if (slowest.length > 0) {
    lines.push('slowest:');
    for (const r of slowest) lines.push(`  ${lpad(r.ms.toFixed(0), 6)} ms  ${r.status}  ${redact(r.url)}`);
  }
  const failures = p.results.filter((r) => !passed(r, p.expect));
  if (failures.length > 0) {
    lines.push(`failures (${failures.length}):`);
    for (const r of failures.slice(0, 50)) {
      const why = [r.code, r.reason, r.error].filter(Boolean).join(' ');
      lines.push(
        `  ${r.status === 0 ? 'ERR' : r.status}  ${pad(r.kind, 8)} ${redact(r.url)}${why ? `  (${why})` : ''}`,
      );
    }
    if (failures.length > 50) lines.push(`  … and ${failures.length - 50} more (see --json)`);
  }
  lines.push(
    phaseOk(p)
      ? `PASS: ${p.results.length} requests as expected`
      : `FAIL: ${failures.length} of ${p.results.length} requests not as expected`,
  );
  return lines.join('\n');
}

/** `live`: what following a live stream found besides its requests (fetch-segments --live). */
export function jsonReport(phases: Phase[], live?: { stalls: object[]; ended: string[] }): string {
  return JSON.stringify(
    {
      ok: phases.every(phaseOk) && (live?.stalls.length ?? 0) === 0,
      ...(live ? { live } : {}),
      phases: phases.map((p) => ({
        name: p.name,
        expect: p.expect,
        ok: phaseOk(p),
        seconds: p.seconds,
        requests: p.results.length,
        bytes: p.results.reduce((n, r) => n + r.bytes, 0),
        failures: p.results.filter((r) => !passed(r, p.expect)).map((r) => ({ ...r, url: redact(r.url) })),
        results: p.results.map((r) => ({ ...r, url: redact(r.url) })),
      })),
    },
    null,
    2,
  );
}

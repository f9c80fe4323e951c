// Traces: a real gateway with an in-memory OpenTelemetry exporter. A grant is one server span with the grant as an
// attribute and the signature as its child; a refused segment is one server span with the refusal's reason and the
// storage and verification calls as its children. Nothing secret in any attribute.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';

const exporter = new InMemorySpanExporter();
let gw: RunningGateway;

beforeAll(async () => {
  gw = await startNodeGateway(testEnv({ PORT: '0' }), { log: () => {}, traceExporter: exporter });
});
afterAll(() => gw?.close());

const children = (spans: ReadableSpan[], parent: ReadableSpan) =>
  spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

describe('OpenTelemetry traces', () => {
  it('a grant: one server span named by its route, the grant issued, signing as a child', async () => {
    exporter.reset();
    const token = await viewerToken(['ladder'], { sub: 'traced-viewer' });
    const res = await fetch(`${gw.url}/api/videos/ladder/access`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === 'POST /api/videos/:videoId/access');
    expect(server, spans.map((s) => s.name).join(', ')).toBeDefined();
    expect(server!.attributes).toMatchObject({
      'http.route': '/api/videos/:videoId/access',
      'http.response.status_code': 200,
      'hls_gate.issued': 'cookies',
    });
    // The gateway's first grant signs (later ones for the same video and window reuse the signature).
    expect(children(spans, server!).filter((s) => s.name === 'sign sign')).toHaveLength(1);
    const all = JSON.stringify(spans.map((s) => [s.name, s.attributes]));
    expect(all).not.toContain(token);
    expect(all).not.toMatch(/CloudFront-|Signature=|traced-viewer/);
  });

  it('a refused segment: the refusal reason on the server span, storage and verification as children', async () => {
    const grant = await fetch(`${gw.url}/api/videos/ladder/access`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken(['ladder'])}` },
    });
    const cookies = cookiesFrom(grant);
    await grant.arrayBuffer();
    exporter.reset();
    const forged = { ...cookies, 'CloudFront-Signature': `${cookies['CloudFront-Signature']!.slice(0, -4)}AAA_` };
    const res = await fetch(`${gw.url}/videos/ladder/240p/seg_000.ts`, { headers: { Cookie: cookieHeader(forged) } });
    expect(res.status).toBe(403);
    await res.arrayBuffer();
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === 'GET /videos/:videoId/*');
    expect(server, spans.map((s) => s.name).join(', ')).toBeDefined();
    expect(server!.attributes).toMatchObject({
      'http.response.status_code': 403,
      'hls_gate.refusal': 'bad-signature',
      'url.path': '/videos/ladder/240p/seg_000.ts',
    });
    const kids = children(spans, server!).map((s) => s.name);
    expect(kids).toContain('verify verify');
    for (const s of spans) expect(s.spanContext().traceId).toBe(server!.spanContext().traceId);
    // A granted segment: the storage lookup is a child too.
    exporter.reset();
    const ok = await fetch(`${gw.url}/videos/ladder/240p/seg_000.ts`, { headers: { Cookie: cookieHeader(cookies) } });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    const granted = exporter.getFinishedSpans();
    const root = granted.find((s) => s.name === 'GET /videos/:videoId/*')!;
    expect(root.attributes['hls_gate.grant']).toBe('cookie');
    expect(children(granted, root).some((s) => s.name.startsWith('storage '))).toBe(true);
  });
});

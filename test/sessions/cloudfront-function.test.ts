// The CloudFront Function that enforces session control at the edge, run in Node: its exact source (plus one line
// exporting `handler` so the test can call it), importing a stand-in of CloudFront's `cloudfront` module (a
// KeyValueStore whose get() rejects for an absent key, as AWS documents) and Node's `crypto` (the runtime-2.0
// crypto module offers the same createHmac). Events have CloudFront's viewer-request shape; cookies are issued by
// the gateway. It was NOT run on CloudFront itself: that needs an AWS account, which these machines do not have.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildGateway } from '../../server/app/build.ts';
import { parseConfig } from '../../server/app/config.ts';
import { createFsStorage } from '../../server/node/fs-storage.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { CLOUDFRONT_FUNCTION } from '../../cli/cloudfront/function-source.ts';
import { main } from '../../cli/main.ts';
import { cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';

const SESSION_SECRET = 'session-secret-that-is-long-enough-0123456789';
type Handler = (event: unknown) => Promise<{ statusCode?: number; headers?: Record<string, { value: string }>; uri?: string }>;
const kvs = new Map<string, string>();

describe('the generated CloudFront Function', () => {
  let dir: string;
  let handler: Handler;
  let grant: (videoId: string, sub?: string) => Promise<Record<string, string>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-cff-'));
    mkdirSync(join(dir, 'node_modules/cloudfront'), { recursive: true });
    writeFileSync(join(dir, 'node_modules/cloudfront/package.json'), JSON.stringify({ name: 'cloudfront', type: 'module', main: 'index.js' }));
    writeFileSync(join(dir, 'node_modules/cloudfront/index.js'), `export default { kvs: () => ({ get: async (key) => { const v = globalThis.__kvs.get(key); if (v === undefined) throw new Error('The key was not found'); return v; } }) };\n`);
    (globalThis as unknown as { __kvs: Map<string, string> }).__kvs = kvs;
    writeFileSync(join(dir, 'function.mjs'), `${CLOUDFRONT_FUNCTION}\nexport { handler };\n`);
    ({ handler } = (await import(pathToFileURL(join(dir, 'function.mjs')).href)) as { handler: Handler });

    const app = await buildGateway(parseConfig(testEnv({ SESSION_SECRET, MEDIA_BASE_URL: 'https://media.example.com', MEDIA_HOSTS: undefined })), createFsStorage(join(REPO_ROOT, 'media')), { log: () => {}, events: () => {} });
    grant = async (videoId, sub = 'viewer-1') => cookiesFrom(await app.request(`https://media.example.com/api/videos/${videoId}/access`, { method: 'POST', headers: { Authorization: `Bearer ${await viewerToken('*', { sub })}` } }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const event = (cookies: Record<string, string>, uri = '/videos/ladder/master.m3u8') => ({
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '192.0.2.1' },
    request: { method: 'GET', uri, querystring: {}, headers: {}, cookies: Object.fromEntries(Object.entries(cookies).map(([k, v]) => [k, { value: v }])) },
  });
  const reason = (r: Awaited<ReturnType<Handler>>) => r.headers?.['x-hls-gate-reason']?.value;

  it('is small enough for CloudFront Functions (10 KB) and uses only what runtime 2.0 offers', () => {
    expect(Buffer.byteLength(CLOUDFRONT_FUNCTION)).toBeLessThan(10 * 1024);
    expect(CLOUDFRONT_FUNCTION).toMatch(/^import cf from 'cloudfront';\nimport crypto from 'crypto';/);
    expect(CLOUDFRONT_FUNCTION).not.toMatch(/Promise\.(all|any|race)|\.then\(|fetch\(|require\(/);
  });

  it('lets a session issued by the gateway through, unchanged', async () => {
    kvs.clear();
    kvs.set('hls-gate:session-secret', SESSION_SECRET);
    const e = event(await grant('ladder'));
    expect(await handler(e)).toBe(e.request);
  });

  it('refuses a missing, forged, renamed or moved session cookie', async () => {
    kvs.clear();
    kvs.set('hls-gate:session-secret', SESSION_SECRET);
    const ladder = await grant('ladder');
    const cmaf = await grant('cmaf');
    const { 'HlsGate-Session': session, ...withoutSession } = ladder;
    expect(reason(await handler(event(withoutSession)))).toBe('session-invalid');
    const forged = session!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect(reason(await handler(event({ ...ladder, 'HlsGate-Session': forged })))).toBe('session-invalid');
    const [sid, , tag] = session!.split('.');
    expect(reason(await handler(event({ ...ladder, 'HlsGate-Session': `${sid}.${Buffer.from('mallory').toString('base64')}.${tag}` })))).toBe('session-invalid');
    expect(reason(await handler(event({ ...cmaf, 'HlsGate-Session': session! }, '/videos/cmaf/master.m3u8')))).toBe('session-invalid');
  });

  it('refuses a revoked viewer or session from the KeyValueStore, until the revocation ends', async () => {
    kvs.clear();
    kvs.set('hls-gate:session-secret', SESSION_SECRET);
    const cookies = await grant('ladder', 'erin');
    const now = Math.floor(Date.now() / 1000);
    kvs.set('sub:erin', String(now + 600));
    expect(reason(await handler(event(cookies)))).toBe('revoked');
    kvs.set('sub:erin', String(now - 1));
    expect((await handler(event(cookies))).statusCode).toBeUndefined();
    kvs.set(`session:${cookies['HlsGate-Session']!.split('.')[0]}`, String(now + 600));
    expect(reason(await handler(event(cookies)))).toBe('revoked');
    expect((await handler(event(await grant('ladder', 'erin')))).statusCode).toBeUndefined(); // another device of erin
  });

  it('refuses everything while the KeyValueStore holds no secret', async () => {
    kvs.clear();
    expect(reason(await handler(event(await grant('ladder'))))).toBe('session-invalid');
  });

  it('`hls-gate cloudfront function` prints exactly this source', async () => {
    let out = '';
    expect(await main(['cloudfront', 'function'], { stdout: (t) => void (out += t), stderr: () => {}, env: {}, now: () => Date.now() })).toBe(0);
    expect(out).toBe(CLOUDFRONT_FUNCTION);
  });
});

describe('hls-gate cloudfront kvs-sync', () => {
  it('writes the KeyValueStore update (revocations, deletions, the secret) to a private file and prints only the commands', async () => {
    const { startNodeGateway } = await import('../../server/node/start.ts');
    const { readFileSync, statSync } = await import('node:fs');
    const ADMIN_SECRET = 'admin-secret-that-is-long-enough-0123456789ab';
    const gw = await startNodeGateway(testEnv({ PORT: '0', SESSION_SECRET, ADMIN_SECRET }), { log: () => {}, events: () => {} });
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-kvs-'));
    try {
      await fetch(`${gw.url}/api/admin/revocations`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_SECRET}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ sub: 'frank', ttl: 600 }) });
      writeFileSync(join(dir, 'keys.json'), JSON.stringify({ Items: [{ Key: 'sub:lifted-user', Value: '1' }, { Key: 'hls-gate:session-secret', Value: 'x' }] }));
      let out = '';
      const code = await main(['cloudfront', 'kvs-sync', '--kvs-arn', 'arn:aws:cloudfront::123456789012:key-value-store/abc', '--current', join(dir, 'keys.json'), '--out', join(dir, 'update.json'), '--url', gw.url], { stdout: (t) => void (out += t), stderr: () => {}, env: { ADMIN_SECRET, SESSION_SECRET }, now: () => Date.now() });
      expect(code).toBe(0);
      expect(out).toContain('aws cloudfront-keyvaluestore update-keys --kvs-arn arn:aws:cloudfront::123456789012:key-value-store/abc --if-match "$ETAG"');
      expect(out).not.toContain(SESSION_SECRET);
      const update = JSON.parse(readFileSync(join(dir, 'update.json'), 'utf8')) as { Puts: { Key: string; Value: string }[]; Deletes: { Key: string }[] };
      expect(update.Puts.map((p) => p.Key).sort()).toEqual(['hls-gate:session-secret', 'sub:frank']);
      expect(update.Deletes).toEqual([{ Key: 'sub:lifted-user' }]);
      expect(statSync(join(dir, 'update.json')).mode & 0o777).toBe(0o600);
    } finally {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

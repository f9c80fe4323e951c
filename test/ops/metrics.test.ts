// Metrics as an operator gets them: a real Prometheus server (Debian's `prometheus`) scrapes a real gateway after a
// short mixed load, and what it reads equals what the load did: grants, each refusal reason, bytes served.
// `promtool check metrics` passes on the scrape, `promtool check rules` on ops/alerts.yml, and every metric the
// Grafana dashboard draws exists.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REASON_HEADER } from '../../server/core/headers.ts';
import { DENIALS } from '../../server/core/denials.ts';
import { PROBLEMS } from '../../server/app/problems.ts';
import { signCookies, importPrivateKey } from '../../server/core/index.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { freePort } from '../helpers/ports.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { RSA_KEY_PAIR_ID, fixtureKey } from '../helpers/fixtures.ts';

const TOKEN = 'metrics-token-0123456789';
const MEDIA_ROUTE = '/videos/:videoId/*';

let gw: RunningGateway;
let prometheus: ChildProcess | undefined;
let promUrl = '';
const dir = mkdtempSync(join(tmpdir(), 'hls-gate-prom-'));

/** What the load did, counted from the answers themselves. */
const did = { grants: 0, bytes: 0, refusals: new Map<string, number>() };

async function load(): Promise<void> {
  const base = gw.url;
  // Grants.
  const jar: Record<string, string>[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${base}/api/videos/ladder/access`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken(['ladder'], { sub: `viewer-${i}` })}` },
    });
    expect(res.status).toBe(200);
    did.grants++;
    jar.push(cookiesFrom(res));
    await res.arrayBuffer();
  }
  const refused = async (res: Response) => {
    const reason = res.headers.get(REASON_HEADER) ?? '';
    expect(reason, `${res.status}`).not.toBe('');
    did.refusals.set(reason, (did.refusals.get(reason) ?? 0) + 1);
    await res.arrayBuffer();
  };
  // Granted media, bytes counted.
  const files = [
    'master.m3u8',
    '240p/index.m3u8',
    '240p/seg_000.ts',
    '240p/seg_001.ts',
    '360p/index.m3u8',
    '360p/seg_000.ts',
  ];
  for (const [i, f] of files.entries()) {
    const res = await fetch(`${base}/videos/ladder/${f}`, { headers: { Cookie: cookieHeader(jar[i % jar.length]!) } });
    if (res.status !== 200) await refused(res);
    else did.bytes += (await res.arrayBuffer()).byteLength;
  }
  // Refusals of several kinds.
  const seg = `${base}/videos/ladder/240p/seg_000.ts`;
  for (let i = 0; i < 3; i++) await refused(await fetch(seg));
  const tampered = { ...jar[0]!, 'CloudFront-Signature': `${jar[0]!['CloudFront-Signature']!.slice(0, -4)}AAA_` };
  for (let i = 0; i < 2; i++) await refused(await fetch(seg, { headers: { Cookie: cookieHeader(tampered) } }));
  const key = await importPrivateKey(fixtureKey('rsa-pkcs8.pem'));
  const now = Math.floor(Date.now() / 1000);
  const expired = await signCookies(
    { resource: `${base}/videos/ladder/*`, expires: now - 60, notBefore: now - 600 },
    { keyPairId: RSA_KEY_PAIR_ID, privateKey: key },
  );
  await refused(await fetch(seg, { headers: { Cookie: cookieHeader({ ...expired }) } }));
  await refused(
    await fetch(`${base}/api/videos/ladder/access`, { method: 'POST', headers: { Authorization: 'Bearer nope' } }),
  );
  // Let the request log (written when each response has left) catch up.
  await new Promise((r) => setTimeout(r, 300));
}

async function query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as {
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  return body.data.result;
}

beforeAll(async () => {
  gw = await startNodeGateway(testEnv({ PORT: '0', METRICS_PORT: String(await freePort()), METRICS_TOKEN: TOKEN }), {
    log: () => {},
  });
  await load();
  // Prometheus, scraping the gateway's metrics listener every second with the bearer token.
  const port = await freePort();
  const target = new URL(gw.metricsUrl!);
  writeFileSync(join(dir, 'token'), TOKEN);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: hls-gate\n    authorization:\n      credentials_file: ${join(dir, 'token')}\n    static_configs:\n      - targets: ['${target.host}']\n`,
  );
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  promUrl = `http://127.0.0.1:${port}`;
  // Until it has scraped the gateway once.
  for (let i = 0; i < 150; i++) {
    const up = await query('up{job="hls-gate"}').catch(() => []);
    if (up[0]?.value[1] === '1') return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('Prometheus never scraped the gateway');
}, 60_000);

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Prometheus scrapes the gateway', () => {
  it('reads the grants, every refusal reason and the bytes the load produced', async () => {
    const grants = await query('sum(hlsgate_grants_total{kind="cookies"})');
    expect(Number(grants[0]?.value[1])).toBe(did.grants);
    const refusals = await query('sum by (reason) (hlsgate_refusals_total)');
    const seen = new Map(refusals.map((r) => [r.metric.reason!, Number(r.value[1])]));
    expect(did.refusals.size).toBeGreaterThanOrEqual(4); // no-credentials, bad-signature, expired, a bad token
    for (const [reason, n] of did.refusals) expect(seen.get(reason), reason).toBe(n);
    expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe([...did.refusals.values()].reduce((a, b) => a + b, 0));
    const bytes = await query(`sum(hlsgate_http_response_bytes_total{route="${MEDIA_ROUTE}"})`);
    expect(Number(bytes[0]?.value[1])).toBe(did.bytes);
    expect(did.bytes).toBeGreaterThan(100_000);
    // Signing was timed (grants for one video in one window share a signature: GRANT_WINDOW); the verifier worked.
    const signs = Number((await query('sum(hlsgate_operation_duration_seconds_count{operation="sign"})'))[0]?.value[1]);
    expect(signs).toBeGreaterThanOrEqual(1);
    expect(signs).toBeLessThanOrEqual(did.grants);
    const verified = await query('sum(hlsgate_verifications_total) + sum(hlsgate_verification_cache_hits_total)');
    expect(Number(verified[0]?.value[1])).toBeGreaterThan(0);
  });

  it('never labels a series with a viewer, an address, a token or a path with an ID', async () => {
    const text = await (await fetch(gw.metricsUrl!, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
    expect(text).not.toMatch(/viewer-\d|127\.0\.0\.1|ladder|Bearer|CloudFront-|eyJ/);
    const routes = [...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]);
    for (const r of routes) expect(r).toMatch(/^(\/[a-z/:*{}A-Z|\\.?\-_]*|other)$/);
  });

  it('refuses a scrape without the token, and answers nothing but /metrics', async () => {
    expect((await fetch(gw.metricsUrl!)).status).toBe(401);
    expect((await fetch(gw.metricsUrl!, { headers: { Authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect(
      (await fetch(gw.metricsUrl!.replace('/metrics', '/'), { headers: { Authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(404);
  });

  it('passes promtool check metrics', async () => {
    const text = await (await fetch(gw.metricsUrl!, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
    const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(out.trim()).toBe('');
  });

  it('the alert rules pass promtool, and every reason they name is a real one', () => {
    const rules = join(REPO_ROOT, 'ops/alerts.yml');
    expect(execFileSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' })).toMatch(
      /SUCCESS: \d+ rules found/,
    );
    const known = new Set([...Object.keys(DENIALS), ...Object.keys(PROBLEMS)]);
    const named = [...readFileSync(rules, 'utf8').matchAll(/reason(?:=|=~)"([^"]+)"/g)].flatMap((m) =>
      m[1]!.split('|'),
    );
    expect(named.length).toBeGreaterThan(0);
    for (const r of named) expect(known.has(r), r).toBe(true);
  });

  it("the README's metrics table names every gateway metric, and every metric it names exists", async () => {
    const text = await (await fetch(gw.metricsUrl!, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
    const own = [...text.matchAll(/^# TYPE (hlsgate_\S+)/gm)]
      .map((m) => m[1]!)
      .filter((n) => !/^hlsgate_(process|nodejs)_/.test(n));
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('| metric | what |');
    const table = readme.slice(start, readme.indexOf('\n\n', start));
    const named = new Set([...table.matchAll(/`(hlsgate_[a-z0-9_]+)/g)].map((m) => m[1]!));
    for (const n of own) expect(named.has(n), n).toBe(true);
    for (const n of named) if (!/^hlsgate_(live_|process_$|nodejs_$)/.test(n)) expect(own, n).toContain(n);
  });

  it('every metric the Grafana dashboard draws exists', async () => {
    const text = await (await fetch(gw.metricsUrl!, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
    const families = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
    const dashboard = readFileSync(join(REPO_ROOT, 'ops/grafana-dashboard.json'), 'utf8');
    const used = new Set(
      [...dashboard.matchAll(/hlsgate_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')),
    );
    expect(used.size).toBeGreaterThan(8);
    for (const name of used) expect(families.has(name), name).toBe(true);
  });
});

describe('session control in the metrics', () => {
  it('counts the leases held over every viewer, and the revocations in force', async () => {
    const gw2 = await startNodeGateway(
      testEnv({
        PORT: '0',
        METRICS_PORT: '0',
        SESSION_SECRET: 'session-secret-that-is-long-enough-0123456789',
        ADMIN_SECRET: 'admin-secret-that-is-long-enough-0123456789',
        MAX_STREAMS_PER_VIEWER: '2',
      }),
      { log: () => {} },
    );
    try {
      for (const sub of ['a', 'b', 'c', 'a']) {
        const res = await fetch(`${gw2.url}/api/videos/ladder/access`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${await viewerToken(['ladder'], { sub })}` },
        });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
      const revoke = await fetch(`${gw2.url}/api/admin/revocations`, {
        method: 'POST',
        headers: {
          Authorization: 'Bearer admin-secret-that-is-long-enough-0123456789',
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({ sub: 'c', ttl: 600 }),
      });
      expect(revoke.status).toBe(201);
      const text = await (await fetch(gw2.metricsUrl!)).text();
      expect(text).toMatch(/^hlsgate_active_leases 4$/m); // a and a's second device, b, c
      expect(text).toMatch(/^hlsgate_revocations 1$/m);
    } finally {
      await gw2.close();
    }
  });
});

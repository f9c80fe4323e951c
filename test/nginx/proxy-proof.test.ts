// Behind nginx (SERVE_VIA_NGINX) the gateway answers nginx alone: nginx proves itself with NGINX_PROXY_SECRET
// (X-Hls-Gate-Proxy), and anyone else reaching the gateway's port, who could choose its X-Forwarded-For (the address
// IP-bound grants check) or ask for a hand-off, is refused `403 not-via-proxy`. And nginx's logs hold no credential:
// a device link's query (Policy, Signature, Key-Pair-Id, HlsGate-Session) and cookies stay out of the access and
// error logs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import type { LogEntry } from '../../server/app/log.ts';
import { runFetchSegments } from '../../cli/fetch-segments/index.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { freePort } from '../helpers/ports.ts';
import { NGINX_TEST_SECRET, startNginx, type RunningNginx } from '../helpers/nginx.ts';

const SESSION_SECRET = 'session-secret-that-is-long-enough-0123456789';

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request sent exactly as written (Host included), optionally from another loopback address. */
function raw(
  base: string,
  path: string,
  headers: Record<string, string>,
  options: { localAddress?: string; method?: string; body?: string } = {},
): Promise<Raw> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        path,
        method: options.method ?? 'GET',
        headers,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('behind nginx, the gateway answers nginx alone', () => {
  let gw: RunningGateway;
  let nginx: RunningNginx;
  const log: LogEntry[] = [];
  /** A device link bound to 127.0.0.1, made through nginx (so for nginx's address). */
  let link: URL;

  beforeAll(async () => {
    const port = await freePort();
    gw = await startNodeGateway(
      testEnv({ PORT: String(port), SERVE_VIA_NGINX: 'true', NGINX_PROXY_SECRET: NGINX_TEST_SECRET }),
      { log: (e) => log.push(e) },
    );
    nginx = await startNginx({ upstream: `127.0.0.1:${port}`, mediaDir: join(REPO_ROOT, 'media') });
    const res = await fetch(`${nginx.url}/api/videos/ladder/device-link`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ bindIp: true }),
    });
    expect(res.status).toBe(200);
    link = new URL(((await res.json()) as { url: string }).url);
  });
  afterAll(async () => {
    await nginx?.stop();
    await gw?.close();
  });

  it('an IP-bound link works through nginx from its address only; straight to the gateway a spoofed X-Forwarded-For gets 403 not-via-proxy', async () => {
    const linkPath = `${link.pathname}${link.search}`;
    expect((await raw(nginx.url, linkPath, {})).status).toBe(200);
    const other = await raw(nginx.url, linkPath, { 'X-Forwarded-For': '127.0.0.1' }, { localAddress: '127.0.0.2' });
    expect(other.status).toBe(403); // nginx replaces the client's X-Forwarded-For with the address it saw
    expect(other.headers['x-hls-gate-reason']).toBe('ip-mismatch');
    const spoofed = { Host: link.host, 'X-Forwarded-For': '127.0.0.1' };
    for (const path of [`${link.pathname}${link.search}`, `/videos/ladder/240p/seg_000.ts${link.search}`]) {
      const res = await raw(gw.url, path, spoofed, { localAddress: '127.0.0.2' });
      expect(res.status, path).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ status: 403, code: 'not-via-proxy' });
      expect(res.headers['x-accel-redirect']).toBeUndefined();
      expect(res.body).not.toContain('#EXT');
    }
    // The API too: a grant made there would be bound to the address the client chose.
    const api = await raw(
      gw.url,
      '/api/videos/ladder/device-link',
      { ...spoofed, Authorization: `Bearer ${await viewerToken('*')}`, 'Content-Type': 'application/json' },
      { method: 'POST', body: '{"bindIp":true}' },
    );
    expect(api.status).toBe(403);
    expect(JSON.parse(api.body)).toMatchObject({ code: 'not-via-proxy' });
  });

  it('straight to the gateway, no hand-off leaks: no X-Accel-Redirect, no verdict, no whole file, with a good grant', async () => {
    const query = link.search;
    const asNginx = { Host: link.host, 'X-Forwarded-For': '127.0.0.1' };
    const attempts: [string, Record<string, string>][] = [
      [`/videos/ladder/240p/seg_000.ts${query}`, asNginx],
      [`/videos/ladder/240p/seg_000.ts${query}`, { ...asNginx, 'X-Hls-Gate-Verdict': '1', 'X-Hls-Gate-Method': 'GET' }],
      [`/videos/ladder/240p/index.m3u8${query}`, { ...asNginx, 'X-Hls-Gate-Whole': '1' }],
      // A wrong proof, of the right length, or the right one with more after it.
      [
        `/videos/ladder/240p/seg_000.ts${query}`,
        { ...asNginx, 'X-Hls-Gate-Proxy': NGINX_TEST_SECRET.replace(/.$/, '!') },
      ],
      [`/videos/ladder/240p/seg_000.ts${query}`, { ...asNginx, 'X-Hls-Gate-Proxy': `${NGINX_TEST_SECRET}, x` }],
    ];
    for (const [path, headers] of attempts) {
      const res = await raw(gw.url, path, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'not-via-proxy' });
      for (const name of ['x-accel-redirect', 'x-accel-expires', 'x-hls-gate-file', 'set-cookie'])
        expect(res.headers[name], name).toBeUndefined();
      expect(res.body).not.toContain(NGINX_TEST_SECRET);
    }
    // With nginx's proof the same request is nginx's: the hand-off (this is what a direct client must never get).
    const proven = await raw(gw.url, `/videos/ladder/240p/seg_000.ts${query}`, {
      ...asNginx,
      'X-Hls-Gate-Proxy': NGINX_TEST_SECRET,
    });
    expect(proven.status).toBe(200);
    expect(proven.headers['x-accel-redirect']).toBe('/_hls-gate/files/ladder/240p/seg_000.ts');
    // The health check alone answers a direct request (a liveness probe on the gateway's port).
    expect((await raw(gw.url, '/healthz', {})).status).toBe(200);
    // Through nginx the segment itself comes back.
    const viaNginx = await fetch(`${nginx.url}/videos/ladder/240p/seg_000.ts${query}`);
    expect(viaNginx.status).toBe(200);
    expect((await viaNginx.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect(JSON.stringify(log)).not.toContain(NGINX_TEST_SECRET); // never in the request log
  });
});

describe("nginx's logs hold no credential", () => {
  let gw: RunningGateway;
  let nginx: RunningNginx;
  let dead: RunningNginx;

  beforeAll(async () => {
    const port = await freePort();
    gw = await startNodeGateway(
      testEnv({ PORT: String(port), SERVE_VIA_NGINX: 'true', NGINX_PROXY_SECRET: NGINX_TEST_SECRET, SESSION_SECRET }),
      { log: () => {}, events: () => {} },
    );
    nginx = await startNginx({ upstream: `127.0.0.1:${port}`, mediaDir: join(REPO_ROOT, 'media') });
    // nginx in front of a gateway that is down (restarting): nginx's own errors, which name the request.
    dead = await startNginx({ upstream: `127.0.0.1:${await freePort()}`, mediaDir: join(REPO_ROOT, 'media') });
  });
  afterAll(async () => {
    await nginx?.stop();
    await dead?.stop();
    await gw?.close();
  });

  it('after a device-link walk, a tampered link, a cookie grant and an unreachable gateway', async () => {
    const token = await viewerToken('*');
    const made = await fetch(`${nginx.url}/api/videos/ladder/device-link`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(made.status).toBe(200);
    const { url } = (await made.json()) as { url: string };
    const link = new URL(url);
    expect(link.searchParams.get('HlsGate-Session')).toBeTruthy();
    // The walk: every playlist, segment and key of every rendition, with the link's query.
    let report = '';
    expect(
      await runFetchSegments([url, '--json', '-'], {
        stdout: (t) => void (report += t),
        stderr: () => {},
        env: {},
        now: () => Date.now(),
      }),
    ).toBe(0);
    expect(
      (JSON.parse(report) as { phases: { results: { status: number }[] }[] }).phases[0]!.results.every(
        (r) => r.status === 200,
      ),
    ).toBe(true);
    expect(
      (await fetch(url.replace(/Signature=(.)/, (_m, c: string) => `Signature=${c === 'A' ? 'B' : 'A'}`))).status,
    ).toBe(403);
    // Cookies: the grant's and the session's.
    const granted = await fetch(`${nginx.url}/api/videos/ladder/access`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(granted.status).toBe(200);
    const cookies = cookiesFrom(granted);
    expect(Object.keys(cookies)).toEqual(
      expect.arrayContaining(['CloudFront-Policy', 'CloudFront-Signature', 'HlsGate-Session']),
    );
    expect(
      (
        await fetch(`${nginx.url}/videos/ladder/240p/seg_000.ts`, {
          headers: { Cookie: cookieHeader(cookies), Referer: url },
        })
      ).status,
    ).toBe(200);
    // The gateway unreachable: nginx fails the request, and nginx's error log names failed requests.
    const down = await fetch(`${dead.url}${link.pathname}${link.search}`, {
      headers: { Cookie: cookieHeader(cookies), Referer: url },
    });
    expect(down.status).toBeGreaterThanOrEqual(500);

    const secrets = [
      'Policy=',
      'Signature=',
      'Key-Pair-Id=',
      'HlsGate-Session',
      'CloudFront-',
      ...[...link.searchParams.values(), ...Object.values(cookies)].filter((v) => v.length >= 20),
    ];
    const { access, error } = nginx.logs();
    const deadLogs = dead.logs();
    // Nothing that would let a reader of the logs play the video...
    const found = (
      [
        ['access', access],
        ['error', error],
        ['access (gateway down)', deadLogs.access],
        ['error (gateway down)', deadLogs.error],
      ] as const
    ).flatMap(([name, text]) =>
      [...secrets, NGINX_TEST_SECRET]
        .filter((secret) => text.includes(secret))
        .map((secret) => `${name} log: ${secret.slice(0, 24)}`),
    );
    expect(found).toEqual([]);
    // ...and yet the logs are written, with the paths.
    expect(access).toContain('"GET /videos/ladder/master.m3u8 HTTP/1.1" 200');
    expect(access).toContain('"GET /videos/ladder/240p/seg_000.ts HTTP/1.1" 200');
    expect(access).toContain('"POST /api/videos/ladder/access HTTP/1.1" 200');
    expect(deadLogs.access).toMatch(/"GET \/videos\/ladder\/master\.m3u8 HTTP\/1\.1" 50\d/);
  }, 60_000);
});

describe('start-up with SERVE_VIA_NGINX', () => {
  const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');
  /** The real entry point; a refusal ends it at once (a gateway that starts is stopped after 8 s). */
  const start = (env: Record<string, string | undefined>) => {
    const clean = Object.fromEntries(
      Object.entries({ ...testEnv(), ...env }).filter(([, v]) => v !== undefined),
    ) as Record<string, string>;
    return spawnSync(TSX, ['server/node/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', PORT: '0', ...clean },
      encoding: 'utf8',
      timeout: 8_000,
    });
  };
  it.each([
    [
      'without NGINX_PROXY_SECRET',
      { SERVE_VIA_NGINX: 'true' },
      /SERVE_VIA_NGINX=true needs NGINX_PROXY_SECRET.*openssl rand -hex 32.*same value/,
    ],
    [
      'with a short NGINX_PROXY_SECRET',
      { SERVE_VIA_NGINX: 'true', NGINX_PROXY_SECRET: 'short-proxy-secret-12345' },
      /NGINX_PROXY_SECRET must be 32 to 1024 characters of .*openssl rand -hex 32/,
    ],
    [
      'with a quote in NGINX_PROXY_SECRET',
      { SERVE_VIA_NGINX: 'true', NGINX_PROXY_SECRET: `${NGINX_TEST_SECRET}"x` },
      /NGINX_PROXY_SECRET must be 32 to 1024 characters/,
    ],
    [
      'with NGINX_PROXY_SECRET equal to SESSION_SECRET',
      { SERVE_VIA_NGINX: 'true', SESSION_SECRET, NGINX_PROXY_SECRET: SESSION_SECRET },
      /NGINX_PROXY_SECRET must differ from AUTH_JWT_SECRET, SESSION_SECRET and ADMIN_SECRET/,
    ],
    [
      'NGINX_PROXY_SECRET without SERVE_VIA_NGINX',
      { NGINX_PROXY_SECRET: NGINX_TEST_SECRET },
      /NGINX_PROXY_SECRET is for nginx in front: set SERVE_VIA_NGINX=true/,
    ],
  ] as [string, Record<string, string>, RegExp][])(
    'refuses to start %s, in one line that never shows the secret',
    (_name, over, message) => {
      const r = start(over);
      expect(r.status).toBe(1);
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.includes('nodedir'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^hls-gate: configuration error: /);
      expect(lines[0]).toMatch(message);
      if (over.NGINX_PROXY_SECRET) expect(r.stderr + r.stdout).not.toContain(over.NGINX_PROXY_SECRET);
    },
  );
});

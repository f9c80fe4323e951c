// A clean lifecycle: /readyz says what is not ready (a catalog broken while running, a session store that does not
// answer), and SIGTERM during 200 downloads lets every download finish, refuses new connections, and exits 0 within
// SHUTDOWN_GRACE. (Packaging jobs handed back on SIGTERM: test/uploads/restart.test.ts.)
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { request, Agent, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { importPrivateKey, signCookies } from '../../server/core/index.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway } from '../../server/node/start.ts';
import { freePort } from '../helpers/ports.ts';
import { waitForOutput } from '../helpers/process.ts';
import { cookieHeader, testEnv, viewerToken } from '../helpers/targets.ts';
import { RSA_KEY_PAIR_ID, fixtureKey } from '../helpers/fixtures.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function mediaCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-life-'));
  dirs.push(dir);
  cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
  return dir;
}

describe('/readyz', () => {
  it('is ready with keys and a valid catalog; 503 naming the catalog once it breaks, ready again once fixed', async () => {
    const dir = mediaCopy();
    const gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir }), { log: () => {} });
    try {
      const ready = await fetch(`${gw.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(ready.headers.get('Cache-Control')).toBe('no-store');
      expect(await ready.json()).toEqual({ ready: true, checks: { keys: 'ok', catalog: 'ok' } });
      writeFileSync(join(dir, 'catalog.json'), '{ "videos": [ { "id": 1 } ] }');
      const broken = await fetch(`${gw.url}/readyz`);
      expect(broken.status).toBe(503);
      expect(await broken.json()).toEqual({ ready: false, checks: { keys: 'ok', catalog: 'invalid' } });
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200); // alive, not ready
      // The probe never drops the last good catalog the gateway serves from: grants still work meanwhile.
      const grant = await fetch(`${gw.url}/api/videos/ladder/access`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken(['ladder'])}` },
      });
      expect(grant.status).toBe(200);
      expect((await fetch(`${gw.url}/readyz`)).status).toBe(503);
      cpSync(join(REPO_ROOT, 'media/catalog.json'), join(dir, 'catalog.json'));
      expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('503 when the session store does not answer, without quoting its address', async () => {
    const port = await freePort(); // nothing listens there
    const gw = await startNodeGateway(
      testEnv({
        PORT: '0',
        SESSION_SECRET: 'session-secret-that-is-long-enough-0123456789',
        SESSION_STORE: `redis://:hunter2-password@127.0.0.1:${port}`,
      }),
      { log: () => {}, events: () => {} },
    );
    try {
      const res = await fetch(`${gw.url}/readyz`);
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({
        ready: false,
        checks: { keys: 'ok', catalog: 'ok', sessionStore: 'unreachable' },
      });
      expect(text).not.toMatch(/hunter2|127\.0\.0\.1|redis/);
    } finally {
      await gw.close();
    }
  });
});

describe('SIGTERM', () => {
  it('during 200 downloads: every one completes, new connections are refused, exit 0 within SHUTDOWN_GRACE', async () => {
    const dir = mediaCopy();
    const size = 2 * 1024 * 1024;
    writeFileSync(join(dir, 'ladder/240p/big.ts'), randomBytes(size));
    const port = await freePort();
    const env = Object.fromEntries(
      Object.entries(testEnv({ PORT: String(port), MEDIA_DIR: dir, SHUTDOWN_GRACE: '10' })).filter(
        (e): e is [string, string] => e[1] !== undefined,
      ),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/node/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH!, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const { match } = await waitForOutput(child, /"msg":"listening","url":"([^"]+)"/, 'the gateway');
    const url = match[1]!;
    const cookies = await signCookies(
      { resource: `${url}/videos/ladder/*`, expires: Math.floor(Date.now() / 1000) + 600 },
      { keyPairId: RSA_KEY_PAIR_ID, privateKey: await importPrivateKey(fixtureKey('rsa-pkcs8.pem')) },
    );
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    // 200 downloads, each held (paused, nothing read) once its headers arrived: all in flight when SIGTERM comes.
    const responses = await Promise.all(
      Array.from(
        { length: 200 },
        () =>
          new Promise<IncomingMessage>((started, failed) => {
            const req = request(`${url}/videos/ladder/240p/big.ts`, {
              agent,
              headers: { Cookie: cookieHeader({ ...cookies }) },
            });
            req.on('error', failed);
            req.on('response', (res) => {
              res.pause();
              started(res);
            });
            req.end();
          }),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(200).fill(200));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const signalled = Date.now();
    child.kill('SIGTERM');
    await waitForOutput(child, /"msg":"shutting down"/, 'the shutdown line');
    // No new connection is accepted.
    const refused = await new Promise<string>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r('connected');
      });
      s.once('error', (err: NodeJS.ErrnoException) => r(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    // Every download in flight runs to its end.
    const received = await Promise.all(
      responses.map(
        (res) =>
          new Promise<number>((finished) => {
            let n = 0;
            res.on('data', (chunk: Buffer) => (n += chunk.length));
            res.on('end', () => finished(n));
            res.on('error', () => finished(-1));
            res.on('aborted', () => finished(-1));
            res.resume(); // paused explicitly above: a 'data' listener alone does not restart it
          }),
      ),
    );
    expect(received.filter((n) => n === size)).toHaveLength(200);
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    agent.destroy();
  }, 60_000);
});

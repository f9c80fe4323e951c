// Every connection has a deadline: a viewer that stops reading and a client that never finishes its headers are
// dropped, so they cannot hold sockets and file descriptors forever (tried with raw sockets on loopback).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { closeSync, ftruncateSync, mkdtempSync, openSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { connectionLimits, startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';

const SIZE = 256 * 1024 * 1024; // sparse; far more than loopback buffers hold

function open(url: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => resolve(s));
    s.once('error', reject);
  });
}

describe('connection deadlines on the Node server', () => {
  let dir: string;
  let gw: RunningGateway;
  let cookie: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-conn-'));
    cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
    const fd = openSync(join(dir, 'ladder/huge.ts'), 'w');
    ftruncateSync(fd, SIZE);
    closeSync(fd);
    gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir, STALL_TIMEOUT: '1', HEADERS_TIMEOUT: '1', REQUEST_TIMEOUT: '2', IDLE_TIMEOUT: '1' }), { log: () => {} });
    const res = await fetch(`${gw.url}/api/videos/ladder/access`, { method: 'POST', headers: { Authorization: `Bearer ${await viewerToken('*')}` } });
    cookie = cookieHeader(cookiesFrom(res));
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a viewer that stops reading is dropped after STALL_TIMEOUT, reset rather than closed behind its unsent bytes', async () => {
    const s = await open(gw.url);
    s.write(`GET /videos/ladder/huge.ts HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\n\r\n`);
    s.pause(); // stop reading: the server's writes stall once the loopback buffers are full
    let received = 0;
    const ended = new Promise<string>((resolve) => {
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      s.on('end', () => resolve('FIN'));
    });
    await new Promise((r) => setTimeout(r, 3000)); // past STALL_TIMEOUT (1 s)
    s.on('data', (d: Buffer) => (received += d.length));
    s.resume();
    // A RST: the kernel dropped the queued megabytes at once (a FIN would have waited behind them, FIN-WAIT-1).
    expect(await ended).toBe('ECONNRESET');
    expect(received).toBeLessThan(SIZE); // the rest of the 256 MB never comes
  });

  it('a client that never finishes its headers (slowloris) is cut off after HEADERS_TIMEOUT', async () => {
    const s = await open(gw.url);
    const started = Date.now();
    let reply = '';
    s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const timer = setInterval(() => s.write('a'), 200); // trickles bytes, never ends the head
    await new Promise<void>((resolve) => {
      s.on('data', (d: Buffer) => (reply += d.toString()));
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    clearInterval(timer);
    expect(reply).toMatch(/^HTTP\/1.1 408/);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('an idle keep-alive connection is closed after IDLE_TIMEOUT', async () => {
    const s = await open(gw.url);
    const started = Date.now();
    s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await new Promise<void>((resolve) => {
      s.on('data', () => {});
      s.on('close', () => resolve());
    });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('limits are checked at start-up', () => {
    expect(connectionLimits({})).toEqual({ headers: 10, request: 30, idle: 5, stall: 30 });
    expect(() => connectionLimits({ STALL_TIMEOUT: '0' })).toThrow(/STALL_TIMEOUT must be between 1 second/);
    expect(() => connectionLimits({ HEADERS_TIMEOUT: 'soon' })).toThrow(/HEADERS_TIMEOUT="soon" is not a duration/);
    expect(() => connectionLimits({ HEADERS_TIMEOUT: '20', REQUEST_TIMEOUT: '10' })).toThrow(/REQUEST_TIMEOUT must be at least HEADERS_TIMEOUT/);
  });
});

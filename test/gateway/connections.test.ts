// Every connection has a deadline: a viewer that stops reading and a client that never finishes its headers are
// dropped, so they cannot hold sockets and file descriptors forever (tried with raw sockets on loopback).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { closeSync, ftruncateSync, mkdtempSync, openSync, cpSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { connectionLimits } from '../../server/node/settings.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';

const SIZE = 256 * 1024 * 1024; // sparse; far more than loopback buffers hold
const MID = 3 * 1024 * 1024;

/** Sockets on this local port in FIN-WAIT-1 (state 04 in /proc/net/tcp). */
function finWait1(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6']
    .flatMap((file) => readFileSync(file, 'utf8').split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 3 && f[1]!.endsWith(`:${hexPort}`) && f[3] === '04').length;
}

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
    const mid = openSync(join(dir, 'ladder/mid.ts'), 'w');
    ftruncateSync(mid, MID);
    closeSync(mid);
    const fd = openSync(join(dir, 'ladder/huge.ts'), 'w');
    ftruncateSync(fd, SIZE);
    closeSync(fd);
    gw = await startNodeGateway(
      testEnv({
        PORT: '0',
        MEDIA_DIR: dir,
        STALL_TIMEOUT: '1',
        HEADERS_TIMEOUT: '1',
        REQUEST_TIMEOUT: '2',
        IDLE_TIMEOUT: '1',
      }),
      { log: () => {} },
    );
    const res = await fetch(`${gw.url}/api/videos/ladder/access`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    cookie = cookieHeader(cookiesFrom(res));
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a viewer that stops reading is dropped after STALL_TIMEOUT, reset rather than closed behind its unsent bytes', async () => {
    const s = await open(gw.url);
    const port = new URL(gw.url).port;
    // The Host the grant was made for (its Resource names host and port): anything else is a short 403.
    s.write(`GET /videos/ladder/huge.ts HTTP/1.1\r\nHost: ${new URL(gw.url).host}\r\nCookie: ${cookie}\r\n\r\n`);
    let head = '';
    await new Promise<void>((resolve) =>
      s.once('data', (d: Buffer) => resolve(void (head = d.toString('latin1', 0, 12)))),
    );
    expect(head).toBe('HTTP/1.1 200'); // the answer is the 256 MB file, not a refusal
    s.pause(); // stop reading: the server's writes stall once the loopback buffers are full
    s.on('error', () => {}); // the RST: Linux reports it as ECONNRESET or, with data still queued, as an end
    await new Promise((r) => setTimeout(r, 2500)); // past STALL_TIMEOUT (1 s)
    // The gateway's side of the connection is gone: a FIN would have left it in FIN-WAIT-1, holding the megabytes
    // the paused viewer never took (Linux's connection table: https://www.kernel.org/doc/Documentation/networking/proc_net_tcp.txt).
    expect(finWait1(Number(port))).toBe(0);
    expect(s.readableLength + (s.read()?.length ?? 0)).toBeLessThan(SIZE);
    s.destroy();
  });

  it('a viewer still reading an answer the gateway has handed over whole gets every byte when the idle connection is closed', async () => {
    // 3 MB: more than the loopback socket buffers take at once, so the last bytes leave the gateway only while the
    // viewer reads; the answer then sits whole in the kernel while the viewer keeps reading slowly past IDLE_TIMEOUT.
    const s = await open(gw.url);
    s.write(`GET /videos/ladder/mid.ts HTTP/1.1\r\nHost: ${new URL(gw.url).host}\r\nCookie: ${cookie}\r\n\r\n`);
    let received = 0;
    let head = '';
    const ended = new Promise<string>((resolve) => {
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      s.on('end', () => resolve('FIN'));
    });
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (head === '') head = d.toString('latin1', 0, 12);
      s.pause(); // slow: 64 KB reads, 100 ms apart (3 MB take ~5 s, well past IDLE_TIMEOUT and STALL_TIMEOUT)
      setTimeout(() => s.resume(), 100);
    });
    expect(await ended).toBe('FIN');
    expect(received).toBeGreaterThan(MID); // the head and all 3 MB
    expect(head).toBe('HTTP/1.1 200');
  }, 20_000);

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
    expect(() => connectionLimits({ HEADERS_TIMEOUT: '20', REQUEST_TIMEOUT: '10' })).toThrow(
      /REQUEST_TIMEOUT must be at least HEADERS_TIMEOUT/,
    );
  });
});

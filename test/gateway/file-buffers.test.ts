// The Node server reuses the buffers file bytes leave through (server/node/file-buffers.ts). Reuse must never show:
// many viewers at once, files of different sizes, viewers that pause and viewers that leave mid-file, and every
// body that arrives is byte for byte the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { pooledBuffers } from '../../server/node/file-buffers.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';

/** The body of the `index`-th HTTP response in `raw` (each with a Content-Length), or null while incomplete. */
function bodyAt(raw: Buffer, index: number): Buffer | null {
  let at = 0;
  for (let i = 0; ; i++) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) return null;
    const length = Number(/content-length: (\d+)/i.exec(raw.subarray(at, end).toString('latin1'))?.[1]);
    const body = raw.subarray(end + 4, end + 4 + length);
    if (body.length < length) return null;
    if (i === index) return body;
    at = end + 4 + length;
  }
}

/** Whole-read sizes around the pooled buffer's (256 KB), and files sent in several pooled chunks. */
const SIZES = [70_000, 150_000, 200_000, 262_144, 262_145, 600_000, 8_000_000];

describe('file buffers reused by the Node server', () => {
  let dir: string;
  let gw: RunningGateway;
  let cookie: string;
  const files = new Map<string, Buffer>();
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-buffers-'));
    cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
    SIZES.forEach((size, i) => {
      const bytes = randomBytes(size);
      files.set(`pool_${i}.ts`, bytes);
      writeFileSync(join(dir, 'ladder', `pool_${i}.ts`), bytes);
    });
    gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir }), { log: () => {} });
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

  /** A raw request that pauses reading for `pauseMs`, then reads to the end, or leaves after `leaveAfter` bytes. */
  function rawViewer(name: string, pauseMs: number, leaveAfter?: number): Promise<Buffer> {
    const u = new URL(gw.url);
    return new Promise((resolve, reject) => {
      const s = connect(Number(u.port), u.hostname, () =>
        s.write(
          `GET /videos/ladder/${name} HTTP/1.1\r\nHost: ${u.host}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
        ),
      );
      const chunks: Buffer[] = [];
      let got = 0;
      s.pause();
      setTimeout(() => s.resume(), pauseMs);
      s.on('data', (d: Buffer) => {
        chunks.push(d);
        got += d.length;
        if (leaveAfter !== undefined && got >= leaveAfter) s.destroy();
      });
      s.on('close', () => {
        const all = Buffer.concat(chunks);
        resolve(all.subarray(all.indexOf('\r\n\r\n') + 4));
      });
      s.on('error', reject);
    });
  }

  it('every body is the file, byte for byte, with hundreds of viewers, pauses and early leavers at once', async () => {
    const names = [...files.keys()];
    // Viewers that do not read for a while: the socket cannot take their whole answer, so its buffer stays in use
    // while the wave below goes through (and would overwrite it, were it returned too early).
    const pausers = Array.from({ length: 21 }, (_, i) => names[i % names.length]!).map((name) => ({
      name,
      body: rawViewer(name, 400),
    }));
    await new Promise((r) => setTimeout(r, 50));
    const fetches = Array.from({ length: 210 }, async (_, i) => {
      const name = names[i % names.length]!;
      const res = await fetch(`${gw.url}/videos/ladder/${name}`, { headers: { Cookie: cookie } });
      expect(res.status).toBe(200);
      return { name, body: Buffer.from(await res.arrayBuffer()) };
    });
    const leavers = Array.from({ length: 30 }, (_, i) => rawViewer(names[i % names.length]!, 0, 1000));
    const [bodies] = await Promise.all([Promise.all(fetches), Promise.all(leavers)]);
    for (const { name, body } of bodies) expect(body.equals(files.get(name)!), name).toBe(true);
    for (const { name, body } of pausers)
      expect((await body).equals(files.get(name)!), `paused viewer of ${name}`).toBe(true);
    // And the buffers were in fact reused: finished responses returned theirs.
    expect(pooledBuffers()).toBeGreaterThan(0);
    expect(pooledBuffers()).toBeLessThanOrEqual(32);

    // Once more, after reuse: a second wave must match too.
    const again = await Promise.all(
      names.map(async (name) =>
        Buffer.from(
          await (await fetch(`${gw.url}/videos/ladder/${name}`, { headers: { Cookie: cookie } })).arrayBuffer(),
        ),
      ),
    );
    again.forEach((body, i) => expect(body.equals(files.get(names[i]!)!)).toBe(true));
  });

  it('an answer queued behind another on a paused connection keeps its bytes while others reuse buffers', async () => {
    // Two requests pipelined on one connection that is not read: the second answer (a whole 200 KB read, one pooled
    // buffer) waits inside Node behind the first (8 MB, more than loopback buffers hold). Meanwhile other viewers
    // are served through pooled buffers. Returned before it was sent, its buffer would be overwritten by theirs.
    const u = new URL(gw.url);
    const s = connect(Number(u.port), u.hostname);
    await new Promise((r) => s.once('connect', r));
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.pause();
    const ask = (name: string) => `GET /videos/ladder/${name} HTTP/1.1\r\nHost: ${u.host}\r\nCookie: ${cookie}\r\n\r\n`;
    s.write(ask('pool_6.ts') + ask('pool_2.ts'));
    await new Promise((r) => setTimeout(r, 200));
    const others = ['pool_1.ts', 'pool_3.ts', 'pool_0.ts'];
    for (let wave = 0; wave < 5; wave++) {
      await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const name = others[i % others.length]!;
          const body = Buffer.from(
            await (await fetch(`${gw.url}/videos/ladder/${name}`, { headers: { Cookie: cookie } })).arrayBuffer(),
          );
          expect(body.equals(files.get(name)!)).toBe(true);
        }),
      );
    }
    s.resume();
    const total = files.get('pool_6.ts')!.length + files.get('pool_2.ts')!.length;
    const all = await new Promise<Buffer>((resolve) => {
      const check = () => {
        const b = Buffer.concat(chunks);
        if (b.length >= total + 400 && bodyAt(b, 1) !== null) resolve(b);
        else s.once('data', check);
      };
      check();
    });
    s.destroy();
    expect(bodyAt(all, 0)!.equals(files.get('pool_6.ts')!)).toBe(true);
    expect(bodyAt(all, 1)!.equals(files.get('pool_2.ts')!)).toBe(true);
  });

  it('a Range inside a pooled-size file is exact', async () => {
    const res = await fetch(`${gw.url}/videos/ladder/pool_2.ts`, {
      headers: { Cookie: cookie, Range: 'bytes=1000-150999' },
    });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(files.get('pool_2.ts')!.subarray(1000, 151000))).toBe(true);
  });
});

// Tokenizing is bounded: a device link's playlist over 4 MiB (by its stored size, before a byte of it is read) or
// over 100,000 lines is refused with `500 playlist-too-large`; one exactly at either bound is served, tokenized a
// slice at a time. The report's playlists (12.5 MB of 1,000,000 lines: a 288 MB answer after seconds of event loop;
// 6 MB of short lines: a RangeError) are refused. Against a real Node gateway in its own process (as deployed, so a
// blocked event loop there cannot also stall this test's clock): four of each requested at once by curl, while
// another process asks /healthz every 20 ms without waiting for earlier answers; its p99 stays under 100 ms, and
// the gateway's peak memory grows by less than 200 MB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';
import { waitForOutput } from '../helpers/process.ts';

const MiB = 1024 * 1024;
const MAX_BYTES = 4 * MiB;
const MAX_LINES = 100_000;

/** A playlist of exactly `lines` lines (each ending in LF) and, when given, exactly `bytes` bytes. */
function playlist(lines: number, bytes?: number): string {
  const head = '#EXTM3U\n#EXT-X-TARGETDURATION:2\n';
  const tail = '#EXT-X-ENDLIST\n';
  const n = lines - 3;
  const body: string[] = [];
  if (bytes === undefined) {
    for (let i = 0; i < n; i++) body.push(i % 2 === 0 ? '#EXTINF:2,\n' : 'a.ts\n');
  } else {
    // Segment names padded so that the whole is exactly `bytes` long.
    const room = bytes - head.length - tail.length;
    const per = Math.floor(room / n);
    let extra = room - per * n;
    for (let i = 0; i < n; i++) {
      const len = per + (extra > 0 ? 1 : 0);
      if (extra > 0) extra--;
      const name = `s${i}_`;
      body.push(`${name}${'x'.repeat(len - name.length - 4)}.ts\n`);
    }
  }
  const text = head + body.join('') + tail;
  if (bytes !== undefined && Buffer.byteLength(text) !== bytes)
    throw new Error(`built ${Buffer.byteLength(text)} bytes, not ${bytes}`);
  return text;
}
const lineCount = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

/** Polls `url` every 20 ms, each request on its own, in a separate process; `stop` gives every latency in ms. */
function startPoller(url: string): { stop: () => Promise<number[]> } {
  // Requests still unanswered when it is stopped are waited for (and count as 60 s if they never come back).
  const script = `
    const http = require('node:http');
    const times = [];
    let pending = 0;
    const timer = setInterval(() => {
      const t = performance.now();
      pending++;
      http.get(process.argv[1], { agent: false }, (res) => { res.resume(); res.on('end', () => { pending--; times.push(performance.now() - t); }); });
    }, 20);
    process.stdin.on('data', () => {
      clearInterval(timer);
      const started = performance.now();
      const done = setInterval(() => {
        if (pending > 0 && performance.now() - started < 60000) return;
        clearInterval(done);
        for (let i = 0; i < pending; i++) times.push(60000);
        process.stdout.write(JSON.stringify(times));
        process.exit(0);
      }, 10);
    });
    process.stdin.resume();`;
  const child = spawn(process.execPath, ['-e', script, url], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return {
    stop: () =>
      new Promise((resolve) => {
        child.on('close', () => resolve(JSON.parse(out) as number[]));
        child.stdin.end('stop');
      }),
  };
}

const curl = (url: string, out: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn('curl', ['-s', '-o', out, '-w', '%{http_code}', url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let code = '';
    child.stdout.on('data', (d: Buffer) => (code += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(Number(code)));
  });

describe('tokenizing a huge playlist does not exhaust the gateway', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  const texts: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-big-'));
    mkdirSync(join(dir, 'big'));
    mkdirSync(join(dir, 'out'));
    texts['report-12mb.m3u8'] = `#EXTM3U\n${'seg_0000.ts\n#EXTINF:2.0,\n'.repeat(499_999)}#EXT-X-ENDLIST\n`; // 12.5 MB, 1,000,000 lines
    texts['report-6mb.m3u8'] = `#EXTM3U\n${'a.ts\n'.repeat(1_260_000)}`; // 6.3 MB of short lines
    texts['over-bytes.m3u8'] = playlist(40_000, MAX_BYTES + 1);
    texts['over-lines.m3u8'] = playlist(MAX_LINES + 1);
    texts['at-bytes.m3u8'] = playlist(40_000, MAX_BYTES);
    texts['at-lines.m3u8'] = playlist(MAX_LINES);
    expect(lineCount(texts['report-12mb.m3u8'])).toBe(1_000_000);
    expect(lineCount(texts['over-lines.m3u8'])).toBe(MAX_LINES + 1);
    expect(lineCount(texts['at-lines.m3u8'])).toBe(MAX_LINES);
    for (const [name, text] of Object.entries(texts)) writeFileSync(join(dir, 'big', name), text);
    writeFileSync(
      join(dir, 'catalog.json'),
      JSON.stringify({ videos: [{ id: 'big', title: 'Big', playlist: 'at-lines.m3u8' }] }),
    );
    const env = Object.fromEntries(
      Object.entries(testEnv({ PORT: '0', MEDIA_DIR: dir })).filter((e): e is [string, string] => e[1] !== undefined),
    );
    child = spawn(process.execPath, ['--import', 'tsx', 'server/node/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH!, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    url = (await waitForOutput(child, /"msg":"listening","url":"([^"]+)"/, 'the gateway')).match[1]!;
  });
  /** A field of the gateway process's /proc status, in kB (null where there is no /proc). */
  const memoryKb = (field: 'VmRSS' | 'VmHWM'): number | null => {
    try {
      return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]);
    } catch {
      return null;
    }
  };
  afterAll(() => {
    child?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('over the bound: refused with playlist-too-large; at the bound: served, tokenized; /healthz p99 < 100 ms with four at once', async () => {
    const res = await fetch(`${url}/api/videos/big/device-link`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    const link = ((await res.json()) as { url: string }).url;
    const query = new URL(link).search.slice(1);
    const linkTo = (name: string) => link.replace('/at-lines.m3u8?', `/${name}?`);

    // /healthz is polled from a process of its own too, so that nothing this process does (spawning curl, say)
    // delays a sample: every 20 ms without waiting for earlier answers, from before the first request to after
    // the last.
    const rssBefore = memoryKb('VmRSS');
    const poller = startPoller(`${url}/healthz`);
    await new Promise((r) => setTimeout(r, 300));
    const statuses: Record<string, number[]> = {};
    for (const name of [
      'report-12mb.m3u8',
      'report-6mb.m3u8',
      'over-bytes.m3u8',
      'over-lines.m3u8',
      'at-bytes.m3u8',
      'at-lines.m3u8',
    ]) {
      // Four at once.
      statuses[name] = await Promise.all([0, 1, 2, 3].map((i) => curl(linkTo(name), join(dir, 'out', `${name}.${i}`))));
    }
    await new Promise((r) => setTimeout(r, 300));
    const times = await poller.stop();

    for (const name of ['report-12mb.m3u8', 'report-6mb.m3u8', 'over-bytes.m3u8', 'over-lines.m3u8']) {
      expect(statuses[name], name).toEqual([500, 500, 500, 500]);
      for (const i of [0, 1, 2, 3])
        expect(JSON.parse(readFileSync(join(dir, 'out', `${name}.${i}`), 'utf8')), name).toMatchObject({
          status: 500,
          code: 'playlist-too-large',
        });
    }
    for (const name of ['at-bytes.m3u8', 'at-lines.m3u8']) {
      expect(statuses[name], name).toEqual([200, 200, 200, 200]);
      const original = texts[name]!;
      const expected = original.replace(/^(?!#)(.+)$/gm, `$1?${query}`);
      for (const i of [0, 1, 2, 3]) {
        const got = readFileSync(join(dir, 'out', `${name}.${i}`), 'utf8');
        expect(got.length, name).toBe(expected.length);
        expect(got === expected, name).toBe(true);
      }
    }

    // The gateway's peak memory grew by far less than one of the report's answers (288 MB each, 3.8 GB for four).
    const peak = memoryKb('VmHWM');
    if (rssBefore !== null && peak !== null)
      expect((peak - rssBefore) / 1024, `peak RSS ${peak} kB, ${rssBefore} kB before`).toBeLessThan(200);

    times.sort((a, b) => a - b);
    const p99 = times[Math.floor(times.length * 0.99)]!;
    expect(times.length).toBeGreaterThan(50);
    expect(
      p99,
      `/healthz p99 over ${times.length} samples, max ${times[times.length - 1]!.toFixed(0)} ms`,
    ).toBeLessThan(100);
  }, 120_000);

  it('HEAD answers the same status without a body', async () => {
    const res = await fetch(`${url}/api/videos/big/device-link`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    const link = ((await res.json()) as { url: string }).url;
    expect((await fetch(link.replace('/at-lines.m3u8?', '/over-lines.m3u8?'), { method: 'HEAD' })).status).toBe(500);
    expect((await fetch(link.replace('/at-lines.m3u8?', '/report-12mb.m3u8?'), { method: 'HEAD' })).status).toBe(500);
    expect((await fetch(link, { method: 'HEAD' })).status).toBe(200);
  });
});

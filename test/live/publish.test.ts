// `hls-gate live --s3` and `--r2`: the stream published while it is written, as `hls-gate package` publishes. To an
// S3-compatible server on loopback (s3rver): at every moment the published media playlist names only segments that
// are already there, the segments the window slid past are removed, and the end leaves EXT-X-ENDLIST. To the local
// R2 bucket: the Worker in workerd then serves the recording behind the gate, listed in the bucket's catalog and no
// longer live.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { S3_CREDENTIALS, startS3 } from '../helpers/s3.ts';
import { AwsClient } from 'aws4fetch';
import { Miniflare, type RequestInit as MiniflareRequestInit } from 'miniflare';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { walkStream } from '../helpers/walk.ts';
import { buildWorker } from '../../scripts/build-worker.mjs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function live(args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin/hls-gate.js'),
      'live',
      ...args,
      ...['--input', 'testsrc2=size=640x360:rate=25[out0];sine=frequency=440:sample_rate=48000[out1]'],
      ...['--input-format', 'lavfi', '--ladder', '360,240', '--preset', 'ultrafast', '--window', '3'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH!, ...env } },
  );
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

const stop = async (child: ChildProcess) => {
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  child.kill('SIGINT');
  return exited;
};

describe('hls-gate live publishing to S3 and R2', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'hls-gate-live-publish-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  describe('S3', () => {
    let server: Awaited<ReturnType<typeof startS3>>;
    let endpoint: string;
    beforeAll(async () => {
      server = await startS3(work, 'media-bucket');
      endpoint = server.endpoint;
    });
    afterAll(() => server?.close());

    it('never names a segment that is not there yet, removes what the window left, and ends with ENDLIST', async () => {
      const media = mkdtempSync(join(work, 'media-'));
      const run = live(
        ['s3live', '--media-dir', media, '--s3', 's3://media-bucket', '--s3-endpoint', endpoint],
        S3_CREDENTIALS,
      );
      const s3 = new AwsClient({
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        service: 's3',
        region: 'us-east-1',
      });
      const object = (key: string) => s3.fetch(`${endpoint}/media-bucket/videos/s3live/${key}`);
      const named = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
      const seen = new Set<string>();
      const deadline = Date.now() + 40_000;
      let checks = 0;
      while (checks < 8 && Date.now() < deadline) {
        await sleep(1000);
        const playlist = await object('360p/index.m3u8');
        if (!playlist.ok) continue;
        const text = await playlist.text();
        expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
        for (const segment of named(text)) {
          expect((await object(`360p/${segment}`)).status, `${segment} named in\n${text}`).toBe(200);
          seen.add(segment);
        }
        checks++;
      }
      expect(checks, run.output()).toBe(8);
      expect((await object('master.m3u8')).status).toBe(200);
      expect(await stop(run.child), run.output()).toBe(0);
      const last = await (await object('360p/index.m3u8')).text();
      expect(last).toMatch(/#EXT-X-ENDLIST\n$/);
      // A window of three: what slid out of it is gone from the bucket too.
      const kept = new Set(named(last));
      const gone = [...seen].filter((s) => !kept.has(s));
      expect(gone.length).toBeGreaterThan(0);
      for (const segment of gone)
        expect((await object(`360p/${segment}`)).status, `${segment}: ${run.output()}`).toBe(404);
    }, 90_000);
  });

  it('R2 (local): the Worker in workerd serves the recording, listed in the bucket catalog, no longer live', async () => {
    const media = mkdtempSync(join(work, 'media-'));
    const persist = join(work, 'wrangler-state');
    const run = live([
      'r2live',
      '--title',
      'On air',
      '--media-dir',
      media,
      '--r2',
      'hls-gate-media',
      '--r2-persist',
      persist,
    ]);
    const deadline = Date.now() + 40_000;
    while (!existsSync(join(media, 'r2live', 'master.m3u8')) && Date.now() < deadline) await sleep(300);
    await sleep(4000);
    expect(await stop(run.child), run.output()).toBe(0);
    const scriptPath = await buildWorker(join(mkdtempSync(join(tmpdir(), 'hls-gate-worker-')), 'index.js'));
    const mf = new Miniflare({
      modules: true,
      scriptPath,
      modulesRoot: dirname(scriptPath),
      compatibilityDate: '2026-04-01',
      r2Buckets: { MEDIA: 'hls-gate-media' },
      r2Persist: join(persist, 'v3/r2'),
      bindings: Object.fromEntries(
        Object.entries(testEnv()).filter((e): e is [string, string] => typeof e[1] === 'string'),
      ),
    });
    try {
      const f = async (url: string, init?: RequestInit) =>
        (await mf.dispatchFetch(url, init as MiniflareRequestInit | undefined)) as unknown as Response;
      const list = await f('http://localhost/api/videos', {
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      expect(((await list.json()) as { videos: unknown[] }).videos).toEqual([
        { id: 'r2live', title: 'On air', playlist: 'master.m3u8' },
      ]);
      const res = await f('http://localhost/api/videos/r2live/access', {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      const { playlistUrl } = (await res.json()) as { playlistUrl: string };
      const cookie = cookieHeader(cookiesFrom(res));
      const walked = await walkStream((url) => f(url, { headers: { Cookie: cookie } }), playlistUrl);
      expect(walked.filter((w) => w.res.status !== 200).map((w) => w.req.url)).toEqual([]);
      expect(walked.filter((w) => w.req.kind === 'segment').length).toBeGreaterThanOrEqual(4);
      const media360 = walked.find((w) => w.req.url.endsWith('360p/index.m3u8'));
      expect(media360?.res.headers.get('cache-control')).toMatch(/max-age=[1-9]\d{2,}/); // a finished playlist now
    } finally {
      await mf.dispose();
    }
  }, 90_000);
});

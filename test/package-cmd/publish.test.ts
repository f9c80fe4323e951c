// Publishing a packaged video: to an S3-compatible server on loopback (s3rver, a real S3 protocol server with
// on-disk storage) under videos/<id>/ with each file's Content-Type, and to the local R2 bucket, from which the
// Worker in workerd then serves it behind the gate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { S3_CREDENTIALS, startS3 } from '../helpers/s3.ts';
import { AwsClient } from 'aws4fetch';
import { Miniflare, type RequestInit as MiniflareRequestInit } from 'miniflare';
import { main } from '../../cli/main.ts';
import type { Io } from '../../cli/io.ts';
import { parseCatalog } from '../../server/app/catalog.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { walkStream } from '../helpers/walk.ts';

import { buildWorker } from '../../scripts/build-worker.mjs';

const TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  key: 'application/octet-stream',
  jpg: 'image/jpeg',
};

async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: { PATH: process.env.PATH, ...env },
    now: () => Date.now(),
  };
  return { code: await main(argv, io), stdout, stderr };
}

describe('package --s3 and --r2', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'hls-gate-publish-'));
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=duration=2:size=640x360:rate=25',
      '-f',
      'lavfi',
      '-i',
      'sine=duration=2',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-shortest',
      join(work, 'src.mp4'),
    ]);
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
    const creds = S3_CREDENTIALS;

    it('uploads every file under videos/<id>/ with its Content-Type, master last, and lists it in the local catalog', async () => {
      const media = join(work, 'gateway-media');
      mkdirSync(media);
      const out = await run(
        [
          'package',
          join(work, 'src.mp4'),
          '--id',
          'lecture',
          '--encrypt',
          '--s3',
          's3://media-bucket',
          '--s3-endpoint',
          endpoint,
          '--media-dir',
          media,
        ],
        creds,
      );
      expect(out.code, out.stderr).toBe(0);
      const uploads = out.stderr
        .split('\n')
        .filter((l) => l.startsWith('uploaded '))
        .map((l) => l.slice('uploaded '.length));
      expect(uploads.at(-1)).toBe('videos/lecture/master.m3u8');
      expect(uploads).toContain('videos/lecture/key.key');
      const client = new AwsClient({
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        service: 's3',
        region: 'us-east-1',
      });
      for (const key of uploads) {
        const res = await client.fetch(`${endpoint}/media-bucket/${key}`);
        expect(res.status, key).toBe(200);
        expect(res.headers.get('Content-Type'), key).toBe(TYPES[key.slice(key.lastIndexOf('.') + 1)]);
      }
      const master = await (await client.fetch(`${endpoint}/media-bucket/videos/lecture/master.m3u8`)).text();
      expect(master).toContain('#EXT-X-STREAM-INF:');
      expect(parseCatalog(readFileSync(join(media, 'catalog.json'), 'utf8')).map((e) => e.id)).toEqual(['lecture']);
      // A published video is not overwritten without --replace.
      const again = await run(
        ['package', join(work, 'src.mp4'), '--id', 'lecture', '--s3', 's3://media-bucket', '--s3-endpoint', endpoint],
        creds,
      );
      expect(again.stderr).toMatch(/already has videos\/lecture\/master.m3u8/);
    }, 60_000);

    it('says which credentials are missing', async () => {
      const out = await run([
        'package',
        join(work, 'src.mp4'),
        '--id',
        'x',
        '--s3',
        's3://media-bucket',
        '--s3-endpoint',
        endpoint,
      ]);
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(/needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    }, 30_000);
  });

  it('R2 (local): the Worker in workerd serves the published video behind the gate', async () => {
    const persist = join(work, 'wrangler-state');
    const out = await run([
      'package',
      join(work, 'src.mp4'),
      '--id',
      'clip',
      '--format',
      'cmaf',
      '--r2',
      'hls-gate-media',
      '--r2-persist',
      persist,
      '--title',
      'A clip',
    ]);
    expect(out.code, out.stderr).toBe(0);
    const scriptPath = await buildWorker(join(mkdtempSync(join(tmpdir(), 'hls-gate-worker-')), 'index.js'));
    const bindings = Object.fromEntries(
      Object.entries(testEnv()).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    const mf = new Miniflare({
      modules: true,
      scriptPath,
      modulesRoot: dirname(scriptPath),
      compatibilityDate: '2026-04-01',
      r2Buckets: { MEDIA: 'hls-gate-media' },
      r2Persist: join(persist, 'v3/r2'),
      bindings,
    });
    try {
      const f = async (url: string, init?: RequestInit) =>
        (await mf.dispatchFetch(url, init as MiniflareRequestInit | undefined)) as unknown as Response;
      const list = await f('http://localhost/api/videos', {
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      expect(((await list.json()) as { videos: { id: string; title: string }[] }).videos).toEqual([
        expect.objectContaining({ id: 'clip', title: 'A clip', poster: 'poster.jpg' }),
      ]);
      const res = await f('http://localhost/api/videos/clip/access', {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      const { playlistUrl } = (await res.json()) as { playlistUrl: string };
      const cookie = cookieHeader(cookiesFrom(res));
      const walked = await walkStream((url) => f(url, { headers: { Cookie: cookie } }), playlistUrl);
      expect(walked.map((w) => w.req.kind).sort()).toEqual(['init', 'playlist', 'playlist', 'segment']); // master, 360p, its init and its one segment
      expect(walked.filter((w) => w.res.status !== 200).map((w) => w.req.url)).toEqual([]);
      expect((await f(playlistUrl)).status).toBe(403);
    } finally {
      await mf.dispose();
    }
  }, 90_000);
});

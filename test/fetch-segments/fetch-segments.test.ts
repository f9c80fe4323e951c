import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readdirSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFetchSegments } from '../../cli/fetch-segments/index.ts';
import type { Io } from '../../cli/io.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';
import { startStaticServer } from '../helpers/static-server.ts';
import { RSA_KEY_PAIR_ID } from '../helpers/fixtures.ts';

const MEDIA = join(REPO_ROOT, 'media');
const KEY = join(REPO_ROOT, 'test/fixtures/keys/rsa-pkcs8.pem');

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: {},
    now: () => Date.now(),
  };
  const code = await runFetchSegments(argv, io).catch((e: unknown) => {
    stderr += String(e);
    return 2;
  });
  return { code, stdout, stderr };
}

/** Counted independently of the tool: every file of the video folder is one request. */
function filesOf(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + (statSync(join(dir, f)).isDirectory() ? filesOf(join(dir, f)) : 1), 0);
}

interface Report {
  ok: boolean;
  phases: {
    name: string;
    ok: boolean;
    requests: number;
    results: { kind: string; status: number; reason?: string; code?: string; range?: unknown }[];
    failures: { url: string; status: number; error?: string }[];
  }[];
}

describe('fetch-segments against the Node gateway', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startNodeGateway(testEnv({ PORT: '0' }), { log: () => {} });
  });
  afterAll(async () => gw?.close());

  it.each(['ladder', 'cmaf', 'aes'])(
    'walks every request of %s with a grant from the access call (exit 0)',
    async (id) => {
      const out = await run([
        '--token',
        await viewerToken('*'),
        '--access-url',
        `${gw.url}/api/videos/${id}/access`,
        '--json',
        '-',
      ]);
      expect(out.code, out.stderr).toBe(0);
      const report = JSON.parse(out.stdout) as Report; // with --json -, stdout is the JSON report alone
      expect(report.phases[0]!.requests).toBe(filesOf(join(MEDIA, id)));
      expect(report.phases[0]!.results.every((r) => r.status === 200)).toBe(true);
      expect(out.stderr).toContain('RESULT: PASS');
    },
  );

  it('--expect denied without credentials: exit 0 and nothing served', async () => {
    const out = await run([`${gw.url}/videos/ladder/master.m3u8`, '--expect', 'denied']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/refusals: 1 × MissingKey\/no-credentials/);
    expect(out.stdout).toMatch(/total\s+1\s+0\s+0\s+1/);
  });

  it('--expect ok without credentials fails and names the refusal', async () => {
    const out = await run([`${gw.url}/videos/ladder/master.m3u8`]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(
      /403\s+playlist\s+http:\/\/127\.0\.0\.1:\d+\/videos\/ladder\/master\.m3u8\s+\(MissingKey no-credentials\)/,
    );
  });

  it('--check-denials proves every URL is refused without, with tampered and with forged credentials', async () => {
    const out = await run([
      '--token',
      await viewerToken(['cmaf']),
      '--access-url',
      `${gw.url}/api/videos/cmaf/access`,
      '--check-denials',
      '--private-key',
      KEY,
      '--key-pair-id',
      RSA_KEY_PAIR_ID,
      '--json',
      '-',
    ]);
    expect(out.code, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout) as Report;
    expect(report.phases.map((p) => p.name.replace(/^same \d+ URLs /, ''))).toEqual([
      expect.stringMatching(/^walk /),
      'without credentials',
      'with a tampered signature',
      "with another video's policy (signature kept)",
      'with a validly signed policy for another video',
      'with a validly signed, expired policy',
    ]);
    const reasons = report.phases.map((p) => [...new Set(p.results.map((r) => r.reason))]);
    expect(reasons.slice(1)).toEqual([
      ['no-credentials'],
      ['bad-signature'],
      ['bad-signature'],
      ['resource-mismatch'],
      ['expired'],
    ]);
    for (const p of report.phases.slice(1)) expect(p.requests).toBe(filesOf(join(MEDIA, 'cmaf')));
  });

  it('uses cookies from `hls-gate sign cookies --json` (--cookies FILE), via the real executable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-cookies-'));
    const sign = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/hls-gate.js'),
        'sign',
        'cookies',
        '--resource',
        `${gw.url}/videos/aes/*`,
        '--expires',
        '+10m',
        '--key-pair-id',
        RSA_KEY_PAIR_ID,
        '--private-key',
        KEY,
        '--json',
      ],
      { encoding: 'utf8' },
    );
    writeFileSync(join(dir, 'cookies.json'), sign.stdout);
    // Asynchronous: the gateway runs in this process and must keep answering while the child walks.
    const r = await promisify(execFile)(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/hls-gate.js'),
        'fetch-segments',
        `${gw.url}/videos/aes/master.m3u8`,
        '--cookies',
        join(dir, 'cookies.json'),
        '--concurrency',
        '2',
      ],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toMatch(/key\s+1\s+1/);
    expect(r.stderr).toBe(''); // no progress bar when stderr is not a terminal
  });

  it('bad usage exits 2', async () => {
    expect((await run(['--expect', 'maybe', 'http://127.0.0.1/x.m3u8'])).code).toBe(2);
    expect((await run([])).code).toBe(2);
    expect((await run(['not a url'])).code).toBe(2);
    expect((await run(['--token', 'x', 'http://127.0.0.1/a.m3u8'])).code).toBe(2);
  });
});

describe('fetch-segments against a plain static HLS server', () => {
  let root: string;
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'fs-static-'));
    // The demo videos, a copy with a missing segment, a broken playlist, and a stream using every tag kind.
    for (const id of ['ladder', 'cmaf', 'aes']) spawnSync('cp', ['-r', join(MEDIA, id), join(root, id)]);
    spawnSync('cp', ['-r', join(MEDIA, 'aes'), join(root, 'missing')]);
    spawnSync('rm', [join(root, 'missing/seg_003.ts')]);
    mkdirSync(join(root, 'broken'));
    writeFileSync(join(root, 'broken/master.m3u8'), '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nmedia.m3u8\n');
    writeFileSync(join(root, 'broken/media.m3u8'), '<html>502 Bad Gateway</html>\n');
    mkdirSync(join(root, 'rich/video'), { recursive: true });
    mkdirSync(join(root, 'rich/audio'));
    mkdirSync(join(root, 'rich/subs'));
    writeFileSync(
      join(root, 'rich/master.m3u8'),
      [
        '#EXTM3U',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",DEFAULT=YES,URI="audio/en.m3u8"',
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",URI="subs/en.m3u8"',
        '#EXT-X-STREAM-INF:BANDWIDTH=500000,AUDIO="aud",SUBTITLES="subs"',
        'video/index.m3u8',
        '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=50000,URI="video/iframes.m3u8"',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(root, 'rich/video/index.m3u8'),
      '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="all.mp4",BYTERANGE="100@0"\n#EXTINF:2,\n#EXT-X-BYTERANGE:400@100\nall.mp4\n#EXTINF:2,\n#EXT-X-BYTERANGE:500\nall.mp4\n#EXT-X-ENDLIST\n',
    );
    writeFileSync(
      join(root, 'rich/video/iframes.m3u8'),
      '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-I-FRAMES-ONLY\n#EXT-X-MAP:URI="all.mp4",BYTERANGE="100@0"\n#EXTINF:2,\n#EXT-X-BYTERANGE:50@100\nall.mp4\n#EXT-X-ENDLIST\n',
    );
    writeFileSync(join(root, 'rich/video/all.mp4'), Buffer.alloc(1000, 7));
    writeFileSync(
      join(root, 'rich/audio/en.m3u8'),
      '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI="../keys/k1.key"\n#EXTINF:2,\na0.aac\n#EXTINF:2,\na1.aac\n#EXT-X-ENDLIST\n',
    );
    writeFileSync(join(root, 'rich/audio/a0.aac'), 'a0');
    writeFileSync(join(root, 'rich/audio/a1.aac'), 'a1');
    mkdirSync(join(root, 'rich/keys'));
    writeFileSync(join(root, 'rich/keys/k1.key'), Buffer.alloc(16, 1));
    writeFileSync(
      join(root, 'rich/subs/en.m3u8'),
      '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nen0.vtt\n#EXT-X-ENDLIST\n',
    );
    writeFileSync(join(root, 'rich/subs/en0.vtt'), 'WEBVTT\n');
    copyFileSync(join(MEDIA, 'catalog.json'), join(root, 'catalog.json'));
    server = await startStaticServer(root);
  });
  afterAll(async () => server?.close());

  it.each(['ladder', 'cmaf', 'aes'])('walks %s served statically (exit 0)', async (id) => {
    const out = await run([`${server.url}/${id}/master.m3u8`]);
    expect(out.code, out.stdout).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`total\\s+${filesOf(join(MEDIA, id))}\\s+${filesOf(join(MEDIA, id))}`));
  });

  it('requests every kind: renditions, I-frame playlists, init segments, keys, byte ranges as 206', async () => {
    const out = await run([`${server.url}/rich/master.m3u8`, '--json', '-']);
    expect(out.code, out.stdout).toBe(0);
    const report = JSON.parse(out.stdout.slice(out.stdout.indexOf('{\n'), out.stdout.lastIndexOf('}') + 1)) as Report;
    const results = report.phases[0]!.results;
    const count = (kind: string) => results.filter((r) => r.kind === kind).length;
    expect(count('playlist')).toBe(5); // master, video, iframes, audio, subs
    expect(count('init')).toBe(1);
    expect(count('key')).toBe(1);
    expect(count('segment')).toBe(6); // 2 video ranges, 1 iframe range, 2 audio, 1 subtitle
    expect(results.filter((r) => r.range).every((r) => r.status === 206)).toBe(true);
  });

  it('a missing segment: exit 1 and the failure named', async () => {
    const out = await run([`${server.url}/missing/master.m3u8`]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/failures \(1\):\n\s+404\s+segment\s+http:\/\/127\.0\.0\.1:\d+\/missing\/seg_003\.ts/);
  });

  it('a broken playlist: exit 1 and the failure named', async () => {
    const out = await run([`${server.url}/broken/master.m3u8`]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(
      /200\s+playlist\s+http:\/\/127\.0\.0\.1:\d+\/broken\/media\.m3u8\s+\(broken playlist: not an HLS playlist/,
    );
  });

  it('a server that does not answer: exit 1 with the network error', async () => {
    const out = await run(['http://127.0.0.1:9/nothing/master.m3u8', '--timeout', '2']);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/ERR\s+playlist/);
  });
});

describe('fetch-segments as users run it', () => {
  it('`npm run fetch-segments -- <url>` behaves like `npx hls-gate fetch-segments`: a dead server fails with exit 1', () => {
    const r = spawnSync('npm', ['run', '-s', 'fetch-segments', '--', 'http://127.0.0.1:9/master.m3u8'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('RESULT: FAIL');
  });
});

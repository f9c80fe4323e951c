// Uploads tried as a hostile uploader (issue 22's attacker's table), on a real Node gateway with real ffmpeg:
//   who                      sends                                                   must happen
//   any uploader             a playlist / manifest / concat list (bare, or behind    415 at upload, or `failed` with a code;
//                            ID3 or MPEG-TS sync bytes) naming another video's files  no byte of another file in MEDIA_DIR
//   any uploader             a live playlist that makes ffprobe wait                  /healthz keeps answering (p99 < 100 ms)
//   any uploader             a source longer than UPLOAD_MAX_SECONDS                  `failed: too-long`, never transcoded
//   the owner                eight PUTs of one body at once                           one 201, seven 409, packaged once, `ready`
//   another uploader         a reservation, a PUT, a status read for someone's ID     409, 403, 403
//   any uploader             an ID published elsewhere (only in catalog.json)         409 video-exists
//   any uploader             more unfinished uploads / bytes than allowed             429 too-many-uploads / 413 over-quota
//   any uploader             an upload when the disk is nearly full                   507 storage-full
//   the owner                a status read of a failed upload                         a code and a sentence, no path, no tool output
//   time                     a failed source past UPLOAD_RETENTION                    removed
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { JWT_SECRET, testEnv } from '../helpers/targets.ts';
import { waitForOutput } from '../helpers/process.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ID3 = Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1');
const TS_SYNC = Buffer.concat(
  Array.from({ length: 7 }, () => Buffer.concat([Buffer.from([0x47, 0x1f, 0xff, 0x10]), Buffer.alloc(184, 0xff)])),
);
const token = (sub: string) =>
  new SignJWT({ videos: '*', upload: true })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
    .sign(new TextEncoder().encode(JWT_SECRET));

interface Upload {
  videoId: string;
  uploadUrl: string;
}

function harness() {
  const h = {
    dir: '',
    gw: undefined as RunningGateway | undefined,
    async start(extra: Record<string, string> = {}) {
      h.dir = mkdtempSync(join(tmpdir(), 'hls-gate-hostile-'));
      cpSync(join(REPO_ROOT, 'media'), h.dir, { recursive: true });
      h.gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: h.dir, UPLOADS: 'true', ...extra }), {
        log: () => {},
        events: () => {},
      });
    },
    async stop() {
      await h.gw?.close();
      rmSync(h.dir, { recursive: true, force: true });
    },
    async reserve(sub: string, videoId?: string): Promise<Response> {
      return fetch(`${h.gw!.url}/api/uploads`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await token(sub)}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(videoId ? { videoId } : {}),
      });
    },
    async upload(sub: string, body: Buffer, videoId?: string): Promise<{ u: Upload; res: Response }> {
      const r = await h.reserve(sub, videoId);
      expect(r.status).toBe(201);
      const u = (await r.json()) as Upload;
      return {
        u,
        res: await fetch(u.uploadUrl, {
          method: 'PUT',
          body: new Uint8Array(body),
          headers: { 'x-amz-content-sha256': sha(body) },
        }),
      };
    },
    async status(sub: string, videoId: string): Promise<Response> {
      return fetch(`${h.gw!.url}/api/uploads/${videoId}`, { headers: { Authorization: `Bearer ${await token(sub)}` } });
    },
    async settle(
      sub: string,
      videoId: string,
      seen?: Set<string>,
    ): Promise<{ status: string; code?: string; reason?: string; percent?: number }> {
      for (let i = 0; i < 600; i++) {
        const s = (await (await h.status(sub, videoId)).json()) as { status: string; percent?: number };
        seen?.add(s.status === 'packaging' ? `packaging ${s.percent}` : s.status);
        if (s.status === 'ready' || s.status === 'failed') return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${videoId} never settled`);
    },
  };
  return h;
}

describe('hostile uploads', () => {
  const h = harness();
  let clip: Buffer;
  let long: Buffer;
  beforeAll(async () => {
    await h.start({ UPLOAD_MAX_SECONDS: '3', UPLOAD_MAX_PENDING: '20' });
    const tmp = mkdtempSync(join(tmpdir(), 'hls-gate-hostile-src-'));
    const make = (seconds: number, name: string) => {
      execFileSync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        `testsrc2=duration=${seconds}:size=320x240:rate=25`,
        '-f',
        'lavfi',
        '-i',
        `sine=duration=${seconds}`,
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-c:a',
        'aac',
        '-shortest',
        join(tmp, name),
      ]);
      return readFileSync(join(tmp, name));
    };
    clip = make(2, 'clip.mp4');
    long = make(5, 'long.mp4');
    rmSync(tmp, { recursive: true, force: true });
  }, 60_000);
  afterAll(() => h.stop());

  // Playlists naming another video's files on the host, by relative and absolute path.
  // The reproduction: a master playlist naming another video's rendition by a relative path (from the upload's own
  // folder, .uploads/<id>/), and a media playlist naming its segments by relative and absolute paths.
  const playlist = () => `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\n../../ladder/360p/index.m3u8\n`;
  const segments = () =>
    `#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n../../ladder/360p/seg_000.ts\n#EXTINF:4.0,\n${join(h.dir, 'ladder', '360p', 'seg_001.ts')}\n#EXT-X-ENDLIST\n`;

  it.each([
    ['a bare HLS playlist', () => Buffer.from(playlist())],
    [
      'a bare DASH manifest',
      () =>
        Buffer.from(
          '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period><AdaptationSet><Representation id="1"><BaseURL>../../ladder/360p/seg_000.ts</BaseURL></Representation></AdaptationSet></Period></MPD>',
        ),
    ],
    ['a concat list', () => Buffer.from("ffconcat version 1.0\nfile '../../ladder/360p/seg_000.ts'\n")],
    [
      'an HLS playlist behind one TS sync byte at 0 and 188',
      () =>
        Buffer.concat([
          Buffer.from([0x47]),
          Buffer.alloc(187, 0x20),
          Buffer.from([0x47]),
          Buffer.alloc(187, 0x20),
          Buffer.from(playlist()),
        ]),
    ],
  ])('%s is refused at upload time (415 not-a-video), nothing kept', async (_name, make) => {
    const { u, res } = await h.upload('mallory', make());
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: 'not-a-video' });
    expect(existsSync(join(h.dir, '.uploads', u.videoId, 'source'))).toBe(false);
  });

  it.each([
    ['an HLS playlist behind an ID3 tag', () => Buffer.concat([ID3, Buffer.from(playlist())])],
    ['an HLS playlist behind seven TS sync bytes', () => Buffer.concat([TS_SYNC, Buffer.from(playlist())])],
    [
      "a media playlist of another video's segments behind an ID3 tag",
      () => Buffer.concat([ID3, Buffer.from(segments())]),
    ],
    [
      'a DASH manifest behind an ID3 tag',
      () =>
        Buffer.concat([
          ID3,
          Buffer.from(
            `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S"><Period><AdaptationSet><Representation id="1" bandwidth="1000"><BaseURL>${join(h.dir, 'ladder', '360p', 'seg_000.ts')}</BaseURL></Representation></AdaptationSet></Period></MPD>`,
          ),
        ]),
    ],
    [
      'a concat list behind TS sync bytes',
      () =>
        Buffer.concat([
          TS_SYNC,
          Buffer.from(`ffconcat version 1.0\nfile '${join(h.dir, 'ladder', '360p', 'seg_000.ts')}'\n`),
        ]),
    ],
  ])(
    '%s is read only as that container: failed with a code, no byte of another file published',
    async (_name, make) => {
      const { u, res } = await h.upload('mallory', make());
      expect(res.status).toBe(201); // its first bytes pass for audio or TS; ffmpeg is then forced to read it as only that
      const final = await h.settle('mallory', u.videoId);
      expect(final.status).toBe('failed');
      expect(['not-a-video', 'unreadable', 'no-streams']).toContain(final.code);
      expect(existsSync(join(h.dir, u.videoId))).toBe(false);
      expect(readdirSync(h.dir).filter((f) => f.startsWith('.package-'))).toEqual([]);
      // Status answers carry a code and a sentence: no server path, no tool's own words.
      expect(final.reason).toBeTruthy();
      expect(JSON.stringify(final)).not.toContain(h.dir);
      expect(JSON.stringify(final)).not.toMatch(/ffprobe|ffmpeg|\/tmp|No such file|Invalid data/i);
    },
  );

  it('a source longer than UPLOAD_MAX_SECONDS is refused before transcoding', async () => {
    const { u, res } = await h.upload('alice', long);
    expect(res.status).toBe(201);
    const seen = new Set<string>();
    const final = await h.settle('alice', u.videoId, seen);
    expect(final).toMatchObject({ status: 'failed', code: 'too-long' });
    expect([...seen].filter((s) => /^packaging [1-9]/.test(s))).toEqual([]); // the transcode never started
    expect(existsSync(join(h.dir, u.videoId))).toBe(false);
  });

  it('eight PUTs of one body at once: one 201, seven 409, packaged once, ready', async () => {
    const r = await h.reserve('alice', 'race');
    const { uploadUrl } = (await r.json()) as Upload;
    const other = Buffer.concat([clip, Buffer.from([0])]); // a second, different body in the race
    const bodies = Array.from({ length: 8 }, (_, i) => (i % 2 ? other : clip));
    const results = await Promise.all(
      bodies.map((b) =>
        fetch(uploadUrl, { method: 'PUT', body: new Uint8Array(b), headers: { 'x-amz-content-sha256': sha(b) } }),
      ),
    );
    const codes = results.map((x) => x.status);
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    const winner = bodies[codes.indexOf(201)]!;
    // Every other PUT is refused (409), except a retry of the winning body after it was accepted, answered 200.
    bodies.forEach((b, i) => expect(b === winner ? [201, 200, 409] : [409]).toContain(codes[i]));
    expect(codes.filter((c) => c === 201 || c === 200).length).toBeLessThanOrEqual(4);
    expect((await h.settle('alice', 'race')).status).toBe('ready');
    const catalog = JSON.parse(readFileSync(join(h.dir, 'catalog.json'), 'utf8')) as { videos: { id: string }[] };
    expect(catalog.videos.filter((v) => v.id === 'race')).toHaveLength(1);
    expect(readdirSync(h.dir).filter((f) => f.startsWith('race'))).toEqual(['race']);
  }, 60_000);

  it("another uploader can neither take, send to, nor read someone's upload", async () => {
    const { u } = await h.upload('alice', clip, 'alices');
    const taken = await h.reserve('bob', 'alices');
    expect(taken.status).toBe(409);
    expect(await taken.json()).toMatchObject({ code: 'upload-exists' });
    const read = await h.status('bob', 'alices');
    expect(read.status).toBe(403);
    expect(await read.json()).toMatchObject({ code: 'not-upload-owner' });
    // Bob's own signed URL, pointed at Alice's ID: refused as CloudFront refuses a URL for another file.
    const mine = (await (await h.reserve('bob', 'bobs')).json()) as Upload;
    const put = await fetch(mine.uploadUrl.replace('/uploads/bobs/', '/uploads/alices/'), {
      method: 'PUT',
      body: new Uint8Array(clip),
      headers: { 'x-amz-content-sha256': sha(clip) },
    });
    expect(put.status).toBe(403);
    expect(put.headers.get('X-Hls-Gate-Reason')).toBe('resource-mismatch');
    expect((await h.settle('alice', u.videoId)).status).toBe('ready');
    // A reservation that is not Alice's own is never handed out again once published.
    expect((await h.reserve('bob', 'alices')).status).toBe(409);
  }, 60_000);

  it('an ID listed in the catalog (published to S3, no local folder) is never handed out', async () => {
    const path = join(h.dir, 'catalog.json');
    const catalog = JSON.parse(readFileSync(path, 'utf8')) as { videos: object[] };
    writeFileSync(
      path,
      JSON.stringify({
        videos: [...catalog.videos, { id: 'on-s3', title: 'Published to S3', playlist: 'master.m3u8' }],
      }),
    );
    await new Promise((r) => setTimeout(r, 5500)); // the catalog is re-read every 5 s
    const res = await h.reserve('alice', 'on-s3');
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'video-exists' });
    expect((await h.reserve('alice', 'ladder')).status).toBe(409);
  }, 20_000);
});

describe('a source built to make ffprobe wait', () => {
  // The gateway in its own process (as deployed), so a blocked event loop there cannot also stall the test's clock:
  // /healthz is asked every 20 ms without waiting for earlier answers, from before the upload until it has settled.
  it('does not stall the gateway: /healthz p99 under 100 ms while it is uploaded and handled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-hostile-wait-'));
    cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
    const env = Object.fromEntries(
      Object.entries(testEnv({ PORT: '0', MEDIA_DIR: dir, UPLOADS: 'true' })).filter(
        (e): e is [string, string] => e[1] !== undefined,
      ),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/node/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH!, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = (await waitForOutput(child, /"msg":"listening","url":"([^"]+)"/, 'the gateway')).match[1]!;
      const times: number[] = [];
      const inFlight: Promise<void>[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const t = performance.now();
          inFlight.push(
            fetch(`${url}/healthz`).then(async (r) => {
              await r.arrayBuffer();
              times.push(performance.now() - t);
            }),
          );
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      const body = Buffer.concat([
        ID3,
        Buffer.from('#EXTM3U\n#EXT-X-TARGETDURATION:40\n#EXTINF:40,\n../../ladder/360p/seg_000.ts\n'),
      ]);
      const reserved = (await (
        await fetch(`${url}/api/uploads`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${await token('mallory')}` },
        })
      ).json()) as Upload;
      expect(
        (
          await fetch(reserved.uploadUrl, {
            method: 'PUT',
            body: new Uint8Array(body),
            headers: { 'x-amz-content-sha256': sha(body) },
          })
        ).status,
      ).toBe(201);
      let state = '';
      const started = Date.now();
      while ((state !== 'failed' && state !== 'ready') || Date.now() - started < 3000) {
        state = (
          (await (
            await fetch(`${url}/api/uploads/${reserved.videoId}`, {
              headers: { Authorization: `Bearer ${await token('mallory')}` },
            })
          ).json()) as { status: string }
        ).status;
        await new Promise((r) => setTimeout(r, 100));
        if (Date.now() - started > 60_000) break;
      }
      polling = false;
      await poller;
      await Promise.all(inFlight);
      expect(state).toBe('failed');
      times.sort((a, b) => a - b);
      expect(times.length).toBeGreaterThan(100);
      expect(times[Math.floor(times.length * 0.99)]).toBeLessThan(100);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('upload limits and retention', () => {
  const h = harness();
  afterAll(() => h.stop());

  it('per-uploader limits, the free-space floor, and failed sources gone after UPLOAD_RETENTION', async () => {
    await h.start({
      UPLOAD_MAX_PENDING: '2',
      UPLOAD_MAX_BYTES: '100000',
      UPLOAD_MAX_PENDING_BYTES: '150000',
      UPLOAD_RETENTION: '2s',
    });
    const junk = (n: number) => Buffer.concat([ID3, Buffer.alloc(n, 0x41)]); // passes the first-bytes check, fails packaging
    // Two unfinished uploads at most: the third reservation is refused, someone else's is not.
    expect((await h.reserve('carol', 'c1')).status).toBe(201);
    const big = await fetch(((await (await h.reserve('carol', 'c2')).json()) as Upload).uploadUrl, {
      method: 'PUT',
      body: new Uint8Array(junk(90_000)),
      headers: { 'x-amz-content-sha256': sha(junk(90_000)) },
    });
    expect([201]).toContain(big.status);
    const third = await h.reserve('carol', 'c3');
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ code: 'too-many-uploads' });
    expect((await h.reserve('dave', 'd1')).status).toBe(201);
    // c2's 90 kB counts until it is finished: c1 may send only what is left of 150 kB.
    const c2state = await h.settle('carol', 'c2');
    expect(c2state.status).toBe('failed');
    // A failed upload no longer counts, so c1 may now send up to its own limit; it fails too, and both go after retention.
    const c1 = await fetch(((await (await h.reserve('carol', 'c1')).json()) as Upload).uploadUrl, {
      method: 'PUT',
      body: new Uint8Array(junk(80_000)),
      headers: { 'x-amz-content-sha256': sha(junk(80_000)) },
    });
    expect(c1.status).toBe(201);
    expect((await h.settle('carol', 'c1')).status).toBe('failed');
    expect(existsSync(join(h.dir, '.uploads', 'c1', 'source'))).toBe(true); // kept for the retention period
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      await new Promise((r) => setTimeout(r, 100));
      gone = !existsSync(join(h.dir, '.uploads', 'c1')) && !existsSync(join(h.dir, '.uploads', 'c2'));
    }
    expect(gone).toBe(true);
    expect((await h.status('carol', 'c1')).status).toBe(404);
  }, 30_000);

  it('a body that would take the uploader past UPLOAD_MAX_PENDING_BYTES is refused with 413 over-quota', async () => {
    await h.stop();
    const tmp = mkdtempSync(join(tmpdir(), 'hls-gate-quota-'));
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=duration=6:size=640x360:rate=25',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      join(tmp, 'v.mp4'),
    ]);
    const video = readFileSync(join(tmp, 'v.mp4'));
    rmSync(tmp, { recursive: true, force: true });
    await h.start({
      UPLOAD_MAX_BYTES: String(video.length),
      UPLOAD_MAX_PENDING_BYTES: String(Math.floor(video.length * 1.5)),
    });
    const put = (u: Upload) =>
      fetch(u.uploadUrl, {
        method: 'PUT',
        body: new Uint8Array(video),
        headers: { 'x-amz-content-sha256': sha(video) },
      });
    const e1 = (await (await h.reserve('erin', 'e1')).json()) as Upload;
    const e2 = (await (await h.reserve('erin', 'e2')).json()) as Upload;
    expect((await put(e1)).status).toBe(201);
    // e1 is being packaged (seconds), so its bytes still count: a second body of the same size is over the allowance.
    const over = await put(e2);
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ code: 'over-quota' });
    expect((await h.status('erin', 'e1')).status).toBe(200);
    expect(await (await h.status('erin', 'e1')).json()).toMatchObject({
      status: expect.stringMatching(/^(uploaded|packaging)$/),
    });
    // Once e1 is published it no longer counts, and the refused body may be sent again.
    expect((await h.settle('erin', 'e1')).status).toBe('ready');
    expect((await put(e2)).status).toBe(201);
    expect((await h.settle('erin', 'e2')).status).toBe('ready');
  }, 60_000);

  it('refuses uploads with 507 when the disk is nearly full', async () => {
    await h.stop();
    await h.start({ UPLOAD_MIN_FREE_BYTES: String(2 ** 53 - 1) });
    const res = await h.reserve('frank');
    expect(res.status).toBe(507);
    expect(await res.json()).toMatchObject({ code: 'storage-full' });
  });
});

// Signed uploads on Node: a real mp4 made by ffmpeg goes in through a CloudFront signed URL with its SHA-256; every
// bad upload (wrong or missing hash, too large, a text file named .mp4, an expired URL, a URL for another ID, a
// client gone halfway) gets its status and leaves nothing in storage, temporary files included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { importPrivateKey, signUrl } from '../../server/core/index.ts';
import { testEnv, viewerToken, JWT_SECRET } from '../helpers/targets.ts';
import { walkStream } from '../helpers/walk.ts';
import { RSA_KEY_PAIR_ID, fixtureKey } from '../helpers/fixtures.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('uploads off (the default)', () => {
  it('answers 404 uploads-off and accepts no PUT', async () => {
    const gw = await startNodeGateway(testEnv({ PORT: '0' }), { log: () => {} });
    try {
      expect(
        await (
          await fetch(`${gw.url}/api/uploads`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${await viewerToken('*')}` },
          })
        ).json(),
      ).toMatchObject({ status: 404, code: 'uploads-off' });
      expect((await fetch(`${gw.url}/uploads/x/source`, { method: 'PUT', body: 'x' })).status).toBe(404);
    } finally {
      await gw.close();
    }
  });
});

describe('signed uploads on Node', () => {
  let dir: string;
  let gw: RunningGateway;
  let video: Buffer;
  const uploadsDir = () => join(dir, '.uploads');
  // What a body left on disk: every file but the reservations (an ID stays reserved for its uploader until its URL expires).
  const leftovers = () =>
    readdirSync(uploadsDir(), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name !== 'reservation.json')
      .map((e) => join(e.parentPath, e.name).slice(uploadsDir().length + 1));
  const uploaderToken = async () => {
    const { SignJWT } = await import('jose');
    return new SignJWT({ videos: '*', upload: true })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('editor')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
      .sign(new TextEncoder().encode(JWT_SECRET));
  };
  const newUpload = async (videoId?: string) => {
    const res = await fetch(`${gw.url}/api/uploads`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await uploaderToken()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(videoId ? { videoId } : {}),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { videoId: string; uploadUrl: string; expiresAt: string; maxBytes: number };
  };
  const put = (url: string, body: Buffer, hash: string | null = sha(body)) =>
    fetch(url, { method: 'PUT', body: new Uint8Array(body), headers: hash ? { 'x-amz-content-sha256': hash } : {} });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-uploads-'));
    cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=duration=2:size=320x240:rate=25',
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
      join(dir, 'input.mp4'),
    ]);
    video = readFileSync(join(dir, 'input.mp4'));
    rmSync(join(dir, 'input.mp4'));
    gw = await startNodeGateway(
      testEnv({ PORT: '0', MEDIA_DIR: dir, UPLOADS: 'true', UPLOAD_MAX_BYTES: String(video.length + 1000) }),
      { log: () => {} },
    );
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands out a signed PUT URL for one exact path, to uploaders only', async () => {
    const u = await newUpload('lecture');
    expect(u.uploadUrl).toMatch(
      new RegExp(`^${gw.url}/uploads/lecture/source\\?Policy=.+&Key-Pair-Id=${RSA_KEY_PAIR_ID}&Signature=`),
    );
    expect(u.maxBytes).toBe(video.length + 1000);
    const viewer = await fetch(`${gw.url}/api/uploads`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    expect(await viewer.json()).toMatchObject({ status: 403, code: 'no-upload-permission' });
    expect(
      (
        await fetch(`${gw.url}/api/uploads`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${await uploaderToken()}`, 'Content-Type': 'application/json' },
          body: '{"videoId":"ladder"}',
        })
      ).status,
    ).toBe(409);
  });

  it('accepts a real mp4 with its hash, packages it in the background, and it walks and plays through the gateway', async () => {
    const u = await newUpload('lecture');
    const res = await put(u.uploadUrl, video);
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ videoId: 'lecture', bytes: video.length, status: 'uploaded' });
    // A retry of the same body is answered, not re-read; another body is refused.
    expect((await put(u.uploadUrl, video)).status).toBe(200);
    const other = Buffer.concat([video.subarray(0, video.length - 10), Buffer.alloc(10)]);
    expect((await put(u.uploadUrl, other)).status).toBe(409);
    const seen = new Set<string>();
    let state: { status: string; percent?: number } = { status: '' };
    for (let i = 0; i < 200 && state.status !== 'ready' && state.status !== 'failed'; i++) {
      state = (await (
        await fetch(`${gw.url}/api/uploads/lecture`, { headers: { Authorization: `Bearer ${await uploaderToken()}` } })
      ).json()) as typeof state;
      seen.add(state.status);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(state.status).toBe('ready');
    expect(seen.has('packaging') || seen.has('uploaded')).toBe(true);
    const grant = await fetch(`${gw.url}/api/videos/lecture/access`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    const { playlistUrl } = (await grant.json()) as { playlistUrl: string };
    const cookie = grant.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const walked = await walkStream((url) => fetch(url, { headers: { Cookie: cookie } }), playlistUrl);
    expect(walked.length).toBeGreaterThan(2);
    expect(walked.filter((w) => w.res.status !== 200)).toEqual([]);
    expect(leftovers().filter((f) => f.startsWith('lecture/source') || f.includes('.tmp'))).toEqual([]); // the source is gone once published
  }, 60_000);

  it.each([
    ['a wrong hash', async (url: string) => put(url, video, sha(Buffer.from('other'))), 400, 'hash-mismatch'],
    ['a missing hash', async (url: string) => put(url, video, null), 400, 'hash-missing'],
    ['an oversize body', async (url: string) => put(url, Buffer.concat([video, Buffer.alloc(5000)])), 413, 'too-large'],
    [
      'a text file renamed .mp4',
      async (url: string) => put(url, Buffer.from('just some text, not a video at all\n'.repeat(20))),
      415,
      'not-a-video',
    ],
  ])('refuses %s and keeps nothing', async (_name, send, status, code) => {
    const u = await newUpload('refused');
    const res = await send(u.uploadUrl);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ code });
    expect(leftovers().filter((f) => f.includes('refused') || f.includes('.tmp'))).toEqual([]);
  });

  it('refuses an expired URL and a URL for another ID, as CloudFront would', async () => {
    const key = await importPrivateKey(fixtureKey('rsa-pkcs8.pem'));
    const target = `${gw.url}/uploads/old/source`;
    const expired = await signUrl(
      target,
      { expires: Math.floor(Date.now() / 1000) - 1, resource: target },
      { keyPairId: RSA_KEY_PAIR_ID, privateKey: key },
    );
    const res = await put(expired, video);
    expect(res.status).toBe(403);
    expect(res.headers.get('X-Hls-Gate-Reason')).toBe('expired');
    const u = await newUpload('mine');
    const other = await put(u.uploadUrl.replace('/uploads/mine/', '/uploads/theirs/'), video);
    expect(other.headers.get('X-Hls-Gate-Reason')).toBe('resource-mismatch');
    expect(leftovers().filter((f) => /old|mine|theirs|\.tmp/.test(f))).toEqual([]);
  });

  it('a client that disconnects halfway leaves no trace', async () => {
    const u = await newUpload('halfway');
    const url = new URL(u.uploadUrl);
    await new Promise<void>((resolve) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        method: 'PUT',
        path: url.pathname + url.search,
        headers: { 'x-amz-content-sha256': sha(video), 'Content-Length': String(video.length) },
      });
      req.on('error', () => resolve());
      req.write(video.subarray(0, Math.floor(video.length / 2)));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    });
    for (let i = 0; i < 30 && leftovers().some((f) => f.includes('.tmp') || f.includes('halfway')); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(leftovers().filter((f) => f.includes('.tmp') || f.includes('halfway'))).toEqual([]);
  });
});

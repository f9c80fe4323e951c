// Signed uploads on Workers: the Worker in workerd (Miniflare) with R2. An accepted upload lands in R2 with its hash
// checked and is handed to the packager's webhook (signed); the same refusals as on Node store nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Miniflare, type RequestInit as MiniflareRequestInit } from 'miniflare';
import { importPrivateKey, signUrl } from '../../server/core/index.ts';
import { JWT_SECRET, testEnv } from '../helpers/targets.ts';
import { RSA_KEY_PAIR_ID, fixtureKey } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/ports.ts';

import { buildWorker } from '../../scripts/build-worker.mjs';

const ADMIN_SECRET = 'admin-secret-that-is-long-enough-0123456789ab';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('signed uploads in workerd with R2', () => {
  let mf: Miniflare;
  let hook: Server;
  const handedOff: { body: string; signature: string }[] = [];
  let video: Buffer;
  const base = 'http://localhost:8787';
  const f = async (url: string, init?: RequestInit) =>
    (await mf.dispatchFetch(url, init as MiniflareRequestInit | undefined)) as unknown as Response;
  const newUpload = async (videoId: string) =>
    (await (
      await f(`${base}/api/uploads`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_SECRET}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ videoId }),
      })
    ).json()) as { uploadUrl: string };
  const put = (url: string, body: Buffer, hash = sha(body)) =>
    f(url, {
      method: 'PUT',
      body: new Uint8Array(body),
      headers: { 'x-amz-content-sha256': hash, 'Content-Length': String(body.length) },
    });

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-w-up-'));
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=duration=1:size=320x240:rate=25',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      join(dir, 'v.mp4'),
    ]);
    video = readFileSync(join(dir, 'v.mp4'));
    rmSync(dir, { recursive: true, force: true });
    const port = await freePort();
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        handedOff.push({ body, signature: String(req.headers['x-hls-gate-signature']) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(port, '127.0.0.1', r));
    const scriptPath = await buildWorker(join(mkdtempSync(join(tmpdir(), 'hls-gate-worker-')), 'index.js'));
    const bindings = Object.fromEntries(
      Object.entries(
        testEnv({
          UPLOADS: 'true',
          UPLOAD_MAX_BYTES: String(video.length + 1000),
          ADMIN_SECRET,
          UPLOAD_WEBHOOK_URL: `http://127.0.0.1:${port}/packager`,
        }),
      ).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    mf = new Miniflare({
      modules: true,
      scriptPath,
      modulesRoot: dirname(scriptPath),
      compatibilityDate: '2026-04-01',
      r2Buckets: ['MEDIA'],
      bindings,
    });
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
    await new Promise((r) => hook?.close(r));
  });

  it('an accepted upload lands in R2 with its hash checked, and is handed to the packager, signed', async () => {
    const { uploadUrl } = await newUpload('clip');
    const res = await put(uploadUrl, video);
    expect(res.status).toBe(201);
    const r2 = await mf.getR2Bucket('MEDIA');
    const stored = await r2.get('.uploads/clip/source');
    expect(Buffer.from(await stored!.arrayBuffer()).equals(video)).toBe(true);
    expect(handedOff).toHaveLength(1);
    expect(JSON.parse(handedOff[0]!.body)).toEqual({
      videoId: 'clip',
      key: '.uploads/clip/source',
      bytes: video.length,
      sha256: sha(video),
    });
    expect(handedOff[0]!.signature).toBe(createHmac('sha256', ADMIN_SECRET).update(handedOff[0]!.body).digest('hex'));
    expect(
      await (await f(`${base}/api/uploads/clip`, { headers: { Authorization: `Bearer ${ADMIN_SECRET}` } })).json(),
    ).toEqual({ videoId: 'clip', status: 'uploaded' });
  });

  it.each([
    ['a wrong hash', (url: string) => put(url, video, sha(Buffer.from('x'))), 400, 'hash-mismatch'],
    [
      'a missing hash',
      (url: string) =>
        f(url, { method: 'PUT', body: new Uint8Array(video), headers: { 'Content-Length': String(video.length) } }),
      400,
      'hash-missing',
    ],
    [
      'no Content-Length',
      (url: string) =>
        f(url, {
          method: 'PUT',
          body: new ReadableStream({
            start(c) {
              c.enqueue(new Uint8Array(video));
              c.close();
            },
          }),
          headers: { 'x-amz-content-sha256': sha(video) },
          duplex: 'half',
        } as RequestInit),
      411,
      'length-required',
    ],
    ['an oversize body', (url: string) => put(url, Buffer.concat([video, Buffer.alloc(5000)])), 413, 'too-large'],
    ['a text file', (url: string) => put(url, Buffer.from('plain text, not a video\n'.repeat(30))), 415, 'not-a-video'],
  ])('refuses %s and stores nothing', async (_n, send, status, code) => {
    const { uploadUrl } = await newUpload('bad');
    const res = await send(uploadUrl);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ code });
    expect(await (await mf.getR2Bucket('MEDIA')).head('.uploads/bad/source')).toBeNull();
  });

  it('parallel PUTs to one ID: exactly one body is accepted (the claim is a conditional put in R2)', async () => {
    const { uploadUrl } = await newUpload('race');
    const codes = (await Promise.all(Array.from({ length: 6 }, () => put(uploadUrl, video)))).map((r) => r.status);
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.every((c) => c === 201 || c === 200 || c === 409)).toBe(true);
    expect(handedOff.filter((h) => JSON.parse(h.body).videoId === 'race')).toHaveLength(1); // handed to the packager once
  });

  it('an ID is reserved by its uploader: another one gets 409, and only the owner reads its state', async () => {
    const alice = await f(`${base}/api/uploads`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_SECRET}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ videoId: 'admins' }),
    });
    expect(alice.status).toBe(201);
    const { SignJWT } = await import('jose');
    const bob = await new SignJWT({ videos: '*', upload: true })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bob')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const taken = await f(`${base}/api/uploads`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bob}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ videoId: 'admins' }),
    });
    expect(await taken.json()).toMatchObject({ status: 409, code: 'upload-exists' });
    expect(
      await (await f(`${base}/api/uploads/admins`, { headers: { Authorization: `Bearer ${bob}` } })).json(),
    ).toMatchObject({ status: 403, code: 'not-upload-owner' });
  });

  it('refuses an expired URL and a URL for another ID', async () => {
    const key = await importPrivateKey(fixtureKey('rsa-pkcs8.pem'));
    const target = `${base}/uploads/late/source`;
    const expired = await signUrl(
      target,
      { expires: Math.floor(Date.now() / 1000) - 1, resource: target },
      { keyPairId: RSA_KEY_PAIR_ID, privateKey: key },
    );
    expect((await put(expired, video)).headers.get('X-Hls-Gate-Reason')).toBe('expired');
    const { uploadUrl } = await newUpload('mine');
    expect(
      (await put(uploadUrl.replace('/uploads/mine/', '/uploads/other/'), video)).headers.get('X-Hls-Gate-Reason'),
    ).toBe('resource-mismatch');
    const r2 = await mf.getR2Bucket('MEDIA');
    // Besides the reservations, only the accepted body and its claim.
    expect(
      (await r2.list({ prefix: '.uploads/' })).objects.map((o) => o.key).filter((k) => !k.endsWith('/reservation')),
    ).toEqual(['.uploads/clip/claim', '.uploads/clip/source', '.uploads/race/claim', '.uploads/race/source']);
  });
});

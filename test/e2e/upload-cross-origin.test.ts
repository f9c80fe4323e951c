// Uploads from a page on another origin (issue 22), in Chromium over HTTPS: the page on app.example.test, the
// gateway (API, uploads, media) on media.example.test, ALLOWED_ORIGINS naming the page's origin. The page asks for
// a signed upload URL, hashes a real mp4 with WebCrypto and PUTs it with x-amz-content-sha256, credentials included:
// the browser's preflight for that PUT must be answered. A page on an origin not listed gets nothing through (the
// browser rejects the fetch) and nothing is stored. The preflight alone, without a browser: test/uploads/cors.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import type { LogEntry } from '../../server/app/log.ts';
import { launchBrowser } from './browser.ts';
import { makeTestTls, type TestTls } from './tls.ts';
import { freePort } from '../helpers/ports.ts';
import { JWT_SECRET, testEnv } from '../helpers/targets.ts';

interface Attempt {
  post?: { status: number; body: { videoId?: string; uploadUrl?: string; code?: string } };
  sha256?: string;
  put?: { status: number; body: unknown };
  error?: { stage: string; name: string; message: string };
}

/**
 * Runs in the page: POST `${gateway}/api/uploads` (bearer token), then the mp4 fetched from the page's own origin,
 * its SHA-256 by WebCrypto, and the PUT to the signed URL. Every fetch is cross-origin with credentials included;
 * a fetch the browser blocks rejects with a TypeError, returned as `error`.
 */
async function uploadFromPage(
  page: Page,
  args: { gateway: string; token: string; videoId: string; uploadUrl?: string },
): Promise<Attempt> {
  return page.evaluate(async ({ gateway, token, videoId, uploadUrl }) => {
    const out: Attempt = {};
    let stage = 'post';
    try {
      let url = uploadUrl;
      if (url === undefined) {
        const res = await fetch(`${gateway}/api/uploads`, {
          method: 'POST',
          credentials: 'include',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ videoId }),
        });
        out.post = { status: res.status, body: await res.json() };
        url = out.post.body.uploadUrl;
        if (!url) return out;
      }
      stage = 'read';
      const bytes = await (await fetch('/clip.mp4')).arrayBuffer();
      out.sha256 = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))]
        .map((b) => b.toString(16).padStart(2, '0'))
        .join('');
      stage = 'put';
      const put = await fetch(url, {
        method: 'PUT',
        credentials: 'include',
        headers: { 'x-amz-content-sha256': out.sha256, 'Content-Type': 'video/mp4' },
        body: bytes,
      });
      out.put = { status: put.status, body: await put.json() };
    } catch (err) {
      out.error = { stage, name: (err as Error).name, message: (err as Error).message };
    }
    return out;
  }, args);
}

/** GET /api/uploads/<id> from the page (cross-origin, credentials): the status JSON, or the browser's error. */
function statusFromPage(
  page: Page,
  gateway: string,
  token: string,
  videoId: string,
): Promise<{ httpStatus: number; body: { status?: string | number; code?: string } } | { error: string }> {
  return page.evaluate(
    async ({ gateway, token, videoId }) => {
      try {
        const res = await fetch(`${gateway}/api/uploads/${videoId}`, {
          credentials: 'include',
          headers: { Authorization: `Bearer ${token}` },
        });
        return { httpStatus: res.status, body: await res.json() };
      } catch (err) {
        return { error: String(err) };
      }
    },
    { gateway, token, videoId },
  );
}

describe('uploads from a page on another origin (split deployment) in Chromium', () => {
  let tls: TestTls;
  let root: string;
  let dir: string;
  let video: Buffer;
  let gw: RunningGateway;
  let pages: Server;
  let appOrigin: string;
  let otherOrigin: string;
  let gateway: string;
  let token: string;
  let browser: { context: BrowserContext; close(): Promise<void> };
  const log: LogEntry[] = [];
  const stored = () => readdirSync(dir, { recursive: true }).map(String);

  beforeAll(async () => {
    tls = makeTestTls(['app.example.test', 'other.example.test', 'media.example.test']);
    root = mkdtempSync(join(tmpdir(), 'hls-gate-e2e-xo-upload-'));
    dir = join(root, 'media');
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
      join(root, 'clip.mp4'),
    ]);
    video = readFileSync(join(root, 'clip.mp4'));

    // One HTTPS server for both page hosts (app.example.test is allowed, other.example.test is not): a blank page
    // and the mp4 it uploads, from the page's own origin.
    pages = createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (req, res) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      if (path === '/')
        res
          .writeHead(200, { 'Content-Type': 'text/html' })
          .end('<!doctype html><title>uploader</title><p>uploader page</p>');
      else if (path === '/clip.mp4') res.writeHead(200, { 'Content-Type': 'video/mp4' }).end(video);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
    const pagePort = (pages.address() as AddressInfo).port;
    appOrigin = `https://app.example.test:${pagePort}`;
    otherOrigin = `https://other.example.test:${pagePort}`;

    const mediaPort = await freePort();
    gateway = `https://media.example.test:${mediaPort}`;
    gw = await startNodeGateway(
      testEnv({
        PORT: String(mediaPort),
        MEDIA_DIR: dir,
        UPLOADS: 'true',
        MEDIA_HOSTS: '',
        MEDIA_BASE_URL: gateway,
        ALLOWED_ORIGINS: appOrigin,
        TLS_CERT_FILE: tls.certFile,
        TLS_KEY_FILE: tls.keyFile,
      }),
      { log: (e) => log.push(e) },
    );
    const { SignJWT } = await import('jose');
    token = await new SignJWT({ videos: '*', upload: true })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('editor')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
      .sign(new TextEncoder().encode(JWT_SECRET));
    browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${tls.spkiHash}`]);
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await new Promise((r) => pages?.close(r));
    if (root) rmSync(root, { recursive: true, force: true });
    if (tls) rmSync(tls.dir, { recursive: true, force: true });
  });

  it('the allowed page uploads a real mp4 with its SHA-256 (preflighted PUT, 201) and it is packaged to ready', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${appOrigin}/`);
    const attempt = await uploadFromPage(page, { gateway, token, videoId: 'from-app' });
    expect(attempt.error).toBeUndefined();
    expect(attempt.post).toMatchObject({
      status: 201,
      body: {
        videoId: 'from-app',
        uploadUrl: expect.stringMatching(new RegExp(`^${gateway}/uploads/from-app/source\\?Policy=`)),
      },
    });
    expect(attempt.sha256).toBe(createHash('sha256').update(video).digest('hex'));
    // Readable by the page at all only because the answer carried Access-Control-Allow-Origin for it.
    expect(attempt.put).toEqual({
      status: 201,
      body: { videoId: 'from-app', bytes: video.length, status: 'uploaded' },
    });
    // The browser asked first (x-amz-content-sha256 is not a CORS-safelisted header), and the gateway said yes.
    const preflight = log.find((e) => e.method === 'OPTIONS' && e.path === '/uploads/from-app/source');
    expect(preflight?.status).toBe(204);
    expect(log.find((e) => e.method === 'PUT' && e.path === '/uploads/from-app/source')?.status).toBe(201);

    await expect
      .poll(
        async () => {
          const s = await statusFromPage(page, gateway, token, 'from-app');
          return 'body' in s ? s.body.status : s.error;
        },
        { timeout: 60_000, interval: 250 },
      )
      .toBe('ready');
    await page.close();
  }, 90_000);

  it('a page on an origin not in ALLOWED_ORIGINS is blocked by the browser, and nothing is stored', async () => {
    // A signed URL the other page should not be able to use from the browser: handed out to the allowed page.
    const app = await browser.context.newPage();
    await app.goto(`${appOrigin}/`);
    const handed = await app.evaluate(
      async ({ gateway, token }) => {
        const res = await fetch(`${gateway}/api/uploads`, {
          method: 'POST',
          credentials: 'include',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: '{"videoId":"from-other"}',
        });
        return (await res.json()) as { uploadUrl: string };
      },
      { gateway, token },
    );
    expect(handed.uploadUrl).toMatch(/\/uploads\/from-other\/source\?Policy=/);

    const other = await browser.context.newPage();
    await other.goto(`${otherOrigin}/`);
    // Its own POST for an upload URL: blocked before the browser sends it.
    const asked = await uploadFromPage(other, { gateway, token, videoId: 'from-other' });
    expect(asked.error).toMatchObject({ stage: 'post', name: 'TypeError' });
    expect(asked.post).toBeUndefined();
    // The PUT with a valid signed URL: the preflight grants nothing, so the browser never sends the body.
    const put = await uploadFromPage(other, { gateway, token, videoId: 'from-other', uploadUrl: handed.uploadUrl });
    expect(put.error).toMatchObject({ stage: 'put', name: 'TypeError' });
    expect(put.put).toBeUndefined();
    expect(log.filter((e) => e.path === '/uploads/from-other/source').map((e) => e.method)).not.toContain('PUT');

    // Nothing was received: no body under the ID (at most the reservation POST /api/uploads made), no file of the
    // body's size in MEDIA_DIR (but the allowed page's own upload), nothing published.
    const status = await statusFromPage(app, gateway, token, 'from-other');
    expect(status).toMatchObject({ httpStatus: expect.any(Number) });
    const state = 'body' in status ? status.body.status : status.error;
    expect(['uploaded', 'packaging', 'ready', 'failed']).not.toContain(state);
    expect(
      stored().filter((f) => f.includes('from-other') && /(?:^|\/)(?:source|sha256|state\.json|master\.m3u8)$/.test(f)),
    ).toEqual([]);
    expect(stored().filter((f) => !f.includes('from-app') && statSync(join(dir, f)).size === video.length)).toEqual([]);
    await other.close();
    await app.close();
  }, 60_000);
});

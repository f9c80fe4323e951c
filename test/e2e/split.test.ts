import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { launchBrowser, playbackState, waitForPlayback } from './browser.ts';
import { makeTestTls, type TestTls } from './tls.ts';
import type { BrowserContext } from 'playwright-core';
import { freePort } from '../helpers/ports.ts';

// The split deployment over HTTPS: the page on app.example.test, API and media on media.example.test, cookies
// for the shared parent domain example.test (Secure, HttpOnly, SameSite=Lax).
describe('split deployment over HTTPS in Chromium', () => {
  let tls: TestTls;
  let gw: RunningGateway;
  let app: Server;
  let appOrigin: string;
  let mediaOrigin: string;
  let browser: { context: BrowserContext; close(): Promise<void> };
  const mediaRequests: { url: string; status: number; cookie: string }[] = [];

  beforeAll(async () => {
    tls = makeTestTls(['app.example.test', 'media.example.test']);
    const mediaPort = await freePort();
    // The page host: the built player with its API base pointed at the media host.
    const html = readFileSync(join(REPO_ROOT, 'player/dist/index.html'), 'utf8');
    app = createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (req, res) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      if (path === '/') {
        res
          .writeHead(200, { 'Content-Type': 'text/html' })
          .end(
            html.replace(
              '<meta name="hls-gate-api" content="">',
              `<meta name="hls-gate-api" content="https://media.example.test:${mediaPort}">`,
            ),
          );
      } else if (['/app.js', '/app.css'].includes(path)) {
        res
          .writeHead(200, { 'Content-Type': path.endsWith('.js') ? 'text/javascript' : 'text/css' })
          .end(readFileSync(join(REPO_ROOT, 'player/dist', path)));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    appOrigin = `https://app.example.test:${(app.address() as AddressInfo).port}`;
    mediaOrigin = `https://media.example.test:${mediaPort}`;
    gw = await startNodeGateway(
      {
        PORT: String(mediaPort),
        DEMO: 'true',
        MEDIA_BASE_URL: mediaOrigin,
        COOKIE_DOMAIN: 'example.test',
        ALLOWED_ORIGINS: appOrigin,
        TLS_CERT_FILE: tls.certFile,
        TLS_KEY_FILE: tls.keyFile,
      },
      { log: () => {} },
    );
    // The test CA is trusted by pinning the certificate's key, the way an enterprise would add a root.
    browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${tls.spkiHash}`]);
    browser.context.on('requestfinished', async (req) => {
      const u = new URL(req.url());
      if (u.host !== new URL(mediaOrigin).host || !u.pathname.startsWith('/videos/')) return;
      mediaRequests.push({
        url: req.url(),
        status: (await req.response())?.status() ?? 0,
        cookie: (await req.allHeaders()).cookie ?? '',
      });
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await new Promise((r) => app?.close(r));
  });

  it('plays, with the grant on every media request, and cookies for the parent domain', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${appOrigin}/?video=ladder`);
    const state = await waitForPlayback(page, 3);
    expect(state.frames).toBeGreaterThan(25);
    expect(state.message).toBeNull();
    expect(mediaRequests.length).toBeGreaterThan(3);
    for (const r of mediaRequests) {
      expect(r.status, r.url).toBe(200);
      expect(r.cookie).toMatch(/CloudFront-Signature=/);
    }
    const cookies = (await browser.context.cookies()).filter((c) => c.name.startsWith('CloudFront-'));
    expect(cookies.length).toBeGreaterThanOrEqual(3);
    for (const c of cookies)
      expect(c).toMatchObject({
        domain: '.example.test',
        path: '/videos/ladder/',
        secure: true,
        httpOnly: true,
        sameSite: 'Lax',
      });
    await page.close();
  });

  it('the same page without a grant gets nothing from the media host', async () => {
    const fresh = await launchBrowser([`--ignore-certificate-errors-spki-list=${tls.spkiHash}`]);
    try {
      const page = await fresh.context.newPage();
      // The same page, but its access call never gets through: no grant.
      await page.route('**/api/videos/*/access', (route) => route.abort());
      await page.goto(`${appOrigin}/?video=ladder`);
      await page.waitForFunction(
        () => (window as unknown as { __hlsGate: { message: unknown } }).__hlsGate.message !== null,
        undefined,
        { timeout: 10_000 },
      );
      expect((await playbackState(page)).frames).toBe(0);
      const result = await page.evaluate(async (url) => {
        const res = await fetch(url, { credentials: 'include' });
        return { status: res.status, reason: res.headers.get('X-Hls-Gate-Reason'), body: await res.text() };
      }, `${mediaOrigin}/videos/ladder/master.m3u8`);
      expect(result.status).toBe(403);
      expect(result.reason).toBe('no-credentials');
      expect(result.body).not.toContain('#EXTM3U');
    } finally {
      await fresh.close();
    }
  });
});

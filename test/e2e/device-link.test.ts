// A device link in hls.js, in Chromium with every cookie blocked (third-party and first-party): the page on another
// origin loads the link with no credentials at all, and the video plays, because every child URI carries the token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';
import { freePort } from '../helpers/ports.ts';
import { launchBrowser } from './browser.ts';

describe('a device link in Chromium with all cookies blocked', () => {
  let gw: RunningGateway;
  let page: Server;
  let pageOrigin: string;
  let browser: { context: BrowserContext; close(): Promise<void> };

  beforeAll(async () => {
    const port = await freePort();
    pageOrigin = `http://127.0.0.1:${port}`;
    gw = await startNodeGateway(testEnv({ PORT: '0', ALLOWED_ORIGINS: pageOrigin, MEDIA_HOSTS: '127.0.0.1' }), {
      log: () => {},
    });
    const hlsJs = readFileSync(join(REPO_ROOT, 'node_modules/hls.js/dist/hls.min.js'));
    page = createServer((req, res) => {
      if (req.url === '/hls.js') return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(hlsJs);
      const link = new URL(req.url!, pageOrigin).searchParams.get('link') ?? '';
      res.writeHead(200, { 'Content-Type': 'text/html' })
        .end(`<!doctype html><video id="v" muted autoplay></video><script src="/hls.js"></script>
<script>
  window.errors = [];
  const hls = new Hls(); // no xhrSetup, no credentials: the link alone
  hls.on(Hls.Events.ERROR, (_e, d) => window.errors.push(d.details + (d.response ? ' ' + d.response.code : '')));
  hls.loadSource(${JSON.stringify(link)});
  hls.attachMedia(document.getElementById('v'));
</script>`);
    });
    await new Promise<void>((r) => page.listen(port, '127.0.0.1', r));
    browser = await launchBrowser([], { blockAllCookies: true });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await new Promise((r) => page?.close(r));
  });

  it.each(['ladder', 'cmaf', 'aes'])(
    'plays %s',
    async (videoId) => {
      const res = await fetch(`${gw.url}/api/videos/${videoId}/device-link`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      const { url } = (await res.json()) as { url: string };
      const tab = await browser.context.newPage();
      await tab.goto(`${pageOrigin}/?link=${encodeURIComponent(url)}`);
      expect(
        await tab.evaluate(() => {
          document.cookie = 'probe=1';
          return document.cookie;
        }),
      ).toBe(''); // cookies really are blocked
      await tab.waitForFunction(() => (document.getElementById('v') as HTMLVideoElement).currentTime > 1.5, undefined, {
        timeout: 20_000,
        polling: 250,
      });
      expect(
        await tab.evaluate(() =>
          (window as unknown as { errors: string[] }).errors.filter(
            (e) => !/bufferStalled|bufferNudge|bufferSeekOverHole/.test(e),
          ),
        ),
      ).toEqual([]);
      await tab.close();
    },
    40_000,
  );
});

describe('HLS variable substitution (hls-gate package --query-params), for CloudFront in front', () => {
  it('hls.js fills {$Policy}... from the link itself: plays with cookies blocked, the playlist served unchanged', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync: read, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { main } = await import('../../cli/main.ts');
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-qp-'));
    const media = join(dir, 'media');
    execFileSync('mkdir', ['-p', media]);
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=duration=6:size=640x360:rate=25',
      '-f',
      'lavfi',
      '-i',
      'sine=duration=6',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-shortest',
      join(dir, 'src.mp4'),
    ]);
    expect(
      await main(
        [
          'package',
          join(dir, 'src.mp4'),
          '--id',
          'qp',
          '--media-dir',
          media,
          '--encrypt',
          '--query-params',
          '--segment-seconds',
          '2',
        ],
        { stdout: () => {}, stderr: () => {}, env: { PATH: process.env.PATH }, now: () => Date.now() },
      ),
    ).toBe(0);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const gw2 = await startNodeGateway(
      testEnv({ PORT: '0', MEDIA_DIR: media, ALLOWED_ORIGINS: origin, MEDIA_HOSTS: '127.0.0.1' }),
      { log: () => {} },
    );
    const hlsJs = read(join(REPO_ROOT, 'node_modules/hls.js/dist/hls.min.js'));
    const site = createServer((req, res) => {
      if (req.url === '/hls.js') return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(hlsJs);
      const link = new URL(req.url!, origin).searchParams.get('link') ?? '';
      res
        .writeHead(200, { 'Content-Type': 'text/html' })
        .end(
          `<!doctype html><video id="v" muted autoplay></video><script src="/hls.js"></script><script>const h = new Hls(); h.loadSource(${JSON.stringify(link)}); h.attachMedia(document.getElementById('v'));</script>`,
        );
    });
    await new Promise<void>((r) => site.listen(port, '127.0.0.1', r));
    const b = await launchBrowser([], { blockAllCookies: true });
    try {
      const res = await fetch(`${gw2.url}/api/videos/qp/device-link`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      const { url } = (await res.json()) as { url: string };
      expect(await (await fetch(url)).text()).toBe(read(join(media, 'qp', 'master.m3u8'), 'utf8')); // nothing rewritten
      const tab = await b.context.newPage();
      await tab.goto(`${origin}/?link=${encodeURIComponent(url)}`);
      await tab.waitForFunction(() => (document.getElementById('v') as HTMLVideoElement).currentTime > 1.5, undefined, {
        timeout: 20_000,
        polling: 250,
      });
    } finally {
      await b.close();
      await gw2.close();
      await new Promise((r) => site.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

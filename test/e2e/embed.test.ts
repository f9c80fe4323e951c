// The player outside the demo: the gateway's own page says the host provides the token (no demo badge), and the
// packaged player script embedded in a host page on another origin plays with the host's getToken().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext } from 'playwright-core';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';
import { freePort } from '../helpers/ports.ts';
import { launchBrowser, waitForPlayback } from './browser.ts';

describe('player in a configured deployment', () => {
  let gw: RunningGateway;
  let host: Server;
  let hostOrigin: string;
  let browser: { context: BrowserContext; close(): Promise<void> };

  beforeAll(async () => {
    const hostPort = await freePort();
    hostOrigin = `http://127.0.0.1:${hostPort}`;
    gw = await startNodeGateway(testEnv({ PORT: '0', ALLOWED_ORIGINS: hostOrigin, MEDIA_HOSTS: '127.0.0.1' }), {
      log: () => {},
    });
    const token = await viewerToken(['ladder']);
    // The host's page: its own markup, the player's container, its token, and the packaged script and style.
    const page = `<!doctype html><meta charset="utf-8"><title>My video site</title>
<link rel="stylesheet" href="${gw.url}/app.css">
<h1 id="site">My video site</h1>
<div id="hls-gate-player"></div>
<script>window.hlsGate = { apiBase: ${JSON.stringify(gw.url)}, getToken: async () => ${JSON.stringify(token)} };</script>
<script src="${gw.url}/app.js"></script>`;
    host = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page));
    await new Promise<void>((r) => host.listen(hostPort, '127.0.0.1', r));
    expect((host.address() as AddressInfo).port).toBe(hostPort);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await new Promise((r) => host?.close(r));
  });

  it('the gateway page says the host app provides the token, and shows no demo badge', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${gw.url}/`);
    await page.waitForFunction(() => !document.getElementById('notice')!.hidden, undefined, { timeout: 15_000 });
    expect(await page.textContent('#notice-title')).toBe('This page needs a viewer token from the site');
    expect(await page.textContent('#notice-text')).toContain('getToken');
    expect(await page.isVisible('#notice-retry')).toBe(false);
    expect((await page.textContent('#mode'))?.trim()).toBe('');
    await page.close();
  });

  it("the player script embedded in a host page plays with the host's token", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${hostOrigin}/?video=ladder`);
    const state = await waitForPlayback(page, 2);
    expect(state.error).toBeNull();
    expect(state.message).toBeNull();
    expect(await page.textContent('#site')).toBe('My video site');
    expect((await page.textContent('#mode'))?.trim()).toBe('');
    await page.close();
  });
});

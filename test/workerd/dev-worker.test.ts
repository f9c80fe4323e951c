// `npm run dev:worker` as a user runs it: wrangler's local mode (workerd), local R2 seeded from media/, player
// assets; then the demo plays in Chromium exactly as on Node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { launchBrowser, waitForPlayback } from '../e2e/browser.ts';
import { freePort } from '../helpers/ports.ts';

describe('npm run dev:worker', () => {
  let child: ChildProcess;
  let url: string;
  let output = '';

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn('npm', ['run', '-s', 'dev:worker'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', CI: 'true' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 90_000;
    while (!/Ready on/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`dev:worker did not start:\n${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 120_000);
  afterAll(() => {
    if (child?.pid) process.kill(-child.pid, 'SIGTERM'); // the npm process group we started
  });

  it('serves the zero-config demo from workerd and R2: the player plays', async () => {
    const token = (await (await fetch(`${url}/api/demo/token`, { method: 'POST' })).json()) as { token: string };
    const access = await fetch(`${url}/api/videos/aes/access`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token.token}` },
    });
    expect(access.status).toBe(200);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${url}/?video=ladder`);
      const state = await waitForPlayback(page, 3);
      expect(state.frames).toBeGreaterThan(25);
      expect(state.message).toBeNull();
    } finally {
      await browser.close();
    }
  }, 60_000);
});

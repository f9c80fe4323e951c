// hls-gate/client's grant client against a real gateway on loopback (Node's fetch stands in for the browser's; the
// cookies it sets are the browser's business): the first grant, renewals before refreshAt with short grants, a
// renewal after an `expired` refusal and none for any other, typed refusals, and under session control the
// session given back on stop (the slot is free for another device at once). The hls.js adapter is exercised in
// Chromium by the player page, which is built on this client (test/e2e).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrantClient, GrantRefusal, accessMessage } from '../../client/index.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';

describe('the grant client', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startNodeGateway(
      testEnv({
        PORT: '0',
        ACCESS_TTL: '3',
        GRANT_WINDOW: '0',
        SESSION_SECRET: 'session-secret-that-is-long-enough-0123456789',
        MAX_STREAMS_PER_VIEWER: '1',
      }),
      { log: () => {}, events: () => {} },
    );
  });
  afterAll(async () => {
    await gw?.close();
  });

  const clientFor = (videoId: string, sub: string, onGrant?: (n: number) => void) =>
    createGrantClient({
      videoId,
      apiBase: gw.url,
      getToken: () => viewerToken('*', { sub }),
      ...(onGrant ? { onGrant: (_g: unknown, n: number) => onGrant(n) } : {}),
    });

  it('grants, renews before each grant ends, and gives the session back on stop', async () => {
    const renewals: number[] = [];
    const a = clientFor('ladder', 'viewer-a', (n) => renewals.push(n));
    const grant = await a.start();
    expect(grant.playlistUrl).toBe(`${gw.url}/videos/ladder/master.m3u8`);
    expect(grant.sessionToken).toBeTruthy();
    // A second device of the same viewer is refused while the first plays (one stream allowed)...
    const b = clientFor('ladder', 'viewer-a');
    await expect(b.start()).rejects.toMatchObject({ code: 'too-many-streams', status: 429 });
    // ...the first keeps its grant fresh on its own, renewal after renewal...
    await new Promise((r) => setTimeout(r, 5000));
    expect(renewals.length).toBeGreaterThanOrEqual(3);
    expect(Date.parse(a.grant!.expiresAt)).toBeGreaterThan(Date.now());
    // ...and stopping gives the slot back: the second device gets it at once.
    a.stop();
    await new Promise((r) => setTimeout(r, 300));
    expect((await b.start()).videoId).toBe('ladder');
    b.stop();
  }, 20_000);

  it('renews once for an expired refusal, never for another', async () => {
    const c = clientFor('ladder', 'viewer-c');
    await c.start();
    const before = c.renewals;
    expect(await c.recover('expired')).toBe(true);
    expect(c.renewals).toBe(before + 1);
    expect(await c.recover('bad-signature')).toBe(false);
    expect(await c.recover(null)).toBe(false);
    expect(c.renewals).toBe(before + 1);
    c.stop();
    expect(await c.recover('expired')).toBe(false); // stopped: nothing more
  });

  it("reports refusals typed, with the player page's words", async () => {
    const missing = clientFor('no-such-video', 'viewer-d');
    const err = await missing.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrantRefusal);
    expect(err).toMatchObject({ status: 404, code: 'unknown-video' });
    expect(accessMessage(404, (err as GrantRefusal).code).title).toBe('Video not found');
    const nowhere = createGrantClient({ videoId: 'ladder', apiBase: 'http://127.0.0.1:9', getToken: () => 'x' });
    await expect(nowhere.start()).rejects.toMatchObject({ code: 'network', status: 0 });
    expect(() => createGrantClient({ videoId: '', apiBase: gw.url, getToken: () => 'x' })).toThrow(/videoId/);
  });
});

describe('the size of hls-gate/client', () => {
  it('is a few KB minified and gzipped, with no player in it', async () => {
    const { build } = await import('esbuild');
    const { gzipSync } = await import('node:zlib');
    const out = await build({
      entryPoints: ['client/index.ts'],
      bundle: true,
      minify: true,
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const js = out.outputFiles[0]!.contents;
    const gz = gzipSync(js).byteLength;
    console.log(`hls-gate/client: ${js.byteLength} bytes minified, ${gz} gzipped`);
    expect(gz).toBeLessThan(6 * 1024);
    // Nothing from node_modules: no player, no library, only the client and the few gateway constants it names.
    expect(Object.keys(out.metafile.inputs).filter((f) => !/^(client|server\/(core|app))\//.test(f))).toEqual([]);
  });
});

// Session control in one instance (in-process store): the companion cookie cannot be forged or moved, revocations
// through the admin API are enforced within one poll interval, stream leases are exact under concurrency, and with
// session control off nothing changes.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildGateway } from '../../server/app/build.ts';
import { parseConfig } from '../../server/app/config.ts';
import { createFsStorage } from '../../server/node/fs-storage.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import type { LogEntry } from '../../server/app/log.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';
import { RSA_KEY_PAIR_ID, fixtureKey } from '../helpers/fixtures.ts';

const SESSION_SECRET = 'session-secret-that-is-long-enough-0123456789';
const ADMIN_SECRET = 'admin-secret-that-is-long-enough-0123456789ab';

async function gateway(extra: Record<string, string> = {}) {
  let now = Date.now();
  const log: LogEntry[] = [];
  const app = await buildGateway(
    parseConfig(testEnv({ SESSION_SECRET, ADMIN_SECRET, ...extra })),
    createFsStorage(join(REPO_ROOT, 'media')),
    { log: (e) => log.push(e), events: () => {}, now: () => now },
  );
  const base = 'http://localhost';
  const access = async (videoId: string, opts: { sub?: string; sid?: string } = {}) =>
    app.request(`${base}/api/videos/${videoId}/access`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${await viewerToken('*', { sub: opts.sub ?? 'viewer-1' })}`,
        ...(opts.sid ? { 'X-Hls-Gate-Session': opts.sid } : {}),
      },
    });
  const media = (path: string, cookie: string) => app.request(`${base}${path}`, { headers: { Cookie: cookie } });
  const admin = (method: string, path: string, body?: unknown, secret = ADMIN_SECRET) =>
    app.request(`${base}/api/admin/revocations${path}`, {
      method,
      headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  return { app, access, media, admin, log, tick: (ms: number) => (now += ms) };
}

describe('session control off', () => {
  it('adds no cookie, no session id and no store', async () => {
    const app = await buildGateway(parseConfig(testEnv()), createFsStorage(join(REPO_ROOT, 'media')), {
      log: () => {},
    });
    const res = await app.request('http://localhost/api/videos/ladder/access', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    expect(Object.keys(cookiesFrom(res)).sort()).toEqual([
      'CloudFront-Key-Pair-Id',
      'CloudFront-Policy',
      'CloudFront-Signature',
    ]);
    expect(await res.json()).not.toHaveProperty('sessionId');
    expect((await app.request('http://localhost/api/admin/revocations')).status).toBe(404);
  });
});

describe('session control on', () => {
  it('a grant carries an HMAC-bound session cookie; media needs it, and logs sub and session', async () => {
    const g = await gateway();
    const res = await g.access('ladder');
    const body = (await res.json()) as { sessionId: string };
    expect(body.sessionId).toMatch(/^[A-Za-z0-9~_-]{22}$/);
    const cookies = cookiesFrom(res);
    expect(cookies['HlsGate-Session']).toMatch(new RegExp(`^${body.sessionId}\\.`));
    expect(res.headers.getSetCookie().find((c) => c.startsWith('HlsGate-Session='))).toMatch(
      /Path=\/videos\/ladder\/;.*HttpOnly/,
    );
    const ok = await g.media('/videos/ladder/master.m3u8', cookieHeader(cookies));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('Cache-Control')).toBe('private, no-cache'); // replays are revalidated, so revocation reaches them
    const entry = g.log.at(-1)!;
    expect(entry).toMatchObject({ sub: 'viewer-1', session: body.sessionId, status: 200 });
    expect(JSON.stringify(g.log)).not.toContain(cookies['HlsGate-Session']!.split('.')[2]!);

    const { 'HlsGate-Session': _s, ...withoutSession } = cookies;
    const missing = await g.media('/videos/ladder/master.m3u8', cookieHeader(withoutSession));
    expect(missing.status).toBe(403);
    expect(missing.headers.get('X-Hls-Gate-Reason')).toBe('session-invalid');
    const forged = cookies['HlsGate-Session']!.replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A'));
    expect(
      (
        await g.media('/videos/ladder/master.m3u8', cookieHeader({ ...cookies, 'HlsGate-Session': forged }))
      ).headers.get('X-Hls-Gate-Reason'),
    ).toBe('session-invalid');
    // Another viewer's name in a session cookie: the HMAC no longer matches.
    const [sid, , tag] = cookies['HlsGate-Session']!.split('.');
    const renamed = `${sid}.${Buffer.from('someone-else').toString('base64').replace(/\+/g, '-').replace(/=/g, '_').replace(/\//g, '~')}.${tag}`;
    expect(
      (
        await g.media('/videos/ladder/master.m3u8', cookieHeader({ ...cookies, 'HlsGate-Session': renamed }))
      ).headers.get('X-Hls-Gate-Reason'),
    ).toBe('session-invalid');
  });

  it("a session cookie moved onto other credentials (another video's grant) is refused", async () => {
    const g = await gateway();
    const ladder = cookiesFrom(await g.access('ladder'));
    const cmaf = cookiesFrom(await g.access('cmaf'));
    const moved = await g.media(
      '/videos/cmaf/master.m3u8',
      cookieHeader({ ...cmaf, 'HlsGate-Session': ladder['HlsGate-Session']! }),
    );
    expect(moved.status).toBe(403);
    expect(moved.headers.get('X-Hls-Gate-Reason')).toBe('session-invalid');
  });

  it('the session control needs a "sub" in the viewer token', async () => {
    const g = await gateway();
    const { SignJWT } = await import('jose');
    const noSub = await new SignJWT({ videos: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) + 60)
      .sign(new TextEncoder().encode('test-secret-that-is-long-enough-for-hs256!'));
    const res = await g.app.request('http://localhost/api/videos/ladder/access', {
      method: 'POST',
      headers: { Authorization: `Bearer ${noSub}` },
    });
    expect(await res.json()).toMatchObject({ status: 403, code: 'no-subject' });
  });
});

describe('revocation through the admin API', () => {
  it('refuses without the admin secret (and never with the viewer-token secret)', async () => {
    const g = await gateway();
    expect((await g.admin('GET', '', undefined, 'wrong-secret-wrong-secret-wrong-secret')).status).toBe(401);
    expect((await g.admin('GET', '', undefined, 'test-secret-that-is-long-enough-for-hs256!')).status).toBe(401);
    expect((await g.admin('POST', '', { sub: 'x' })).status).toBe(400);
    expect((await g.admin('POST', '', { sub: 'x', session: 'y', ttl: 60 })).status).toBe(400);
  });

  it('a revoked viewer is refused within one poll interval, media and new grants alike, until lifted', async () => {
    const g = await gateway();
    const cookies = cookieHeader(cookiesFrom(await g.access('ladder')));
    expect((await g.admin('POST', '', { sub: 'viewer-1', ttl: 600 })).status).toBe(201);
    g.tick(1001); // the stated worst-case delay: one SESSION_POLL (1 s)
    const refused = await g.media('/videos/ladder/master.m3u8', cookies);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('X-Hls-Gate-Reason')).toBe('revoked');
    expect(await (await g.access('cmaf')).json()).toMatchObject({ status: 403, code: 'revoked' });
    expect((await g.access('cmaf', { sub: 'viewer-2' })).status).toBe(200); // others are unaffected
    expect(((await (await g.admin('GET', '')).json()) as { revocations: unknown[] }).revocations).toEqual([
      expect.objectContaining({ kind: 'sub', id: 'viewer-1' }),
    ]);
    expect((await g.admin('DELETE', '?sub=viewer-1')).status).toBe(204);
    expect((await g.admin('DELETE', '?sub=viewer-1')).status).toBe(404);
    g.tick(1001);
    expect((await g.media('/videos/ladder/master.m3u8', cookies)).status).toBe(200);
  });

  it('revoking one session stops that device only; a revocation ends by itself', async () => {
    const g = await gateway();
    const a = await g.access('ladder');
    const aSid = ((await a.json()) as { sessionId: string }).sessionId;
    const b = cookieHeader(cookiesFrom(await g.access('ladder')));
    expect((await g.admin('POST', '', { session: aSid, ttl: 5 })).status).toBe(201);
    g.tick(1001);
    expect(
      (await g.media('/videos/ladder/master.m3u8', cookieHeader(cookiesFrom(a)))).headers.get('X-Hls-Gate-Reason'),
    ).toBe('revoked');
    expect((await g.media('/videos/ladder/master.m3u8', b)).status).toBe(200);
    g.tick(6000);
    expect((await g.media('/videos/ladder/master.m3u8', cookieHeader(cookiesFrom(a)))).status).toBe(200);
  });
});

describe('concurrent-stream limits', () => {
  it('a third device is refused with 429, admitted once one stops; a refresh keeps its slot', async () => {
    const g = await gateway({ MAX_STREAMS_PER_VIEWER: '2' });
    const tokenOf = async (r: Response) => ((await r.json()) as { sessionToken: string }).sessionToken;
    let one = await tokenOf(await g.access('ladder'));
    await tokenOf(await g.access('cmaf'));
    const third = await g.access('aes');
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ code: 'too-many-streams' });
    expect(third.headers.getSetCookie()).toEqual([]);
    const refreshed = await g.access('ladder', { sid: one }); // refresh of a live session, with its token
    expect(refreshed.status).toBe(200);
    one = await tokenOf(refreshed);
    const stop = await g.app.request('http://localhost/api/videos/ladder/access', {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${await viewerToken('*')}`, 'X-Hls-Gate-Session': one },
    });
    expect(stop.status).toBe(204);
    expect(stop.headers.getSetCookie().some((c) => c.startsWith('HlsGate-Session=;'))).toBe(true);
    expect((await g.access('aes')).status).toBe(200);
  });

  it("a vanished device's lease ends with its grant", async () => {
    const g = await gateway({ MAX_STREAMS_PER_VIEWER: '1', ACCESS_TTL: '60', GRANT_WINDOW: '0' });
    expect((await g.access('ladder')).status).toBe(200);
    expect((await g.access('ladder')).status).toBe(429);
    g.tick(61_000);
    expect((await g.access('ladder')).status).toBe(200);
  });

  it('20 devices racing for 2 slots: exactly 2 win', async () => {
    const g = await gateway({ MAX_STREAMS_PER_VIEWER: '2' });
    const results = await Promise.all(Array.from({ length: 20 }, () => g.access('ladder', { sub: 'racer' })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(2);
    expect(results.filter((r) => r.status === 429)).toHaveLength(18);
  });
});

describe('hls-gate revoke', () => {
  it('revokes, lists and lifts through the admin API of a running gateway', async () => {
    const { startNodeGateway } = await import('../../server/node/start.ts');
    const { main } = await import('../../cli/main.ts');
    const gw = await startNodeGateway(testEnv({ PORT: '0', SESSION_SECRET, ADMIN_SECRET }), {
      log: () => {},
      events: () => {},
    });
    try {
      const run = async (argv: string[], env: Record<string, string> = { ADMIN_SECRET, HLS_GATE_URL: gw.url }) => {
        let stdout = '';
        let stderr = '';
        const code = await main(argv, {
          stdout: (t) => void (stdout += t),
          stderr: (t) => void (stderr += t),
          env,
          now: () => Date.now(),
        });
        return { code, stdout, stderr };
      };
      expect((await run(['revoke', '--sub', 'mallory', '--for', '2h'])).stdout).toMatch(
        /^revoked: viewer mallory until /,
      );
      expect(JSON.parse((await run(['revoke', 'list', '--json'])).stdout)).toEqual([
        expect.objectContaining({ kind: 'sub', id: 'mallory' }),
      ]);
      const grant = await fetch(`${gw.url}/api/videos/ladder/access`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*', { sub: 'mallory' })}` },
      });
      expect(await grant.json()).toMatchObject({ code: 'revoked' });
      expect((await run(['revoke', 'lift', '--sub', 'mallory'])).code).toBe(0);
      expect((await run(['revoke', 'lift', '--sub', 'mallory'])).stderr).toMatch(/404 There was no such revocation/);
      expect((await run(['revoke', '--sub', 'x'], { HLS_GATE_URL: gw.url })).stderr).toMatch(/set ADMIN_SECRET/);
      expect(
        (
          await run(['revoke', '--sub', 'x'], {
            ADMIN_SECRET: 'wrong-wrong-wrong-wrong-wrong-wrong-wrong',
            HLS_GATE_URL: gw.url,
          })
        ).stderr,
      ).toMatch(/401/);
    } finally {
      await gw.close();
    }
  });
});

describe('posters under session control', () => {
  it("are served from the listing's links, which carry no session; a canned link to a segment still needs one", async () => {
    const { mkdtempSync, cpSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { startNodeGateway } = await import('../../server/node/start.ts');
    const { signUrl, importPrivateKey } = await import('../../server/core/index.ts');
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-posters-'));
    cpSync(join(REPO_ROOT, 'media/ladder'), join(dir, 'ladder'), { recursive: true });
    writeFileSync(join(dir, 'ladder', 'poster.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]));
    writeFileSync(
      join(dir, 'catalog.json'),
      JSON.stringify({ videos: [{ id: 'ladder', title: 'Ladder', playlist: 'master.m3u8', poster: 'poster.jpg' }] }),
    );
    const gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir, SESSION_SECRET, ADMIN_SECRET }), {
      log: () => {},
      events: () => {},
    });
    try {
      const listing = await fetch(`${gw.url}/api/videos`, {
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      const { videos } = (await listing.json()) as { videos: { posterUrl?: string }[] };
      const poster = await fetch(videos[0]!.posterUrl!);
      expect(poster.status).toBe(200);
      expect(poster.headers.get('content-type')).toBe('image/jpeg');
      const key = await importPrivateKey(fixtureKey('rsa-pkcs8.pem'));
      const segment = await signUrl(
        `${gw.url}/videos/ladder/240p/seg_000.ts`,
        { expires: Math.floor(Date.now() / 1000) + 600 },
        { keyPairId: RSA_KEY_PAIR_ID, privateKey: key },
      );
      const refused = await fetch(segment);
      expect(refused.status).toBe(403);
      expect(refused.headers.get('x-hls-gate-reason')).toMatch(/^session-/);
    } finally {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Session control tried as a hostile viewer (issue 23), in one instance with the in-process store:
//   who                              sends                                              must happen
//   a viewer sharing an account      the first device's session id/token from 5 more    exactly MAX_STREAMS_PER_VIEWER play
//   another viewer                   someone's session token                            a session of their own, never theirs
//   anyone                           a forged or foreign token on DELETE                no lease released
//   a sibling subdomain              planted HlsGate-Session cookies before the real one  the real one is still found
//   a host app                       a sub that breaks the one rule                     refused at every entry point
//   an operator                      `null` as the admin body                           400, not 500
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsUploads } from '../../server/node/fs-uploads.ts';
import { buildGateway } from '../../server/app/build.ts';
import { parseConfig } from '../../server/app/config.ts';
import { createFsStorage } from '../../server/node/fs-storage.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { MAX_SUBJECT_BYTES, subjectProblem } from '../../server/app/subject.ts';
import { cookieHeader, cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';

const SESSION_SECRET = 'session-secret-that-is-long-enough-0123456789';
const ADMIN_SECRET = 'admin-secret-that-is-long-enough-0123456789ab';

async function gateway(extra: Record<string, string> = {}) {
  const uploads = createFsUploads(mkdtempSync(join(tmpdir(), 'hls-gate-sessions-up-')), 0); // an upload sink that is never reached
  const app = await buildGateway(
    parseConfig(testEnv({ SESSION_SECRET, ADMIN_SECRET, UPLOADS: 'true', ...extra })),
    createFsStorage(join(REPO_ROOT, 'media')),
    { log: () => {}, events: () => {}, uploads },
  );
  const base = 'http://localhost';
  const access = async (videoId: string, opts: { sub?: string; session?: string } = {}) =>
    app.request(`${base}/api/videos/${videoId}/access`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${await viewerToken('*', { sub: opts.sub ?? 'viewer-1' })}`,
        ...(opts.session ? { 'X-Hls-Gate-Session': opts.session } : {}),
      },
    });
  const admin = (method: string, path: string, body?: string) =>
    app.request(`${base}/api/admin/revocations${path}`, {
      method,
      headers: { Authorization: `Bearer ${ADMIN_SECRET}`, 'Content-Type': 'application/json' },
      ...(body !== undefined ? { body } : {}),
    });
  return { app, access, admin };
}

type Granted = { sessionId: string; sessionToken: string };

describe('session ids are minted by the gateway and counted per device', () => {
  it.each([1, 2])(
    "MAX_STREAMS_PER_VIEWER=%i: five devices reusing the first one's session id or token do not all play",
    async (limit) => {
      const g = await gateway({ MAX_STREAMS_PER_VIEWER: String(limit) });
      const first = (await (await g.access('ladder')).json()) as Granted;
      // The old hole: the session id itself sent back by five other devices.
      const byId = await Promise.all(Array.from({ length: 5 }, () => g.access('ladder', { session: first.sessionId })));
      expect(byId.filter((r) => r.status === 200)).toHaveLength(limit - 1);
      // Copies of the first device's token: one of them renews it (that device now holds the session), the rest are
      // new devices, admitted only while there is room.
      const byToken = await Promise.all(
        Array.from({ length: 5 }, () => g.access('ladder', { session: first.sessionToken })),
      );
      const admitted = byToken.filter((r) => r.status === 200).length;
      expect(admitted).toBe(1);
      expect(byToken.filter((r) => r.status === 429)).toHaveLength(4);
      // The first device's own token is now stale: it is a new device, and there is no room for it.
      expect((await g.access('ladder', { session: first.sessionToken })).status).toBe(429);
    },
  );

  it('a renewal with the current token keeps the session; each renewal hands out a new token', async () => {
    const g = await gateway({ MAX_STREAMS_PER_VIEWER: '1' });
    let held = (await (await g.access('ladder')).json()) as Granted;
    for (let i = 0; i < 3; i++) {
      const next = (await (await g.access('cmaf', { session: held.sessionToken })).json()) as Granted;
      expect(next.sessionId).toBe(held.sessionId);
      expect(next.sessionToken).not.toBe(held.sessionToken);
      held = next;
    }
    expect((await g.access('ladder')).status).toBe(429); // still one device
  });

  it("another viewer presenting someone's token gets a session of their own", async () => {
    const g = await gateway();
    const alice = (await (await g.access('ladder', { sub: 'alice' })).json()) as Granted;
    const mallory = (await (
      await g.access('ladder', { sub: 'mallory', session: alice.sessionToken })
    ).json()) as Granted;
    expect(mallory.sessionId).not.toBe(alice.sessionId);
  });

  it("DELETE releases a lease only with that viewer's own, genuine token", async () => {
    const g = await gateway({ MAX_STREAMS_PER_VIEWER: '1' });
    const alice = (await (await g.access('ladder', { sub: 'alice' })).json()) as Granted;
    const release = async (sub: string, session: string) =>
      g.app.request('http://localhost/api/videos/ladder/access', {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${await viewerToken('*', { sub })}`, 'X-Hls-Gate-Session': session },
      });
    await release('alice', alice.sessionId); // the bare id proves nothing
    await release(
      'alice',
      alice.sessionToken.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
    ); // forged
    await release('mallory', alice.sessionToken); // someone else's
    expect((await g.access('cmaf', { sub: 'alice' })).status).toBe(429);
    await release('alice', alice.sessionToken);
    expect((await g.access('cmaf', { sub: 'alice' })).status).toBe(200);
  });
});

describe('planted HlsGate-Session cookies', () => {
  it('junk and well-formed fakes in front of the real cookie cannot push it out', async () => {
    const g = await gateway();
    const res = await g.access('ladder');
    const cookies = cookiesFrom(res);
    const real = cookies['HlsGate-Session']!;
    const [sid, sub] = real.split('.');
    const junk = Array.from({ length: 20 }, (_, i) => `HlsGate-Session=junk${i}`);
    const fakes = Array.from(
      { length: 40 },
      (_, i) => `HlsGate-Session=${sid}.${sub}.${'A'.repeat(42)}${String.fromCharCode(66 + (i % 20))}`,
    );
    const { 'HlsGate-Session': _real, ...rest } = cookies;
    const header = [cookieHeader(rest), ...junk, ...fakes, `HlsGate-Session=${real}`].join('; ');
    expect(
      (await g.app.request('http://localhost/videos/ladder/master.m3u8', { headers: { Cookie: header } })).status,
    ).toBe(200);
    const onlyFakes = [cookieHeader(rest), ...junk, ...fakes].join('; ');
    expect(
      (
        await g.app.request('http://localhost/videos/ladder/master.m3u8', { headers: { Cookie: onlyFakes } })
      ).headers.get('X-Hls-Gate-Reason'),
    ).toBe('session-invalid');
  });
});

describe('one rule for a sub, at every entry point', () => {
  const tooLong = 'x'.repeat(MAX_SUBJECT_BYTES + 1);
  const wide = 'é'.repeat(MAX_SUBJECT_BYTES / 2 + 1); // 101 characters, 202 bytes
  const lone = 'viewer\ud800';
  const decomposed = 'Ame\u0301lie'; // not NFC
  const control = 'viewer\u0007';
  const bad = [tooLong, wide, lone, decomposed, control];

  it('the rule itself', () => {
    expect(subjectProblem('x'.repeat(MAX_SUBJECT_BYTES))).toBeNull();
    expect(subjectProblem('Amélie')).toBeNull();
    for (const sub of bad) expect(subjectProblem(sub)).not.toBeNull();
  });

  it.each(bad.map((s) => [JSON.stringify(s).slice(0, 40), s]))(
    '%s: no grant, no device link, no upload, no revocation',
    async (_n, sub) => {
      const g = await gateway();
      const grant = await g.access('ladder', { sub });
      expect(grant.status).toBe(403);
      expect(await grant.json()).toMatchObject({ code: 'bad-subject' });
      const link = await g.app.request('http://localhost/api/videos/ladder/device-link', {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*', { sub })}` },
      });
      expect(await link.json()).toMatchObject({ code: 'bad-subject' });
      const upload = await g.app.request('http://localhost/api/uploads', {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*', { sub })}` },
      });
      expect(await upload.json()).toMatchObject({ code: 'bad-subject' });
      expect((await g.admin('POST', '', JSON.stringify({ sub, ttl: 60 }))).status).toBe(400);
      // A query string cannot carry a lone surrogate (it arrives as U+FFFD); every other bad sub is refused there too.
      if (sub !== lone) expect((await g.admin('DELETE', `?sub=${encodeURIComponent(sub)}`)).status).toBe(400);
    },
  );

  it('a sub at the limit is granted, revoked and lifted by its exact value', async () => {
    const g = await gateway();
    const sub = 'é'.repeat(MAX_SUBJECT_BYTES / 2);
    const grant = await g.access('ladder', { sub });
    expect(grant.status).toBe(200);
    const cookie = cookieHeader(cookiesFrom(grant));
    expect(
      (await g.app.request('http://localhost/videos/ladder/master.m3u8', { headers: { Cookie: cookie } })).status,
    ).toBe(200);
    expect((await g.admin('POST', '', JSON.stringify({ sub, ttl: 60 }))).status).toBe(201);
    await new Promise((r) => setTimeout(r, 1100)); // one SESSION_POLL
    expect(
      (await g.app.request('http://localhost/videos/ladder/master.m3u8', { headers: { Cookie: cookie } })).headers.get(
        'X-Hls-Gate-Reason',
      ),
    ).toBe('revoked');
    expect((await g.admin('DELETE', `?sub=${encodeURIComponent(sub)}`)).status).toBe(204);
  });

  it('hls-gate revoke refuses a bad sub or session id before calling the gateway', async () => {
    const { main } = await import('../../cli/main.ts');
    for (const argv of [
      ['revoke', '--sub', lone],
      ['revoke', '--sub', tooLong],
      ['revoke', '--session', 'not-a-session'],
    ]) {
      let stderr = '';
      const code = await main(argv, {
        stdout: () => {},
        stderr: (t) => void (stderr += t),
        env: { ADMIN_SECRET, HLS_GATE_URL: 'http://127.0.0.1:9' },
        now: () => Date.now(),
      });
      expect(code).toBe(2);
      expect(stderr).toMatch(/--sub must|--session takes/);
    }
  });
});

describe('the admin API', () => {
  it.each(['null', '[]', '"sub"', '42'])('a JSON body %s is 400 bad-json, not 500', async (body) => {
    const g = await gateway();
    const res = await g.admin('POST', '', body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'bad-json' });
  });
});

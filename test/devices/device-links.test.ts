// Device links end to end with real cookie-less clients: ffmpeg decodes the TS, CMAF and AES-128 demo videos from
// the link alone, and the request log shows every playlist, segment, init segment and key fetched with the token;
// the link with one signature character changed, after expiry, or edited to another video fails; the segment-fetch
// walker given only the link walks every file of every rendition.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { importPrivateKey, signUrl } from '../../server/core/index.ts';
import type { LogEntry } from '../../server/app/log.ts';
import { runFetchSegments } from '../../cli/fetch-segments/index.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';
import { RSA_KEY_PAIR_ID, fixtureKey } from '../helpers/fixtures.ts';

const MEDIA = join(REPO_ROOT, 'media');
const filesOf = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? filesOf(join(dir, f)) : [join(dir, f)]));
// Asynchronous: the gateway answering ffmpeg runs in this very process.
const ffmpeg = (url: string): Promise<{ status: number | null; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-i', url, '-f', 'null', '-'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });

describe('device links', () => {
  let gw: RunningGateway;
  const log: LogEntry[] = [];
  const link = async (videoId: string, sub = 'viewer-1') => {
    const res = await fetch(`${gw.url}/api/videos/${videoId}/device-link`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*', { sub })}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { url: string; expiresAt: string };
  };
  beforeAll(async () => {
    gw = await startNodeGateway(testEnv({ PORT: '0' }), { log: (e) => log.push(e) });
  });
  afterAll(() => gw?.close());

  it.each(['ladder', 'cmaf', 'aes'])(
    'ffmpeg decodes %s from the link alone, every file fetched with the token',
    async (videoId) => {
      const { url, expiresAt } = await link(videoId);
      expect(url).toMatch(
        new RegExp(
          `^${gw.url}/videos/${videoId}/master\\.m3u8\\?Policy=[A-Za-z0-9~_-]+&Signature=[A-Za-z0-9~_-]+&Key-Pair-Id=${RSA_KEY_PAIR_ID}$`,
        ),
      );
      expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(3.9 * 3600 * 1000); // DEVICE_LINK_TTL default 4 h
      const before = log.length;
      const r = await ffmpeg(url);
      expect(r.status, r.stderr).toBe(0);
      const mine = log.slice(before).filter((e) => e.path.startsWith(`/videos/${videoId}/`));
      // ffmpeg reads segments and keys with Range (206).
      expect(
        mine
          .filter((e) => (e.status !== 200 && e.status !== 206) || e.grant !== 'url')
          .map((e) => `${e.status} ${e.grant} ${e.path}`),
      ).toEqual([]);
      const kinds = new Set(mine.map((e) => e.path.slice(e.path.lastIndexOf('.') + 1)));
      expect(kinds).toContain('m3u8');
      if (videoId === 'cmaf') expect([...kinds].sort()).toEqual(['m3u8', 'm4s', 'mp4']);
      if (videoId === 'aes') expect([...kinds].sort()).toEqual(['key', 'm3u8', 'ts']);
      expect(JSON.stringify(mine)).not.toContain('Signature'); // paths only in the log
    },
    60_000,
  );

  it('fails with one signature character changed, after expiry, and edited to another video', async () => {
    const { url } = await link('ladder');
    const tampered = url.replace(/Signature=(.)/, (_m, c: string) => `Signature=${c === 'A' ? 'B' : 'A'}`);
    expect((await ffmpeg(tampered)).status).not.toBe(0);
    const master = await fetch(tampered);
    expect(master.status).toBe(403);
    expect(master.headers.get('X-Hls-Gate-Reason')).toBe('bad-signature');
    expect((await ffmpeg(url.replace('/videos/ladder/', '/videos/cmaf/'))).status).not.toBe(0);
    expect((await fetch(url.replace('/videos/ladder/', '/videos/cmaf/'))).headers.get('X-Hls-Gate-Reason')).toBe(
      'resource-mismatch',
    );
    // An expired link, signed the same way with the gateway's key.
    const key = await importPrivateKey(fixtureKey('rsa-pkcs8.pem'));
    const expired = await signUrl(
      `${gw.url}/videos/ladder/master.m3u8`,
      { expires: Math.floor(Date.now() / 1000) - 1, resource: `${gw.url}/videos/ladder/*` },
      { keyPairId: RSA_KEY_PAIR_ID, privateKey: key },
    );
    expect((await ffmpeg(expired)).status).not.toBe(0);
    expect((await fetch(expired)).headers.get('X-Hls-Gate-Reason')).toBe('expired');
  }, 60_000);

  it('the segment-fetch walker, given only the link, walks every file of every rendition', async () => {
    const { url } = await link('ladder');
    let stdout = '';
    const code = await runFetchSegments([url, '--json', '-'], {
      stdout: (t) => void (stdout += t),
      stderr: () => {},
      env: {},
      now: () => Date.now(),
    });
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { phases: { requests: number; results: { status: number }[] }[] };
    expect(report.phases[0]!.requests).toBe(filesOf(join(MEDIA, 'ladder')).length);
    expect(report.phases[0]!.results.every((r) => r.status === 200)).toBe(true);
  });

  it('refuses a viewer without entitlement, and binds to the IP when asked', async () => {
    const res = await fetch(`${gw.url}/api/videos/ladder/device-link`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken(['cmaf'])}` },
    });
    expect(await res.json()).toMatchObject({ status: 403, code: 'not-entitled' });
    const bound = await fetch(`${gw.url}/api/videos/ladder/device-link`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ bindIp: true }),
    });
    const { url } = (await bound.json()) as { url: string };
    const policy = JSON.parse(
      Buffer.from(
        new URL(url).searchParams.get('Policy')!.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'),
        'base64',
      ).toString(),
    ) as { Statement: [{ Condition: { IpAddress?: { 'AWS:SourceIp': string } } }] };
    expect(policy.Statement[0].Condition.IpAddress).toEqual({ 'AWS:SourceIp': '127.0.0.1/32' });
    expect((await fetch(url)).status).toBe(200);
  });
});

describe('with CloudFront in front: a *.m3u8 cache behavior whose origin is hls-gate', () => {
  it('the playlist requested through CloudFront (public URL = the distribution) comes back tokenized', async () => {
    const { buildGateway } = await import('../../server/app/build.ts');
    const { parseConfig } = await import('../../server/app/config.ts');
    const { createFsStorage } = await import('../../server/node/fs-storage.ts');
    const app = await buildGateway(
      parseConfig(testEnv({ MEDIA_BASE_URL: 'https://d111111abcdef8.cloudfront.net', MEDIA_HOSTS: undefined })),
      createFsStorage(MEDIA),
      { log: () => {} },
    );
    const res = await app.request('https://api.example.com/api/videos/cmaf/device-link', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    const { url } = (await res.json()) as { url: string };
    expect(url.startsWith('https://d111111abcdef8.cloudfront.net/videos/cmaf/master.m3u8?Policy=')).toBe(true);
    // CloudFront forwards the request (with its query) to the origin: hls-gate judges the public URL and rewrites.
    const viaOrigin = await app.request(url.replace('https://d111111abcdef8.cloudfront.net', 'http://origin.internal'));
    expect(viaOrigin.status).toBe(200);
    const child = (await viaOrigin.text()).split('\n').find((l) => l && !l.startsWith('#'))!;
    expect(child).toBe(`media.m3u8?${new URL(url).search.slice(1)}`);
  });
});

describe('device links under session control', () => {
  it("carry their own device session in the query; a revoked viewer's link stops working", async () => {
    const ADMIN_SECRET = 'admin-secret-that-is-long-enough-0123456789ab';
    const gw = await startNodeGateway(
      testEnv({
        PORT: '0',
        SESSION_SECRET: 'session-secret-that-is-long-enough-0123456789',
        ADMIN_SECRET,
        SESSION_POLL: '1',
      }),
      { log: () => {}, events: () => {} },
    );
    try {
      const res = await fetch(`${gw.url}/api/videos/aes/device-link`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*', { sub: 'tv-owner' })}` },
      });
      const { url, sessionId } = (await res.json()) as { url: string; sessionId: string };
      expect(new URL(url).searchParams.get('HlsGate-Session')).toMatch(new RegExp(`^${sessionId}\\.`));
      expect((await ffmpeg(url)).status).toBe(0);
      expect(
        (await fetch(url.replace(/HlsGate-Session=[^&]+/, 'HlsGate-Session=forged'))).headers.get('X-Hls-Gate-Reason'),
      ).toBe('session-invalid');
      await fetch(`${gw.url}/api/admin/revocations`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_SECRET}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ sub: 'tv-owner', ttl: 60 }),
      });
      await new Promise((r) => setTimeout(r, 1200));
      const after = await fetch(url);
      expect(after.status).toBe(403);
      expect(after.headers.get('X-Hls-Gate-Reason')).toBe('revoked');
    } finally {
      await gw.close();
    }
  }, 60_000);
});

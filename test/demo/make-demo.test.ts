// The demo generator itself: real ffmpeg makes real HLS, with the structure the gateway and player rely on.
// CI installs ffmpeg (.ci/run); without it this test fails rather than skipping.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { runFetchSegments } from '../../cli/fetch-segments/index.ts';
import { startStaticServer } from '../helpers/static-server.ts';

describe('scripts/make-demo.sh', () => {
  it('makes a TS ladder, a CMAF video with an init segment and an AES-128 video that walk cleanly', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hls-gate-demo-'));
    const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/make-demo.sh'), out], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'ladder/master.m3u8'), 'utf8').match(/#EXT-X-STREAM-INF/g)).toHaveLength(2);
    expect(readFileSync(join(out, 'cmaf/media.m3u8'), 'utf8')).toMatch(/#EXT-X-MAP:URI="init.mp4"/);
    expect(readFileSync(join(out, 'aes/media.m3u8'), 'utf8')).toMatch(/#EXT-X-KEY:METHOD=AES-128,URI="key.key"/);
    expect(readdirSync(join(out, 'ladder/240p')).filter((f) => f.endsWith('.ts'))).toHaveLength(15);
    expect(JSON.parse(readFileSync(join(out, 'catalog.json'), 'utf8')).videos.map((v: { id: string }) => v.id)).toEqual(
      ['ladder', 'cmaf', 'aes'],
    );
    const server = await startStaticServer(out);
    try {
      for (const id of ['ladder', 'cmaf', 'aes']) {
        let text = '';
        const code = await runFetchSegments([`${server.url}/${id}/master.m3u8`], {
          stdout: (t) => void (text += t),
          stderr: () => {},
          env: {},
          now: Date.now,
        });
        expect(code, text).toBe(0);
      }
    } finally {
      await server.close();
    }
  }, 150_000);
});

// The live publisher's mirror (packager/live-publish.ts) against a store that records what it is asked, and one that
// fails: segments go out before the playlists that name them and the master last; a segment is removed only after the
// playlist that stopped naming it; hidden and temporary files are never published; a store that errors is told about
// and the next pass catches up (the stream is never stopped by its store).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMirror, type LiveSink } from '../../packager/live-publish.ts';

function recordingSink(failFirst = 0): LiveSink & { calls: string[] } {
  const calls: string[] = [];
  let failures = failFirst;
  return {
    calls,
    label: 'test',
    exists: async () => false,
    put: async (path) => {
      if (failures-- > 0) throw new Error('503 Slow Down');
      calls.push(`put ${path}`);
    },
    remove: async (path) => void calls.push(`remove ${path}`),
    close: async () => {},
  };
}

describe('the live mirror', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const folder = () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-mirror-'));
    mkdirSync(join(dir, '360p'));
    writeFileSync(join(dir, 'master.m3u8'), '#EXTM3U\n');
    writeFileSync(join(dir, '360p', 'index.m3u8'), 'seg_00000.ts\n');
    writeFileSync(join(dir, '360p', 'seg_00000.ts'), 'a');
    writeFileSync(join(dir, '360p', 'seg_00001.ts.tmp'), 'being written');
    writeFileSync(join(dir, '.catalog.lock'), '');
    return dir;
  };

  it('publishes segments, then media playlists, then the master; removes only after the playlist moved on', async () => {
    const sink = recordingSink();
    const mirror = startMirror(folder(), sink, () => {});
    await mirror.flush();
    expect(sink.calls).toEqual(['put 360p/seg_00000.ts', 'put 360p/index.m3u8', 'put master.m3u8']);
    // The window slides: a new segment, a new playlist, the old segment deleted.
    sink.calls.length = 0;
    writeFileSync(join(dir, '360p', 'seg_00001.ts'), 'b');
    writeFileSync(join(dir, '360p', 'index.m3u8'), 'seg_00001.ts\n!');
    unlinkSync(join(dir, '360p', 'seg_00000.ts'));
    await mirror.flush();
    expect(sink.calls).toEqual(['put 360p/seg_00001.ts', 'put 360p/index.m3u8', 'remove 360p/seg_00000.ts']);
    // Nothing changed: nothing sent.
    sink.calls.length = 0;
    await mirror.flush();
    expect(sink.calls).toEqual([]);
    await mirror.stop();
  });

  it('tells about a store that errors and catches up on the next pass', async () => {
    const sink = recordingSink(1);
    const notes: string[] = [];
    const mirror = startMirror(folder(), sink, (text) => notes.push(text));
    await mirror.flush();
    expect(notes).toEqual(['publishing: 503 Slow Down']);
    expect(sink.calls).toEqual([]); // nothing after the failed segment: no playlist may name what is not there
    await mirror.flush();
    expect(sink.calls).toEqual(['put 360p/seg_00000.ts', 'put 360p/index.m3u8', 'put master.m3u8']);
    await mirror.stop();
  });
});

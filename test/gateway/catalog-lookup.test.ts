// The access endpoint looks its video up on every grant (server/app/catalog.ts, findVideo): catalog entries by ID,
// and videos without an entry by their master playlist, remembered only while the catalog read is and only when
// found, so a made-up ID is never kept and a removed video is gone once the catalog is read again.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findVideo } from '../../server/app/catalog.ts';
import type { MediaStorage } from '../../server/app/storage.ts';
import { createFsStorage } from '../../server/node/fs-storage.ts';

describe('finding a video for a grant', () => {
  it('asks the disk once per catalog read for a found video, every time for an unknown one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-lookup-'));
    try {
      writeFileSync(join(dir, 'catalog.json'), JSON.stringify({ videos: [{ id: 'listed', title: 'Listed' }] }));
      mkdirSync(join(dir, 'loose'));
      writeFileSync(join(dir, 'loose/master.m3u8'), '#EXTM3U\n');
      const fs = createFsStorage(dir);
      const heads: string[] = [];
      const storage: MediaStorage = { ...fs, head: (key) => (heads.push(key), fs.head(key)) };
      const t0 = 1_000_000;

      expect((await findVideo(storage, 'listed', t0))?.title).toBe('Listed');
      expect(heads).toEqual([]); // a catalog entry needs no disk lookup
      expect((await findVideo(storage, 'loose', t0))?.playlist).toBe('master.m3u8');
      expect((await findVideo(storage, 'loose', t0 + 1000))?.id).toBe('loose');
      expect(heads).toEqual(['loose/master.m3u8']);

      expect(await findVideo(storage, 'made-up', t0 + 1000)).toBeNull();
      expect(await findVideo(storage, 'made-up', t0 + 1000)).toBeNull();
      expect(heads.filter((k) => k === 'made-up/master.m3u8')).toHaveLength(2);
      // A video added meanwhile is found at once (nothing negative was kept).
      mkdirSync(join(dir, 'made-up'));
      writeFileSync(join(dir, 'made-up/master.m3u8'), '#EXTM3U\n');
      expect((await findVideo(storage, 'made-up', t0 + 1000))?.id).toBe('made-up');

      // A removed video stays findable only until the catalog is read again (every 5 s).
      rmSync(join(dir, 'loose'), { recursive: true });
      expect((await findVideo(storage, 'loose', t0 + 2000))?.id).toBe('loose');
      expect(await findVideo(storage, 'loose', t0 + 6000)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

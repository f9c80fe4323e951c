import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageCommand } from '../../cli/package/index.ts';

/** The upload queue's packager: `hls-gate package` run in-process on the uploaded source, its progress reported. */
export function packageUpload(mediaDir: string) {
  return async (videoId: string, source: string, onProgress: (fraction: number) => void): Promise<string | null> => {
    // Published by a run that was interrupted right after its final rename: nothing left to do.
    if (existsSync(join(mediaDir, videoId, 'master.m3u8'))) return null;
    let errors = '';
    try {
      const code = await packageCommand([source, '--id', videoId, '--media-dir', mediaDir, '--json'], {
        stdout: () => {},
        stderr: (t) => void (errors = (errors + t).slice(-2000)),
        env: process.env,
        now: () => Date.now(),
        onProgress,
      });
      return code === 0 ? null : errors.trim().split('\n').pop() || `packaging failed (exit ${code})`;
    } catch (err) {
      return err instanceof Error ? err.message : 'packaging failed';
    }
  };
}

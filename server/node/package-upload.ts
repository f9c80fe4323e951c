import {
  PACKAGE_FAILURES,
  PackageError,
  packageVideo,
  type Placement,
  type SourceLimits,
} from '../../packager/index.ts';
import { JobFailure, type PackageJob } from './upload-queue.ts';

// The upload queue's packager: the packaging library on a stranger's file. Loaded only when uploads are on (the
// Node entry imports this module dynamically), so the gateway alone never loads ffmpeg's wrapper, aws4fetch or
// m3u8-parser.

export interface UploadPackaging {
  mediaDir: string;
  limits: SourceLimits;
  placement: Placement;
  env: Record<string, string | undefined>;
}

export function packageUpload(opts: UploadPackaging): PackageJob {
  return async (videoId, source, signal, onProgress) => {
    try {
      await packageVideo(
        source,
        {
          id: videoId,
          publish: { to: 'local', mediaDir: opts.mediaDir },
          untrusted: opts.limits,
          placement: opts.placement,
          env: opts.env,
        },
        { signal, onProgress },
      );
    } catch (err) {
      if (err instanceof PackageError)
        throw new JobFailure({ code: err.code, reason: PACKAGE_FAILURES[err.code] }, err.detail);
      throw new JobFailure(
        { code: 'encode-failed', reason: PACKAGE_FAILURES['encode-failed'] },
        err instanceof Error ? err.message : String(err),
      );
    }
  };
}

import { HlsGateError } from '../server/core/errors.ts';

// Why packaging failed, as a code with a sentence that is safe to show a stranger (an uploader): never a server path
// and never a tool's own message, which can tell whether a file exists. The operator's detail (the tool's last
// error lines, a path) travels separately in `detail`, for the CLI and the gateway's event log.

export const PACKAGE_FAILURES = {
  'not-a-video':
    'The file is not an audio or video container hls-gate accepts (MP4/MOV, Matroska/WebM, MPEG-TS/PS, AVI, FLV, or MP3, AAC, WAV, FLAC, Ogg audio).',
  unreadable: 'The file could not be read as the container it claims to be.',
  'no-streams': 'The file holds neither video nor audio.',
  'too-long': 'The source is longer than the gateway accepts.',
  'frame-too-large': 'The video frame is larger than the gateway accepts.',
  'too-slow': "Packaging took longer than the source's duration allows and was stopped.",
  'output-too-large': "The packaged stream grew larger than the source's duration allows and was stopped.",
  'encode-failed': 'The video could not be transcoded.',
  'check-failed': 'The packaged stream did not pass its final check.',
  exists: 'A video with this ID is already published.',
  'publish-failed': 'The packaged stream could not be published.',
  'tools-missing': 'ffmpeg is not installed where the packager runs.',
  aborted: 'Packaging was stopped before it finished.',
} as const;

export type PackageFailure = keyof typeof PACKAGE_FAILURES;

/** A packaging failure: `code` and `message` are safe to show anyone; `detail` is for the operator only. */
export class PackageError extends HlsGateError<PackageFailure> {
  override readonly name = 'PackageError';
  constructor(
    code: PackageFailure,
    /** For the operator: what the tool said, which file. Never shown to an uploader. */
    readonly detail?: string,
  ) {
    super(code, PACKAGE_FAILURES[code]);
  }
}

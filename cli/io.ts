import { HlsGateError } from '../server/core/errors.ts';

// Small shared pieces of the CLI: usage errors (exit 2, one line, no stack trace) and output streams.
export class UsageError extends HlsGateError<'ERR_USAGE'> {
  override readonly name = 'UsageError';
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_USAGE', message, options);
  }
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** ms since the epoch */
  now: () => number;
  /** Progress bars only on a terminal. */
  stderrTty?: boolean;
  /** Long commands report how far they got (0..1), for callers that run them in-process (the upload queue). */
  onProgress?: (fraction: number) => void;
}

export const processIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  now: () => Date.now(),
  stderrTty: Boolean(process.stderr.isTTY),
};

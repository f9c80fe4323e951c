import type { Io } from '../io.ts';
export async function runFetchSegments(_argv: string[], io: Io): Promise<number> {
  io.stderr('fetch-segments: not built yet\n');
  return 2;
}

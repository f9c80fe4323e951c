import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { discover, PlaylistError } from '../cli/fetch-segments/discover.ts';
import { MASTER_PLAYLIST } from '../server/app/layout.ts';

// The packaged folder checked the way a player walks it: from master.m3u8, every playlist, init segment, key and
// segment the playlists name (parsed by the same walker as fetch-segments), each present, inside the folder, and
// well-formed: MPEG-TS sync bytes, fMP4 boxes, a 16-byte key, ciphertext in whole AES blocks.

export interface CheckResult {
  files: number;
  problems: string[];
}

const box = (b: Buffer, at: number) => b.subarray(at + 4, at + 8).toString('latin1');

export async function checkPackage(dir: string, encrypted: boolean): Promise<CheckResult> {
  const problems: string[] = [];
  const seen = new Set<string>();
  const queue = [{ url: pathToFileURL(join(dir, MASTER_PLAYLIST)).href, kind: 'playlist' as string }];
  while (queue.length > 0) {
    const { url, kind } = queue.shift()!;
    if (seen.has(url)) continue;
    seen.add(url);
    const file = fileURLToPath(url);
    const rel = relative(dir, file);
    if (rel.startsWith('..') || rel.includes(`..${sep}`)) {
      problems.push(`${rel}: outside the video folder`);
      continue;
    }
    const bytes = await readFile(file).catch(() => null);
    if (!bytes || bytes.length === 0) {
      problems.push(`${rel}: missing or empty`);
      continue;
    }
    if (kind === 'playlist') {
      try {
        for (const r of discover(bytes.toString('utf8'), url)) queue.push({ url: r.url, kind: r.kind });
      } catch (err) {
        problems.push(`${rel}: ${err instanceof PlaylistError ? err.message : 'not a playlist'}`);
      }
    } else if (kind === 'key') {
      if (bytes.length !== 16) problems.push(`${rel}: a key must be 16 bytes`);
    } else if (kind === 'init') {
      if (box(bytes, 0) !== 'ftyp') problems.push(`${rel}: not an fMP4 init segment (no ftyp box)`);
    } else if (encrypted) {
      if (bytes.length % 16 !== 0) problems.push(`${rel}: not whole AES-128 blocks`);
    } else if (rel.endsWith('.ts')) {
      if (bytes[0] !== 0x47 || bytes.length % 188 !== 0)
        problems.push(`${rel}: not MPEG-TS (sync byte or packet size)`);
    } else if (!['styp', 'moof'].includes(box(bytes, 0))) {
      problems.push(`${rel}: not an fMP4 media segment (no styp/moof box)`);
    }
  }
  return { files: seen.size, problems };
}

import { createCipheriv, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

// AES-128 for HLS (RFC 8216 section 4.3.2.4): each media segment encrypted whole with AES-128-CBC and PKCS#7
// padding; with no IV attribute, the IV is the segment's media sequence number as a 128-bit big-endian integer.
// Done here rather than by ffmpeg, whose HLS muxer (5.x) refuses to encrypt fMP4. Init segments stay clear (the
// key tag follows EXT-X-MAP), as the spec allows.

export const KEY_FILE = 'key.key';

/**
 * A fresh random key, written beside the renditions, so it is served, and gated, like them (readable by the gateway
 * as every media file is). Never printed or logged.
 */
export async function writeKey(videoDir: string): Promise<Buffer> {
  const key = randomBytes(16);
  await writeFile(join(videoDir, KEY_FILE), key);
  return key;
}

function ivFor(sequence: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(sequence), 8);
  return iv;
}

/** Encrypts every segment of one rendition playlist in place and adds the key tag (URI relative to the playlist). */
export async function encryptPlaylist(playlistPath: string, key: Buffer, keyUri: string): Promise<void> {
  const lines = (await readFile(playlistPath, 'utf8')).split('\n');
  let sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(lines.join('\n'))?.[1] ?? 0);
  const out: string[] = [];
  let tagged = false;
  for (const line of lines) {
    if (!tagged && line.startsWith('#EXTINF')) {
      out.push(`#EXT-X-KEY:METHOD=AES-128,URI="${keyUri}"`);
      tagged = true;
    }
    out.push(line);
    if (line && !line.startsWith('#')) {
      const file = join(dirname(playlistPath), line);
      const cipher = createCipheriv('aes-128-cbc', key, ivFor(sequence++));
      await writeFile(file, Buffer.concat([cipher.update(await readFile(file)), cipher.final()]));
    }
  }
  await writeFile(playlistPath, out.join('\n'));
}

import type { UploadRefusal } from './storage.ts';

// Checks an upload while it streams, before a byte is kept: its leading bytes must be a media container ffmpeg
// can package (a text file renamed .mp4 is refused however it is labelled), and it is cut off the moment it passes
// the size limit. Web-standard (a TransformStream), so Node and Workers share it.

export class UploadError extends Error {
  constructor(readonly reason: UploadRefusal) {
    super(reason);
    this.name = 'UploadError';
  }
}

const ascii = (b: Uint8Array, at: number, text: string) => [...text].every((ch, i) => b[at + i] === ch.charCodeAt(0));

/** Does this start like a video (or audio) container? ISO BMFF, Matroska/WebM, AVI, MPEG-TS/PS, FLV, and audio ones. */
export function looksLikeMedia(b: Uint8Array): boolean {
  if (b.length < 12) return false;
  if (['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip'].some((box) => ascii(b, 4, box))) return true; // MP4, MOV, M4A, 3GP
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return true; // Matroska, WebM
  if (ascii(b, 0, 'RIFF') && (ascii(b, 8, 'AVI ') || ascii(b, 8, 'WAVE'))) return true;
  if (b[0] === 0x47 && (b.length < 189 || b[188] === 0x47)) return true; // MPEG-TS sync bytes
  if (b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0xba) return true; // MPEG-PS
  if (ascii(b, 0, 'FLV') || ascii(b, 0, 'OggS') || ascii(b, 0, 'fLaC') || ascii(b, 0, 'ID3')) return true;
  return b[0] === 0xff && (b[1]! & 0xf0) === 0xf0; // ADTS AAC, MPEG audio frames
}

/** Passes the body through, refusing non-media leading bytes and anything past `maxBytes`. */
export function uploadGuard(maxBytes: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  let head: Uint8Array | null = new Uint8Array(0);
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > maxBytes) throw new UploadError('too-large');
      if (head) {
        // Hold the first bytes until the signature can be judged (the first chunk may be tiny).
        const joined = new Uint8Array(head.length + chunk.length);
        joined.set(head);
        joined.set(chunk, head.length);
        if (joined.length < 200) {
          head = joined;
          return;
        }
        if (!looksLikeMedia(joined)) throw new UploadError('not-a-video');
        head = null;
        controller.enqueue(joined);
        return;
      }
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (head) {
        if (!looksLikeMedia(head)) throw new UploadError('not-a-video');
        controller.enqueue(head);
      }
    },
  });
}

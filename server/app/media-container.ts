// Which container a file is, from its leading bytes alone, against an allow-list of real audio/video containers,
// and the ffmpeg demuxer that reads exactly that container. ffmpeg probes content, not names, and skips an ID3 tag
// before probing: an "upload" that is really an HLS playlist or a DASH manifest behind `ID3` or a TS sync byte would
// make it open every file the playlist names. The packager therefore forces the demuxer chosen here (`-f`), so a
// playlist, a manifest, a concat list, an image sequence or an SDP file is never read as one.
// Web-standard (bytes in, a name out): the upload route (Node and Workers) and the packager share it.

/** The demuxers a source may be read with (ffmpeg `-f` names); none of them can name another file or URL. */
export type Demuxer = 'mov' | 'matroska' | 'mpegts' | 'mpeg' | 'avi' | 'flv' | 'wav' | 'mp3' | 'aac' | 'flac' | 'ogg';

/** How many leading bytes `sniffContainer` wants: enough for 7 MPEG-TS packets (the sync byte every 188 bytes). */
export const SNIFF_BYTES = 7 * 188;

const TS_PACKET = 188;
const ascii = (b: Uint8Array, at: number, text: string) => [...text].every((ch, i) => b[at + i] === ch.charCodeAt(0));
const ISO_BOXES = ['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide'];

/**
 * MPEG-TS: a sync byte at the start of each of the first seven 188-byte packets. A file shorter than that (`b` is
 * then the whole file) must be whole packets, each with its sync byte: two sync bytes in front of a playlist are not
 * a transport stream.
 */
function isTransportStream(b: Uint8Array): boolean {
  if (b.length < SNIFF_BYTES && (b.length < 2 * TS_PACKET || b.length % TS_PACKET !== 0)) return false;
  const packets = Math.min(7, b.length / TS_PACKET);
  for (let i = 0; i < packets; i++) if (b[i * TS_PACKET] !== 0x47) return false;
  return true;
}

/**
 * The demuxer for a file that starts with `head` (pass exactly `SNIFF_BYTES`, or the whole file if shorter), or
 * null when it is not one of the allowed containers. An ID3 tag is accepted only in front of MP3 audio (forced to
 * the mp3 demuxer, which reads nothing else).
 */
export function sniffContainer(head: Uint8Array): Demuxer | null {
  if (head.length < 12) return null;
  // ISO BMFF (MP4, MOV, M4A, 3GP): a box type at offset 4 of a box whose size is at least its header.
  const size = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  if (ISO_BOXES.some((box) => ascii(head, 4, box)) && (size === 1 || size >= 8)) return 'mov';
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'matroska'; // EBML: Matroska, WebM
  if (head[0] === 0x47) return isTransportStream(head) ? 'mpegts' : null;
  if (head[0] === 0 && head[1] === 0 && head[2] === 1 && head[3] === 0xba) return 'mpeg'; // MPEG-PS pack header
  if (ascii(head, 0, 'RIFF')) return ascii(head, 8, 'AVI ') ? 'avi' : ascii(head, 8, 'WAVE') ? 'wav' : null;
  if (ascii(head, 0, 'FLV') && head[3] === 1) return 'flv';
  if (ascii(head, 0, 'fLaC')) return 'flac';
  if (ascii(head, 0, 'OggS')) return 'ogg';
  if (ascii(head, 0, 'ID3')) return 'mp3';
  if (head[0] === 0xff && (head[1]! & 0xf6) === 0xf0) return 'aac'; // ADTS: sync word, layer 00
  if (head[0] === 0xff && (head[1]! & 0xe0) === 0xe0 && (head[1]! & 0x06) !== 0) return 'mp3'; // MPEG audio frame
  return null;
}

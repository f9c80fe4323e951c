// A low-latency media playlist (draft-pantos-hls-rfc8216bis, https://datatracker.ietf.org/doc/draft-pantos-hls-rfc8216bis/)
// from what a rendition has written: complete segments in the window, the parts of the last few (section 6.2.2:
// parts are removed once more than three target durations from the end), the parts of the segment being written,
// the next part as a preload hint (4.4.5.3), the server's abilities (4.4.3.8: blocking reload, PART-HOLD-BACK at
// least three part targets, CAN-SKIP-UNTIL at least six target durations) and where the other renditions stand
// (4.4.5.4, EXT-X-RENDITION-REPORT). Version 9: CAN-SKIP-UNTIL and delta updates (section 7).

export interface PartEntry {
  name: string;
  duration: number;
  independent: boolean;
}

export interface SegmentEntry {
  msn: number;
  /** The whole segment's file, once complete. */
  name: string;
  duration: number;
  /** EXT-X-PROGRAM-DATE-TIME of its first sample, ms since the epoch. */
  programDateTime: number;
  parts: PartEntry[];
  /** The initialization segment it needs. */
  map: string;
  /** The encoder started again before it (EXT-X-DISCONTINUITY). */
  discontinuity: boolean;
}

export interface RenditionReport {
  uri: string;
  lastMsn: number;
  lastPart: number;
}

export interface LlPlaylist {
  targetDuration: number;
  partTarget: number;
  /** Complete segments in the window, oldest first. */
  segments: SegmentEntry[];
  /** The segment being written (its parts so far), if any. */
  open?: SegmentEntry;
  /** The next part's file, announced before it exists. */
  hint?: string;
  discontinuitySequence: number;
  /** Every segment is kept (an event playlist). */
  event: boolean;
  ended: boolean;
  reports: RenditionReport[];
}

/** Parts of complete segments are listed while they end within this many target durations of the playlist's end. */
export const PART_RETENTION_TARGETS = 3;

const secs = (n: number) => n.toFixed(5);

/** PART-TARGET as written: rounded up, so that no part is ever longer than it says. */
const partTargetOf = (seconds: number) => Math.ceil(seconds * 100_000) / 100_000;

/** The server-control line: blocking reload, how far behind a player should stay, how much a delta may skip. */
export function serverControl(targetDuration: number, partTarget: number): string {
  const holdBack = Math.ceil(partTargetOf(partTarget) * 3 * 1000) / 1000;
  return `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${holdBack},CAN-SKIP-UNTIL=${targetDuration * 6}`;
}

export function renderLlPlaylist(p: LlPlaylist): string {
  const first = p.segments[0] ?? p.open;
  const lines = ['#EXTM3U', '#EXT-X-VERSION:9', `#EXT-X-TARGETDURATION:${p.targetDuration}`];
  // A finished recording has no parts: nothing low-latency about it is left.
  if (!p.ended)
    lines.push(
      serverControl(p.targetDuration, p.partTarget),
      `#EXT-X-PART-INF:PART-TARGET=${partTargetOf(p.partTarget)}`,
    );
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? 0}`);
  if (p.discontinuitySequence > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`);
  if (p.event) lines.push('#EXT-X-PLAYLIST-TYPE:EVENT');
  lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  const total = p.segments.reduce((n, s) => n + s.duration, 0);
  let at = 0;
  let map: string | undefined;
  for (const s of p.segments) {
    map = segmentHead(lines, s, map);
    at += s.duration;
    if (!p.ended && total - at < PART_RETENTION_TARGETS * p.targetDuration) partLines(lines, s);
    lines.push(`#EXTINF:${secs(s.duration)},`, s.name);
  }
  if (p.open && p.open.parts.length > 0 && !p.ended) {
    segmentHead(lines, p.open, map);
    partLines(lines, p.open);
  }
  if (p.hint && !p.ended) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${p.hint}"`);
  if (!p.ended)
    for (const r of p.reports)
      lines.push(`#EXT-X-RENDITION-REPORT:URI="${r.uri}",LAST-MSN=${r.lastMsn},LAST-PART=${r.lastPart}`);
  if (p.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** The tags before a segment: a discontinuity, its initialization segment when it changes, its date. */
function segmentHead(lines: string[], s: SegmentEntry, map: string | undefined): string {
  // Written before the first segment too: EXT-X-DISCONTINUITY-SEQUENCE counts only the tags already gone.
  if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
  if (s.map !== map) lines.push(`#EXT-X-MAP:URI="${s.map}"`);
  lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTime).toISOString()}`);
  return s.map;
}

function partLines(lines: string[], s: SegmentEntry): void {
  for (const part of s.parts)
    lines.push(
      `#EXT-X-PART:DURATION=${secs(part.duration)},URI="${part.name}"${part.independent ? ',INDEPENDENT=YES' : ''}`,
    );
}

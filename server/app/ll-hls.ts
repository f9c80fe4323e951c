// Low-latency HLS delivery directives, read from the playlist itself (draft-pantos-hls-rfc8216bis, section 6.2.5:
// https://datatracker.ietf.org/doc/html/draft-pantos-hls-rfc8216bis#section-6.2.5). Pure text in, verdicts out:
// the same on every runtime; holding a request is blocking-reload.ts.

/** What a media playlist says about where it stands, for the delivery directives. */
export interface LlState {
  ended: boolean;
  targetDuration: number;
  /** EXT-X-PART-INF PART-TARGET; 0 when the playlist has no parts. */
  partTarget: number;
  canBlockReload: boolean;
  /** EXT-X-SERVER-CONTROL CAN-SKIP-UNTIL, seconds; 0 when delta updates are not offered. */
  skipUntil: number;
  /** The Media Sequence Number of the last complete segment; mediaSequence - 1 when there is none. */
  lastMsn: number;
  /** Parts listed after the last complete segment: those of segment lastMsn + 1. */
  openParts: number;
  /** Parts listed for complete segments (the last few keep theirs). */
  partsOf: ReadonlyMap<number, number>;
  /** EXT-X-PRELOAD-HINT TYPE=PART URI. */
  hint?: string;
}

export interface Directives {
  /** _HLS_msn: hold until this segment (or a part of it, with `part`) is in the playlist. */
  msn?: number;
  part?: number;
  /** _HLS_skip=YES (or v2): a delta update. */
  skip: boolean;
}

/** The delivery directives (RFC 8216bis 6.2.5): a CDN in front must keep them in its cache key for low-latency playlists. */
export const DIRECTIVE_NAMES = ['_HLS_msn', '_HLS_part', '_HLS_skip'] as const;
const DECIMAL = /^\d{1,15}$/;

/**
 * The delivery directives of a playlist request: null when there are none, a sentence when they cannot be read
 * (section 6.2.5.2: `_HLS_part` without `_HLS_msn` MUST be refused; a number that is not a decimal integer, or a
 * directive given twice, is not a request any client makes).
 */
export function readDirectives(params: URLSearchParams): Directives | string | null {
  const values: Partial<Record<(typeof DIRECTIVE_NAMES)[number], string>> = {};
  for (const name of DIRECTIVE_NAMES) {
    const all = params.getAll(name);
    if (all.length > 1) return `${name} is given more than once.`;
    if (all.length === 1) values[name] = all[0]!;
  }
  if (Object.keys(values).length === 0) return null;
  const { _HLS_msn: msn, _HLS_part: part, _HLS_skip: skip } = values;
  if (msn !== undefined && !DECIMAL.test(msn)) return '_HLS_msn must be a decimal integer.';
  if (part !== undefined && !DECIMAL.test(part)) return '_HLS_part must be a decimal integer.';
  if (part !== undefined && msn === undefined) return '_HLS_part needs _HLS_msn (RFC 8216bis section 6.2.5.2).';
  if (skip !== undefined && skip !== 'YES' && skip !== 'v2') return '_HLS_skip must be YES or v2.';
  return {
    ...(msn !== undefined ? { msn: Number(msn) } : {}),
    ...(part !== undefined ? { part: Number(part) } : {}),
    skip: skip !== undefined,
  };
}

const ATTR = (name: string) => new RegExp(`[:,]${name}=([^,\\s]*)`);

/**
 * Where a playlist version stands, read once however many held requests judge it (a hub answers thousands with the
 * same version).
 */
const states = new WeakMap<object, LlState>();
export function llStateOf(version: { text: string }): LlState {
  let state = states.get(version);
  if (!state) states.set(version, (state = llState(version.text)));
  return state;
}

/** Where a media playlist stands, from its lines. */
export function llState(text: string): LlState {
  let mediaSequence = 0;
  let segments = 0;
  let parts = 0;
  const partsOf = new Map<number, number>();
  const state: Omit<LlState, 'lastMsn' | 'openParts' | 'partsOf'> = {
    ended: false,
    targetDuration: 0,
    partTarget: 0,
    canBlockReload: false,
    skipUntil: 0,
  };
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '') continue;
    if (!line.startsWith('#')) {
      if (parts > 0) partsOf.set(mediaSequence + segments, parts);
      segments += 1;
      parts = 0;
    } else if (line.startsWith('#EXT-X-PART:')) parts += 1;
    else if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) mediaSequence = Number(line.slice(22)) || 0;
    else if (line.startsWith('#EXT-X-SKIP:')) segments += Number(ATTR('SKIPPED-SEGMENTS').exec(line)?.[1]) || 0;
    else if (line.startsWith('#EXT-X-TARGETDURATION:')) state.targetDuration = Number(line.slice(22)) || 0;
    else if (line.startsWith('#EXT-X-PART-INF:')) state.partTarget = Number(ATTR('PART-TARGET').exec(line)?.[1]) || 0;
    else if (line.startsWith('#EXT-X-SERVER-CONTROL:')) {
      state.canBlockReload = ATTR('CAN-BLOCK-RELOAD').exec(line)?.[1] === 'YES';
      state.skipUntil = Number(ATTR('CAN-SKIP-UNTIL').exec(line)?.[1]) || 0;
    } else if (line.startsWith('#EXT-X-PRELOAD-HINT:') && ATTR('TYPE').exec(line)?.[1] === 'PART') {
      const uri = /URI="([^"]*)"/.exec(line)?.[1];
      if (uri) state.hint = uri;
    } else if (line === '#EXT-X-ENDLIST') state.ended = true;
  }
  return { ...state, lastMsn: mediaSequence + segments - 1, openParts: parts, partsOf };
}

/**
 * Whether the playlist already holds what the directives ask for, must be waited for, or is asked too far ahead
 * (section 6.2.5.2: more than two segments past the last one, or more parts ahead than the Advance Part Limit, 3 / PART-TARGET when
 * that is under a second, else 3: answered 400 at once).
 */
export function directiveVerdict(s: LlState, d: Directives): 'ready' | 'wait' | 'too-far' {
  // A finished playlist ignores the directives (section 6.2.5.2); so does a request that asks for nothing to wait on.
  if (s.ended || d.msn === undefined) return 'ready';
  if (d.msn > s.lastMsn + 2) return 'too-far';
  if (d.part !== undefined && partsAhead(s, d.msn, d.part) > advancePartLimit(s.partTarget)) return 'too-far';
  return holds(s, d.msn, d.part) ? 'ready' : 'wait';
}

function advancePartLimit(partTarget: number): number {
  // PART-TARGET is written rounded up (0.33334 for a third of a second): three seconds of such parts is 9, not 8.9998.
  return partTarget > 0 && partTarget < 1 ? Math.round(3 / partTarget) : 3;
}

/** How many parts past the playlist's last one part `part` of segment `msn` is (estimated for later segments). */
function partsAhead(s: LlState, msn: number, part: number): number {
  const open = s.lastMsn + 1;
  const perSegment = s.partTarget > 0 ? Math.ceil(s.targetDuration / s.partTarget) : 1;
  if (msn <= s.lastMsn) return 0;
  return (msn - open) * perSegment + part - (s.openParts - 1);
}

/** The playlist holds segment `msn` (or its part `part`) or something later. */
function holds(s: LlState, msn: number, part: number | undefined): boolean {
  if (msn <= s.lastMsn) {
    if (part === undefined) return true;
    const listed = s.partsOf.get(msn);
    // A part index past a segment's last part means part 0 of the next segment (section 6.2.5.2).
    if (listed !== undefined && part >= listed) return holds(s, msn + 1, 0);
    return true;
  }
  if (msn === s.lastMsn + 1 && part !== undefined) return s.openParts > part;
  return false;
}

const SEGMENT_TAGS = /^#(?:EXTINF|EXT-X-(?:PROGRAM-DATE-TIME|DISCONTINUITY|MAP|KEY|BYTERANGE|PART|GAP|BITRATE)(?::|$))/;

/**
 * A delta update (section 6.2.5.1 and 4.4.5.2): the segments whose end is at least CAN-SKIP-UNTIL before the end of
 * the playlist replaced by one EXT-X-SKIP. What applies to the first segment kept (its EXT-X-MAP, EXT-X-KEY) is
 * repeated before it; nothing is skipped across a discontinuity, so the discontinuity count stays right. Null when
 * the playlist offers no delta updates or nothing can be skipped: the full playlist is the answer.
 */
export function deltaUpdate(text: string, s: LlState): string | null {
  if (s.skipUntil <= 0 || s.ended) return null;
  const lines = text.split('\n');
  const segments = segmentSpans(lines);
  const total = segments.reduce((n, seg) => n + seg.duration, 0);
  let end = 0;
  let skip = 0;
  for (const seg of segments) {
    if (seg.discontinuity && skip > 0) break;
    end += seg.duration;
    if (total - end < s.skipUntil) break;
    skip += 1;
  }
  if (skip === 0) return null;
  const first = segments[0]!;
  const kept = segments[skip]!;
  // The last EXT-X-MAP and EXT-X-KEY of the skipped segments still apply to the first one kept, unless it has its own.
  const applying = new Map<string, string>();
  for (const l of lines.slice(first.from, kept.uri))
    if (/^#EXT-X-(?:MAP|KEY):/.test(l)) applying.set(l.slice(0, 10), l);
  for (const l of lines.slice(kept.from, kept.uri)) applying.delete(l.slice(0, 10));
  const repeat = [...applying.values()];
  return [
    ...lines.slice(0, first.from),
    `#EXT-X-SKIP:SKIPPED-SEGMENTS=${skip}`,
    ...repeat,
    ...lines.slice(kept.from),
  ].join('\n');
}

interface SegmentSpan {
  /** First line of its tags. */
  from: number;
  /** Its URI line. */
  uri: number;
  duration: number;
  discontinuity: boolean;
}

function segmentSpans(lines: string[]): SegmentSpan[] {
  const out: SegmentSpan[] = [];
  let from = -1;
  let duration = 0;
  let discontinuity = false;
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    if (SEGMENT_TAGS.test(line)) {
      if (from < 0) from = i;
      if (line.startsWith('#EXTINF:')) duration = Number(line.slice(8).split(',')[0]) || 0;
      if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    } else if (line !== '' && !line.startsWith('#')) {
      out.push({ from: from < 0 ? i : from, uri: i, duration, discontinuity });
      from = -1;
      duration = 0;
      discontinuity = false;
    }
  });
  return out;
}

/**
 * The playlist for storage that cannot hold a request (R2 on Workers): CAN-BLOCK-RELOAD=YES removed, so a player
 * polls instead of sending directives this gateway would answer at once (section 4.4.3.8: a client sends them only
 * when the server says it can block).
 */
export function withoutBlockingReload(text: string): string {
  return text.replace(/^#EXT-X-SERVER-CONTROL:([^\r\n]*)(\r?\n?)/m, (_line, attrs: string, end: string) => {
    const kept = attrs.split(',').filter((a) => a.trim() !== 'CAN-BLOCK-RELOAD=YES');
    return kept.length > 0 ? `#EXT-X-SERVER-CONTROL:${kept.join(',')}${end}` : '';
  });
}

// The delivery-directive rules of draft-pantos-hls-rfc8216bis section 6.2.5, on playlist text alone: what is ready,
// what waits, what is too far ahead; delta updates; striking blocking reload for storage that cannot hold.
import { describe, expect, it } from 'vitest';
import {
  deltaUpdate,
  directiveVerdict,
  llState,
  readDirectives,
  withoutBlockingReload,
} from '../../server/app/ll-hls.ts';

/** Segments 10..13 complete (4 parts each listed for the last two), segment 14 with `open` parts so far. */
function playlist(open: number, opts: { ended?: boolean; discontinuityAt?: number } = {}): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:9',
    '#EXT-X-TARGETDURATION:2',
    '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5,CAN-SKIP-UNTIL=12',
    '#EXT-X-PART-INF:PART-TARGET=0.5',
    '#EXT-X-MEDIA-SEQUENCE:10',
    '#EXT-X-MAP:URI="init.mp4"',
  ];
  for (let msn = 10; msn < 20; msn++) {
    if (opts.discontinuityAt === msn) lines.push('#EXT-X-DISCONTINUITY');
    if (msn >= 18) for (let p = 0; p < 4; p++) lines.push(`#EXT-X-PART:DURATION=0.5,URI="s${msn}.${p}.m4s"`);
    lines.push('#EXTINF:2.0,', `s${msn}.m4s`);
  }
  for (let p = 0; p < open; p++) lines.push(`#EXT-X-PART:DURATION=0.5,URI="s20.${p}.m4s"`);
  lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="s20.${open}.m4s"`);
  if (opts.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

describe('where a playlist stands', () => {
  it("counts complete segments, the open segment's parts, the hint and the server control", () => {
    const s = llState(playlist(2));
    expect(s).toMatchObject({ lastMsn: 19, openParts: 2, hint: 's20.2.m4s', canBlockReload: true, skipUntil: 12 });
    expect(s.partTarget).toBe(0.5);
    expect(s.partsOf.get(19)).toBe(4);
  });
});

describe('a directive is ready, waits, or is too far ahead (6.2.5.2)', () => {
  const s = llState(playlist(2));
  it.each([
    [{ msn: 19 }, 'ready'],
    [{ msn: 20 }, 'wait'], // segment 20 is not complete
    [{ msn: 20, part: 1 }, 'ready'],
    [{ msn: 20, part: 2 }, 'wait'],
    [{ msn: 19, part: 3 }, 'ready'],
    [{ msn: 19, part: 4 }, 'ready'], // past segment 19's last part: part 0 of segment 20, which exists
    [{ msn: 21 }, 'wait'], // two past the last complete segment is still waited for
    [{ msn: 22 }, 'too-far'],
    [{ msn: 20, part: 7 }, 'wait'], // 6 parts ahead of the last (part 1): the limit is 3 / 0.5 = 6
    [{ msn: 20, part: 8 }, 'too-far'],
  ] as const)('%o is %s', (d, verdict) => {
    expect(directiveVerdict(s, { ...d, skip: false })).toBe(verdict);
  });
  it('ignores directives on a finished playlist', () => {
    expect(directiveVerdict(llState(playlist(0, { ended: true })), { msn: 99, skip: false })).toBe('ready');
  });
});

describe('reading directives', () => {
  it.each([
    ['_HLS_part=1', /needs _HLS_msn/],
    ['_HLS_msn=-1', /decimal integer/],
    ['_HLS_msn=1&_HLS_msn=1', /more than once/],
    ['_HLS_skip=yes', /YES or v2/],
  ])('refuses %s', (query, message) => {
    expect(readDirectives(new URLSearchParams(query))).toMatch(message);
  });
  it('reads a blocking delta request and ignores everything else', () => {
    expect(readDirectives(new URLSearchParams('Policy=x&_HLS_msn=5&_HLS_part=2&_HLS_skip=YES'))).toEqual({
      msn: 5,
      part: 2,
      skip: true,
    });
    expect(readDirectives(new URLSearchParams('Policy=x'))).toBeNull();
  });
});

describe('a delta update (6.2.5.1)', () => {
  it('skips what is more than CAN-SKIP-UNTIL from the end, keeps the rest exactly, repeats the map', () => {
    const full = playlist(2);
    const delta = deltaUpdate(full, llState(full))!;
    // 20 s of segments: those ending more than 12 s before the end (10, 11, 12, 13) go.
    expect(delta).toContain('#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2.0,\ns14.m4s');
    expect(delta.split('#EXT-X-SKIP')[0]).toBe(full.split('#EXT-X-MAP')[0]);
    expect(delta.split('s14.m4s')[1]).toBe(full.split('s14.m4s')[1]);
    expect(llState(delta).lastMsn).toBe(19);
  });
  it('never skips across a discontinuity, and offers nothing without CAN-SKIP-UNTIL', () => {
    const full = playlist(2, { discontinuityAt: 12 });
    expect(deltaUpdate(full, llState(full))).toContain('SKIPPED-SEGMENTS=2\n');
    const plain = full.replace(',CAN-SKIP-UNTIL=12', '');
    expect(deltaUpdate(plain, llState(plain))).toBeNull();
  });
});

describe('storage that cannot hold a request', () => {
  it('strikes CAN-BLOCK-RELOAD=YES and keeps the rest of the line', () => {
    expect(withoutBlockingReload(playlist(1))).toContain(
      '#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=1.5,CAN-SKIP-UNTIL=12\n',
    );
    expect(withoutBlockingReload('#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n#EXTINF:2,\na.ts\n')).toBe(
      '#EXTM3U\n#EXTINF:2,\na.ts\n',
    );
  });
});

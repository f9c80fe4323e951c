// The token goes only on URIs that every common parser resolves into the video's folder on the same origin. For
// generated hostile playlists (backslashes, `@`, tabs and line breaks of every kind, %2f / %5c / %2e, `../`,
// `//host`, userinfo, IPv6 literals, mixed-case schemes, quotes and `URI=` inside other attributes...), the
// tokenized output is read the way real clients read it: lines split at LF only (hls-gate), also at a lone CR and
// NUL (ffmpeg), also at U+2028 / U+2029 (JavaScript regular expressions: hls.js), also at NEL, VT and FF (Foundation);
// tag attributes parsed strictly, the way ffmpeg does (backslash escapes in quotes), and the way hls.js does (its
// attribute regex, applied from any `#EXT...:` in the line). Every URI that carries the token must resolve inside
// `/videos/<id>/` on the same origin, to the same path, both for WHATWG (`new URL`) and for RFC 3986 section 5.2
// reference resolution (section 3 parsing via appendix B; a backslash is a plain character, tabs are not stripped).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tokenizePlaylist } from '../../server/app/tokenize.ts';

const TOKEN = 'Policy=eyJ9fQ__&Signature=abc~def-123_&Key-Pair-Id=KTESTPAIR';
const MARK = 'Key-Pair-Id=KTESTPAIR';

interface Base {
  playlist: string;
  folder: string;
}
const BASES: Base[] = [
  { playlist: 'http://127.0.0.1:18202/videos/abc/720p/index.m3u8', folder: 'http://127.0.0.1:18202/videos/abc/' },
  { playlist: 'https://media.example.com/videos/abc/index.m3u8', folder: 'https://media.example.com/videos/abc/' },
  { playlist: 'http://[::1]:8080/media/videos/abc/a/b/index.m3u8', folder: 'http://[::1]:8080/media/videos/abc/' },
];

// ---- RFC 3986 --------------------------------------------------------------------------------------------------

interface Ref {
  scheme?: string;
  authority?: string;
  path: string;
  query?: string;
  fragment?: string;
}

/** RFC 3986 appendix B (the section 3 components), over any characters: nothing stripped, `\` an ordinary one. */
function parse(s: string): Ref {
  const m = /^(?:([^:/?#]+):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#([\s\S]*))?$/.exec(s)!;
  const ref: Ref = { path: m[3]! };
  if (m[1] !== undefined) ref.scheme = m[1];
  if (m[2] !== undefined) ref.authority = m[2];
  if (m[4] !== undefined) ref.query = m[4];
  if (m[5] !== undefined) ref.fragment = m[5];
  return ref;
}

/** RFC 3986 section 5.2.4. */
function removeDotSegments(path: string): string {
  let input = path;
  let output = '';
  while (input.length > 0) {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../')) {
      input = input.slice(3);
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '/..') {
      input = '/';
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', input.startsWith('/') ? 1 : 0);
      const seg = next < 0 ? input : input.slice(0, next);
      output += seg;
      input = input.slice(seg.length);
    }
  }
  return output;
}

/** RFC 3986 section 5.2.2 (strict: a scheme in the reference is never dropped), with 5.2.3 merge. */
function resolve(reference: string, baseUri: string): Ref {
  const r = parse(reference);
  const base = parse(baseUri);
  const t: Ref = { path: '' };
  if (r.scheme !== undefined) {
    t.scheme = r.scheme;
    if (r.authority !== undefined) t.authority = r.authority;
    t.path = removeDotSegments(r.path);
    if (r.query !== undefined) t.query = r.query;
  } else {
    if (r.authority !== undefined) {
      t.authority = r.authority;
      t.path = removeDotSegments(r.path);
      if (r.query !== undefined) t.query = r.query;
    } else {
      if (r.path === '') {
        t.path = base.path;
        if (r.query !== undefined) t.query = r.query;
        else if (base.query !== undefined) t.query = base.query;
      } else {
        if (r.path.startsWith('/')) t.path = removeDotSegments(r.path);
        else {
          const merged =
            base.authority !== undefined && base.path === ''
              ? `/${r.path}`
              : `${base.path.slice(0, base.path.lastIndexOf('/') + 1)}${r.path}`;
          t.path = removeDotSegments(merged);
        }
        if (r.query !== undefined) t.query = r.query;
      }
      if (base.authority !== undefined) t.authority = base.authority;
    }
    if (base.scheme !== undefined) t.scheme = base.scheme;
  }
  if (r.fragment !== undefined) t.fragment = r.fragment;
  return t;
}

/** The path `uri` names inside the base's folder on the base's origin, per RFC 3986, or null when it is elsewhere. */
function rfcInside(uri: string, base: Base): string | null {
  const t = resolve(uri, base.playlist);
  const folder = parse(base.folder);
  if (t.scheme !== folder.scheme || t.authority !== folder.authority || !t.path.startsWith(folder.path)) return null;
  return t.path;
}

/** The same per WHATWG URL. */
function whatwgInside(uri: string, base: Base): string | null {
  let u: URL;
  try {
    u = new URL(uri, base.playlist);
  } catch {
    return null;
  }
  const folder = new URL(base.folder);
  if (u.origin !== folder.origin || u.username !== '' || u.password !== '' || !u.pathname.startsWith(folder.pathname))
    return null;
  return u.pathname;
}

// ---- How clients read a playlist -------------------------------------------------------------------------------

const READINGS: Record<string, RegExp> = {
  'LF (hls-gate)': /\r?\n/,
  'CR, LF, NUL (ffmpeg)': /\r\n|[\r\n\0]/,
  'CR, LF, U+2028, U+2029 (hls.js)': /\r\n|[\r\n\u2028\u2029]/,
  'CR, LF, U+2028, U+2029, NEL, VT, FF (Foundation)': /\r\n|[\r\n\u2028\u2029\u0085\v\f]/,
};

const isSpace = (c: string | undefined) => c !== undefined && ' \t\n\v\f\r'.includes(c);

/** ffmpeg's ff_parse_key_value: keys up to `=`, quoted values with backslash escapes, else up to space or comma. */
function ffmpegAttributes(s: string): [string, string][] {
  const out: [string, string][] = [];
  let p = 0;
  for (;;) {
    while (p < s.length && (isSpace(s[p]) || s[p] === ',')) p++;
    if (p >= s.length) break;
    const eq = s.indexOf('=', p);
    if (eq < 0) break;
    const key = s.slice(p, eq);
    p = eq + 1;
    let value = '';
    if (s[p] === '"') {
      p++;
      while (p < s.length && s[p] !== '"') {
        if (s[p] === '\\') {
          if (p + 1 >= s.length) break;
          value += s[p + 1];
          p += 2;
        } else value += s[p++];
      }
      if (s[p] === '"') p++;
    } else {
      while (p < s.length && !(isSpace(s[p]) || s[p] === ',')) value += s[p++];
    }
    out.push([key, value]);
  }
  return out;
}

/** hls.js's AttrList.parseAttrList. */
function hlsjsAttributes(s: string): [string, string][] {
  const out: [string, string][] = [];
  for (const m of s.matchAll(/(.+?)=(".*?"|.*?)(?:,|$)/g)) {
    const value = m[2]!;
    out.push([
      m[1]!.trim(),
      value.startsWith('"') && value.endsWith('"') && value.length > 1 ? value.slice(1, -1) : value,
    ]);
  }
  return out;
}

/** Every URI a client reading `line` may request: the line itself, or the URI attributes of any tag in it. */
function urisOf(line: string): string[] {
  if (line.length === 0) return [];
  if (!line.startsWith('#')) {
    // ffmpeg keeps leading whitespace and drops trailing; hls.js drops leading spaces.
    let end = line.length;
    while (end > 0 && isSpace(line[end - 1])) end--;
    return [line.slice(0, end), line.replace(/^ +/, '')];
  }
  const uris: string[] = [];
  // The tag at the start of the line (ffmpeg, strict readers), and any `#EXT...:` further in (hls.js's unanchored
  // tag regexes).
  for (let at = line.indexOf('#EXT'); at >= 0; at = line.indexOf('#EXT', at + 1)) {
    const colon = line.indexOf(':', at);
    if (colon < 0) break;
    const attrs = line.slice(colon + 1);
    for (const [k, v] of [...ffmpegAttributes(attrs), ...hlsjsAttributes(attrs)]) if (k === 'URI') uris.push(v);
    // ExoPlayer: URI="(.+?)" anywhere in the tag.
    for (const m of attrs.matchAll(/URI="(.+?)"/g)) uris.push(m[1]!);
  }
  return uris;
}

/** Asserts that every URI carrying the token, in every reading of `out`, is inside the folder for both parsers. */
function assertContained(out: string, base: Base): void {
  for (const [reading, sep] of Object.entries(READINGS)) {
    for (const line of out.split(sep)) {
      for (const uri of urisOf(line)) {
        if (!uri.includes(MARK)) continue;
        const rfc = rfcInside(uri, base);
        const whatwg = whatwgInside(uri, base);
        expect(rfc, `${reading}: RFC 3986 resolves ${JSON.stringify(uri)} outside ${base.folder}`).not.toBeNull();
        expect(whatwg, `${reading}: WHATWG resolves ${JSON.stringify(uri)} outside ${base.folder}`).not.toBeNull();
        expect(whatwg, `${reading}: the parsers disagree on ${JSON.stringify(uri)}`).toBe(rfc);
      }
    }
  }
}

// ---- Hostile URIs ----------------------------------------------------------------------------------------------

const PREFIXES = [
  '',
  '',
  '',
  'http://127.0.0.1:18202',
  'https://media.example.com',
  'http://[::1]:8080',
  'HTTP://127.0.0.1:18202',
  'Https://media.example.com',
  'http://127.0.0.1:18202\\@evil.test:18290',
  'http://127.0.0.1:18202\t@evil.test',
  'http://127.0.0.1:18202\\\t@evil.test',
  'http:\\\\127.0.0.1:18202\\@evil.test',
  'https://media.example.com\\@evil.test',
  'http://[::1]:8080\\@evil.test',
  'http://[::1]:8080\\@[::2]:8080',
  '//evil.test',
  '\\\\evil.test',
  '/\\evil.test',
  '\\/evil.test',
  '/\t/evil.test',
  '\t//evil.test',
  ' //evil.test',
  'http:evil.test',
  'http:/evil.test',
  'http://user:pw@127.0.0.1:18202',
  'http://127.0.0.1:18202@evil.test',
  'http://evil.test#@127.0.0.1:18202',
  'http://evil.test?@127.0.0.1:18202',
  'http://127.0.0.1:18202:80',
  'http://127.0.0.1.:18202',
  'http://127.1:18202',
  'http://[::ffff:127.0.0.1]:18202',
  'https://media.example.com:443',
  'https://MEDIA.example.com',
  'https://media.example.com.',
  'javascript:',
  'data:,',
  'file:///',
  'h\ttp://evil.test',
  'ht\rtp://evil.test',
  '%2f%2fevil.test',
  '/%2fevil.test',
  '/%5cevil.test',
  '%5c%5cevil.test',
  '/videos/abc',
  '/media/videos/abc',
  '/videos/abcd',
  '..',
  '.',
  '\u00a0',
  '\ufeff',
  'seg.ts\r',
  'a.ts\u2028',
  'x\u0085',
];
const PIECES = [
  '/',
  '/',
  '//',
  '\\',
  '../',
  '..\\',
  './',
  '%2e%2e/',
  '.%2e/',
  '%2E./',
  '%2e/',
  '%2f',
  '%2F',
  '%5c',
  '%5C',
  '%25',
  '%252e',
  '%00',
  '%0a',
  '%20',
  '%40',
  '%3a',
  '%zz',
  '%',
  '@',
  ':',
  '\t',
  '\r',
  '\n',
  '\u2028',
  '\u2029',
  '\u0085',
  '\v',
  '\0',
  ' ',
  '?',
  '#',
  ';',
  ',',
  '"',
  '\\"',
  'URI="',
  'URI=',
  '=',
  '&',
  'abc/',
  'videos/',
  'abc',
  '720p/',
  'seg.ts',
  'x',
  'évil',
  '{$v}',
  '[',
  ']',
  '//evil.test/',
  'evil.test',
  '#EXT-X-MAP:URI=',
  '#EXTINF:2,',
  '#EXT-X-MEDIA:URI="',
];

const uri = fc
  .tuple(fc.constantFrom(...PREFIXES), fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }))
  .map(([p, xs]) => p + xs.join(''));
const sep = fc.constantFrom('\r', '\u2028', '\u0085', '\0', '\v', '\f', '\u2029', '');

const line = fc.oneof(
  uri,
  uri.map((u) => ` ${u}`),
  uri.map((u) => `${u} \t`),
  uri.map((u) => `#EXT-X-MAP:URI="${u}"`),
  uri.map((u) => `#EXT-X-MAP:URI="${u}",BYTERANGE="720@0"`),
  uri.map((u) => `#EXT-X-KEY:METHOD=AES-128,URI="${u}",IV=0x1`),
  uri.map((u) => `#EXT-X-KEY:METHOD=AES-128, URI="${u}"`),
  uri.map((u) => `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="x",URI="${u}"`),
  uri.map((u) => `#EXT-X-PART:DURATION=1,URI=${u}`),
  fc.tuple(uri, uri).map(([a, b]) => `#EXT-X-MAP:X="${a}",URI="${b}"`),
  fc.tuple(uri, uri).map(([a, b]) => `#EXT-X-SESSION-DATA:DATA-ID="${a}",URI="${b}"`),
  fc.tuple(uri, uri, sep).map(([a, b, s]) => `#EXT-X-PRELOAD-HINT:TYPE=PART${s}#EXTINF:2,${s}${a},URI="${b}"`),
  fc.tuple(uri, uri, sep).map(([a, b, s]) => `#EXT-X-RENDITION-REPORT:URI="${b}"${s}${a}`),
  fc.tuple(uri, uri, sep).map(([a, b, s]) => `${b}${s}${a}`),
  fc.tuple(uri, sep).map(([a, s]) => `#EXTINF:2,title${s}${a}`),
  fc.constantFrom(
    'seg.ts',
    '../720p/index.m3u8',
    '#EXT-X-MAP:URI="init.mp4"',
    'http://127.0.0.1:18202/videos/abc/x.ts',
    '/videos/abc/x.ts',
    '#EXTINF:4.0,',
    '',
    '#EXT-X-ENDLIST',
  ),
);

describe('tokenized playlists, read by every common parser', () => {
  it('property: every URI that gets the token resolves inside the video folder, to the same path, per WHATWG and RFC 3986, in every reading', () => {
    let tokenized = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...BASES),
        fc.array(line, { minLength: 1, maxLength: 12 }),
        fc.constantFrom('\n', '\r\n'),
        (base, lines, eol) => {
          const text = ['#EXTM3U', ...lines].join(eol);
          const out = tokenizePlaylist(text, base.playlist, base.folder, TOKEN);
          if (out.includes(MARK)) tokenized++;
          assertContained(out, base);
        },
      ),
      { numRuns: 3000 },
    );
    expect(tokenized).toBeGreaterThan(100); // the property is not vacuous: many playlists got tokens
  });

  it('hostile or ambiguous URIs are left alone; plain ones of the video still get the token', () => {
    const leak = {
      playlist: 'http://127.0.0.1:18202/videos/leak/index.m3u8',
      folder: 'http://127.0.0.1:18202/videos/leak/',
    };
    for (const u of [
      'http://127.0.0.1:18202\\@other:18290/../videos/leak/b.ts',
      'http://127.0.0.1:18202\\\t@other:18290/../videos/leak/b.ts',
      'http://127.0.0.1:18202\t\\@other:18290/../videos/leak/b.ts',
      'http:\\\\127.0.0.1:18202\\@other:18290/../videos/leak/b.ts',
      '/\\other:18290/videos/leak/b.ts',
      'seg.ts\r//other:18290/videos/leak/b.ts',
      '%2e%2e/%2e%2e/leak/b.ts',
      'HTTP://127.0.0.1:18202/videos/leak/b.ts',
      'http://user@127.0.0.1:18202/videos/leak/b.ts',
      '//127.0.0.1:18202/videos/leak/b.ts',
      '../leak/b.ts',
      'a/../b.ts',
      'b.ts;x',
      'b%2fc.ts',
    ]) {
      for (const text of [`#EXTM3U\n${u}\n`, `#EXTM3U\n#EXT-X-MAP:URI="${u}"\n`])
        expect(tokenizePlaylist(text, leak.playlist, leak.folder, TOKEN)).toBe(text);
    }
    expect(
      tokenizePlaylist(
        '#EXT-X-PRELOAD-HINT:TYPE=PART\r#EXTINF:2,\r//other/x.ts,URI="b.ts",X=a.ts\n',
        leak.playlist,
        leak.folder,
        TOKEN,
      ),
    ).not.toContain(MARK);
    expect(
      tokenizePlaylist(
        '#EXT-X-SESSION-DATA:DATA-ID="#EXT-X-MAP:URI=",URI="b.json"\n',
        leak.playlist,
        leak.folder,
        TOKEN,
      ),
    ).not.toContain(MARK);
    expect(tokenizePlaylist('#EXT-X-MAP:URI="a.mp4",URI="b.mp4"\n', leak.playlist, leak.folder, TOKEN)).not.toContain(
      MARK,
    );
    expect(tokenizePlaylist('#EXT-X-MAP:X="a\\",URI="b.mp4"\n', leak.playlist, leak.folder, TOKEN)).not.toContain(MARK);

    const base = BASES[0]!;
    for (const [u, expected] of [
      ['seg.ts', `seg.ts?${TOKEN}`],
      ['./seg.ts', `./seg.ts?${TOKEN}`],
      ['../360p/index.m3u8', `../360p/index.m3u8?${TOKEN}`],
      ['seg%20one.ts', `seg%20one.ts?${TOKEN}`],
      ["a-b_c~d!$&'()*+,=.ts?x=1&y=/z?", `a-b_c~d!$&'()*+,=.ts?x=1&y=/z?&${TOKEN}`],
      ['/videos/abc/720p/seg.ts', `/videos/abc/720p/seg.ts?${TOKEN}`],
      ['http://127.0.0.1:18202/videos/abc/seg.ts', `http://127.0.0.1:18202/videos/abc/seg.ts?${TOKEN}`],
    ]) {
      expect(tokenizePlaylist(`${u}\n`, base.playlist, base.folder, TOKEN)).toBe(`${expected}\n`);
      expect(tokenizePlaylist(`#EXT-X-MAP:URI="${u}",BYTERANGE="1@0"\r\n`, base.playlist, base.folder, TOKEN)).toBe(
        `#EXT-X-MAP:URI="${expected}",BYTERANGE="1@0"\r\n`,
      );
    }
    expect(
      tokenizePlaylist('http://[::1]:8080/media/videos/abc/x.ts\n', BASES[2]!.playlist, BASES[2]!.folder, TOKEN),
    ).toBe(`http://[::1]:8080/media/videos/abc/x.ts?${TOKEN}\n`);
    expect(tokenizePlaylist('../../x.ts\n', BASES[2]!.playlist, BASES[2]!.folder, TOKEN)).toBe(`../../x.ts?${TOKEN}\n`);
    const es = '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Español",LANGUAGE="es",URI="../audio/es.m3u8"\n';
    expect(tokenizePlaylist(es, base.playlist, base.folder, TOKEN)).toBe(es.replace('es.m3u8"', `es.m3u8?${TOKEN}"`));
    expect(tokenizePlaylist('#EXT-X-KEY:METHOD=AES-128, URI="k.key"\n', base.playlist, base.folder, TOKEN)).toBe(
      `#EXT-X-KEY:METHOD=AES-128, URI="k.key?${TOKEN}"\n`,
    );
    expect(tokenizePlaylist('seg.ts?x=1#t\n', base.playlist, base.folder, TOKEN)).toBe(`seg.ts?x=1&${TOKEN}#t\n`);
    expect(tokenizePlaylist('seg.ts \t\r\n', base.playlist, base.folder, TOKEN)).toBe(`seg.ts?${TOKEN} \t\r\n`);
  });
});

// Tokenized playlists: the token goes on every URI of the same video (every URI-bearing tag, LL-HLS included),
// never on a foreign one; the rest of the playlist is byte-for-byte unchanged; removing the token gives back the
// original bytes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tokenizePlaylist } from '../../server/app/tokenize.ts';

const FOLDER = 'https://media.example.com/videos/abc/';
const PLAYLIST = `${FOLDER}720p/index.m3u8`;
const TOKEN = 'Policy=eyJ9fQ__&Signature=abc~def-123_&Key-Pair-Id=K2JCJMDEHXQW5F';

const ORIGINAL = [
  '#EXTM3U',
  '#EXT-X-VERSION:9',
  '#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="../title.json"',
  '#EXT-X-SESSION-DATA:DATA-ID="com.example.lang",VALUE="en"',
  '#EXT-X-SESSION-KEY:METHOD=AES-128,URI="../key.key"',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="../audio/en.m3u8"',
  '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="sub",NAME="en",URI="https://cdn.other.example/subs/en.m3u8"',
  '#EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO="aud"',
  '../360p/index.m3u8',
  '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="../iframes.m3u8"',
  '#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"',
  '#EXT-X-KEY:METHOD=AES-128,URI="key.key?v=2",IV=0x00000000000000000000000000000001',
  '#EXTINF:4.000,',
  '#EXT-X-BYTERANGE:75232@0',
  'main.ts',
  '#EXT-X-PART:DURATION=1.0,URI="part_1.0.mp4",INDEPENDENT=YES',
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_1.1.mp4"',
  '#EXT-X-RENDITION-REPORT:URI="../360p/index.m3u8",LAST-MSN=1,LAST-PART=1',
  '#EXTINF:4.000,',
  'https://media.example.com/videos/abc/720p/seg_2.ts',
  '#EXTINF:4.000,',
  'https://media.example.com/videos/abcd/720p/seg_3.ts',
  '#EXTINF:4.000,',
  '/videos/other/seg.ts',
  '#EXTINF:4.000,',
  'seg_5.ts#frag',
  '#EXT-X-ENDLIST',
  '',
].join('\r\n');

const EXPECTED = [
  '#EXTM3U',
  '#EXT-X-VERSION:9',
  `#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="../title.json?${TOKEN}"`,
  '#EXT-X-SESSION-DATA:DATA-ID="com.example.lang",VALUE="en"',
  `#EXT-X-SESSION-KEY:METHOD=AES-128,URI="../key.key?${TOKEN}"`,
  `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="../audio/en.m3u8?${TOKEN}"`,
  '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="sub",NAME="en",URI="https://cdn.other.example/subs/en.m3u8"',
  '#EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO="aud"',
  `../360p/index.m3u8?${TOKEN}`,
  `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="../iframes.m3u8?${TOKEN}"`,
  `#EXT-X-MAP:URI="init.mp4?${TOKEN}",BYTERANGE="720@0"`,
  `#EXT-X-KEY:METHOD=AES-128,URI="key.key?v=2&${TOKEN}",IV=0x00000000000000000000000000000001`,
  '#EXTINF:4.000,',
  '#EXT-X-BYTERANGE:75232@0',
  `main.ts?${TOKEN}`,
  `#EXT-X-PART:DURATION=1.0,URI="part_1.0.mp4?${TOKEN}",INDEPENDENT=YES`,
  `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_1.1.mp4?${TOKEN}"`,
  `#EXT-X-RENDITION-REPORT:URI="../360p/index.m3u8?${TOKEN}",LAST-MSN=1,LAST-PART=1`,
  '#EXTINF:4.000,',
  `https://media.example.com/videos/abc/720p/seg_2.ts?${TOKEN}`,
  '#EXTINF:4.000,',
  'https://media.example.com/videos/abcd/720p/seg_3.ts',
  '#EXTINF:4.000,',
  '/videos/other/seg.ts',
  '#EXTINF:4.000,',
  `seg_5.ts?${TOKEN}#frag`,
  '#EXT-X-ENDLIST',
  '',
].join('\r\n');

const detokenize = (text: string) => text.split(`?${TOKEN}`).join('').split(`&${TOKEN}`).join('');

describe('tokenized playlists', () => {
  it('put the token on every URI of the same video, in every URI-bearing tag, and nowhere else', () => {
    expect(tokenizePlaylist(ORIGINAL, PLAYLIST, FOLDER, TOKEN)).toBe(EXPECTED);
  });

  it('leaves URIs written with HLS variable substitution alone (the player fills them)', () => {
    const text =
      '#EXTM3U\n#EXT-X-DEFINE:QUERYPARAM="Policy"\n#EXT-X-MAP:URI="init.mp4?Policy={$Policy}"\nseg.ts?Policy={$Policy}\nplain.ts\n';
    expect(tokenizePlaylist(text, PLAYLIST, FOLDER, TOKEN)).toBe(
      `#EXTM3U\n#EXT-X-DEFINE:QUERYPARAM="Policy"\n#EXT-X-MAP:URI="init.mp4?Policy={$Policy}"\nseg.ts?Policy={$Policy}\nplain.ts?${TOKEN}\n`,
    );
  });

  it('removing the token gives back the original bytes (fixture)', () => {
    expect(detokenize(tokenizePlaylist(ORIGINAL, PLAYLIST, FOLDER, TOKEN))).toBe(ORIGINAL);
  });

  it('property: for any playlist made of these lines, removing the token gives back the original bytes', () => {
    const uri = fc.oneof(
      fc.stringMatching(/^[a-z0-9_]{1,8}\.(ts|m4s|m3u8|key|mp4)$/),
      fc.stringMatching(/^\.\.\/[a-z0-9]{1,5}\/[a-z0-9_]{1,6}\.m3u8$/),
      fc.stringMatching(/^[a-z0-9]{1,6}\.ts\?[a-z]=[0-9]{1,3}$/),
      fc.constantFrom(
        'https://media.example.com/videos/abc/x.ts',
        'https://cdn.other.example/x.ts',
        '/videos/other/x.ts',
        'data:text/plain,hi',
      ),
    );
    const line = fc.oneof(
      uri,
      uri.map((u) => `#EXT-X-MAP:URI="${u}"`),
      uri.map((u) => `#EXT-X-KEY:METHOD=AES-128,URI="${u}"`),
      uri.map((u) => `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="x",URI="${u}"`),
      uri.map((u) => `#EXT-X-PART:DURATION=1,URI="${u}"`),
      uri.map((u) => `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${u}"`),
      uri.map((u) => `#EXT-X-RENDITION-REPORT:URI="${u}",LAST-MSN=3`),
      fc.constantFrom(
        '#EXTINF:4.0,',
        '#EXT-X-ENDLIST',
        '',
        '#EXT-X-BYTERANGE:100@0',
        '# a comment with URI="x.ts"',
        '#EXT-X-DATERANGE:ID="ad",CLASS="x"',
      ),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
        const text = ['#EXTM3U', ...lines].join(eol);
        const out = tokenizePlaylist(text, PLAYLIST, FOLDER, TOKEN);
        expect(detokenize(out)).toBe(text);
        expect(out).not.toContain(`other.example/x.ts?${TOKEN}`);
        expect(out).not.toContain(`/videos/other/x.ts?${TOKEN}`);
      }),
      { numRuns: 500 },
    );
  });
});

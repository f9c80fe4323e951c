import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { resourceMatches } from '../../server/core/index.ts';

// Rows from the examples of "Creating a signed URL using a custom policy" (CloudFront Developer Guide)
// and the section rules in ../../../shared/guides/cloudfront.md.
const rows: [string, string, boolean][] = [
  ['*', 'https://anything.example.com/a/b?c=d', true],
  [
    'https://d111111abcdef8.cloudfront.net/game_download.zip',
    'https://d111111abcdef8.cloudfront.net/game_download.zip',
    true,
  ],
  [
    'https://d111111abcdef8.cloudfront.net/game_download.zip',
    'https://d111111abcdef8.cloudfront.net/game_download.zip?x=1',
    false,
  ],
  [
    'https://d111111abcdef8.cloudfront.net/training/*',
    'https://d111111abcdef8.cloudfront.net/training/orientation.avi',
    true,
  ],
  [
    'https://d111111abcdef8.cloudfront.net/training/*',
    'https://d111111abcdef8.cloudfront.net/training/a/b/c.ts?Expires=1',
    true,
  ],
  ['https://d111111abcdef8.cloudfront.net/training/*', 'https://d111111abcdef8.cloudfront.net/other/a.ts', false],
  ['http*://d111111abcdef8.cloudfront.net/*', 'https://d111111abcdef8.cloudfront.net/a.ts', true],
  ['http*://d111111abcdef8.cloudfront.net/*', 'http://d111111abcdef8.cloudfront.net/a.ts', true],
  ['*://d111111abcdef8.cloudfront.net/*', 'https://d111111abcdef8.cloudfront.net/a.ts', true],
  ['https://*.cloudfront.net/*', 'https://d111111abcdef8.cloudfront.net/a.ts', true],
  ['https://*.cloudfront.net/*', 'https://evil.example.com/x.cloudfront.net/a.ts', false],
  ['https://d111111abcdef8.cloudfront.net*', 'https://d111111abcdef8.cloudfront.net/any/path?q=1', true],
  ['https://media.example.com/videos/abc/*', 'https://media.example.com/videos/abcd/seg.ts', false],
  ['https://media.example.com/videos/abc*', 'https://media.example.com/videos/abcd/seg.ts', true],
  ['https://media.example.com/videos/abc/seg_00?.ts', 'https://media.example.com/videos/abc/seg_001.ts', true],
  ['https://media.example.com/videos/abc/seg_00?.ts', 'https://media.example.com/videos/abc/seg_0012.ts', false],
  ['https://media.example.com/a.ts\\?quality=*', 'https://media.example.com/a.ts?quality=hd', true],
  ['https://media.example.com/a.ts\\?quality=*', 'https://media.example.com/a.ts?size=1', false],
  ['https://media.example.com/a.ts\\?quality=*', 'https://media.example.com/a.ts', false],
  ['https://Media.example.com/a.ts', 'https://media.example.com/a.ts', false],
  ['https://media.example.com/A.ts', 'https://media.example.com/a.ts', false],
  ['https://media.example.com/a?b=1', 'https://media.example.com/a?b=1', true],
  ['https://media.example.com/videos/abc/*', 'http://media.example.com/videos/abc/a.ts', false],
  ['https://media.example.com:8443/videos/abc/*', 'https://media.example.com/videos/abc/a.ts', false],
  // Patterns that write no scheme: one run over scheme, host and path (issue #10: these were refused before,
  // while `*aes/seg_00?.ts` was granted by a second reading).
  ['*.m4s', 'https://media.example.com/videos/cmaf/720p/seg_1.m4s', true],
  ['*.m4s', 'https://media.example.com/videos/cmaf/720p/seg_1.m4s?v=1', false],
  ['*.m4s', 'https://media.example.com/videos/cmaf/720p/seg_1.ts', false],
  ['*cmaf*', 'https://media.example.com/videos/cmaf/master.m3u8?v=2', true],
  ['*cmaf*', 'https://media.example.com/videos/aes/master.m3u8', false],
  ['*aes/seg_00?.ts', 'https://media.example.com/videos/aes/seg_001.ts', true],
  ['*aes/seg_00?.ts', 'https://media.example.com/videos/aes/seg_0011.ts', false],
  ['d111111abcdef8.cloudfront.net/*', 'https://d111111abcdef8.cloudfront.net/a.ts', false],
  // A wildcard in the path never swallows the query start and so never reaches another file.
  ['https://media.example.com/videos/*/master.m3u8', 'https://media.example.com/videos/abc/master.m3u8', true],
  [
    'https://media.example.com/videos/*/master.m3u8',
    'https://media.example.com/videos/abc/aes.key?x=/master.m3u8',
    false,
  ],
  // A plain `?` where the query starts (AWS's getSignedUrl writes custom-policy resources that way).
  ['https://media.example.com/a.ts?quality=hd', 'https://media.example.com/a.ts?quality=hd', true],
  ['https://media.example.com/a.ts?quality=*', 'https://media.example.com/a.ts?quality=sd', true],
  // ...so a `?` can stand for the query start, but only where the sections before it match as written.
  ['https://media.example.com/videos/abc/seg_00?.ts', 'https://media.example.com/videos/abc/seg_00?.ts', true],
  ['https://media.example.com/videos/abc/seg_00?.ts', 'https://media.example.com/videos/abd/seg_00?.ts', false],
  ['https://*.example.com/a?b=1', 'https://evil.test/x.example.com/a?b=1', false],
];

describe('resource matching: documented examples', () => {
  it.each(rows)('%s vs %s → %s', (pattern, url, expected) => {
    expect(resourceMatches(pattern, url)).toBe(expected);
  });
});

// A deliberately simple reference: one regex per section, built from the rules.
function reference(pattern: string, url: string): boolean {
  const re = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
      's',
    );
  const [scheme, rest] = [url.slice(0, url.indexOf('://')), url.slice(url.indexOf('://') + 3)];
  const [pScheme, pRest] = [pattern.slice(0, pattern.indexOf('://')), pattern.slice(pattern.indexOf('://') + 3)];
  const host = rest.split('/')[0]!;
  const pHost = pRest.split('/')[0]!;
  const path = rest.slice(host.length);
  const pPath = pRest.slice(pHost.length);
  return (
    re(pScheme).test(scheme) &&
    re(pHost).test(host) &&
    (pPath.endsWith('*') ? re(pPath).test(path.split('?')[0]!) : re(pPath).test(path))
  );
}

describe('resource matching: property tests against a simple reference', () => {
  const seg = fc.stringMatching(/^[a-z0-9_.-]{1,6}$/);
  const globSeg = fc.stringMatching(/^[a-z0-9*?_.-]{1,6}$/);
  it('agrees with the reference on path patterns without queries', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('https', 'http'),
        fc.array(seg, { minLength: 1, maxLength: 4 }),
        fc.array(globSeg, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (scheme, path, pPath, trailing) => {
          const url = `${scheme}://media.example.com/${path.join('/')}`;
          const pattern = `https://media.example.com/${pPath.join('/')}${trailing ? '*' : ''}`;
          expect(resourceMatches(pattern, url)).toBe(reference(pattern, url));
        },
      ),
      { numRuns: 2000 },
    );
  });
  it('a video resource covers every file below it and nothing beside it', () => {
    fc.assert(
      fc.property(
        seg,
        fc.array(seg, { minLength: 1, maxLength: 4 }),
        fc.option(seg, { nil: undefined }),
        (id, path, query) => {
          const url = `https://media.example.com/videos/${id}/${path.join('/')}${query ? `?${query}` : ''}`;
          expect(resourceMatches(`https://media.example.com/videos/${id}/*`, url)).toBe(true);
          expect(resourceMatches(`https://media.example.com/videos/${id}x/*`, url)).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

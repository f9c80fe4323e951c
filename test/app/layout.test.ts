// The layout module (server/app/layout.ts) holds the gateway's URLs and storage keys once; these tests hold the code
// to that: the facts are spelled nowhere else, and the derived values (CORS scopes, keys) are what routes need.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Hono } from 'hono';
import {
  CROSS_ORIGIN_SCOPES,
  MASTER_PLAYLIST,
  ROUTES,
  originKey,
  publishedKey,
  routePath,
  storageKey,
  uploadKey,
} from '../../server/app/layout.ts';
import { SIGNED_URL_PARAMS } from '../../server/core/cookies.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';

/** Lines of the shipped code (not tests, benchmarks or docs) that match `pattern`, minus comment lines. */
function codeLines(pattern: string): string[] {
  const out = execFileSync('git', ['grep', '-n', '-E', pattern, '--', 'server', 'cli', 'packager', 'player/src'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  }).trim();
  return out.split('\n').filter((l) => !/^[^:]+:\d+:\s*(\/\/|\*|\/\*)/.test(l));
}

describe('one layout', () => {
  it('spells master.m3u8 once in the code', () => {
    expect(codeLines('master\\.m3u8')).toEqual([
      expect.stringMatching(/^server\/app\/layout\.ts:\d+:export const MASTER_PLAYLIST = 'master\.m3u8';$/),
    ]);
  });

  it('lists the signed-URL parameters once', () => {
    // Any list holding both Expires and Hash-Algorithm is a copy of SIGNED_URL_PARAMS.
    expect(codeLines("'Expires'.*'Hash-Algorithm'")).toEqual([
      expect.stringMatching(/^server\/core\/cookies\.ts:\d+:export const SIGNED_URL_PARAMS = /),
    ]);
    expect(SIGNED_URL_PARAMS).toEqual(['Expires', 'Policy', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm']);
  });

  it('mounts CORS on every URL space a page on another origin calls, derived from ROUTES', () => {
    expect([...CROSS_ORIGIN_SCOPES].sort()).toEqual(['/api/*', '/uploads/*', '/videos/*']);
    // Every route but the health check and the player's own files is inside one of them.
    const inScope = (route: string) => CROSS_ORIGIN_SCOPES.some((s) => route.startsWith(s.slice(0, -1)));
    expect(
      Object.entries(ROUTES)
        .filter(([, r]) => !inScope(r))
        .map(([name]) => name)
        .sort(),
    ).toEqual(['health', 'playerFile', 'playerPage', 'playerPageSlash', 'ready']);
  });

  it('fills a route the way Hono reads it back, one encoded segment per parameter', async () => {
    const app = new Hono();
    app.post(ROUTES.access, (c) => c.text(c.req.param('videoId')));
    expect(routePath(ROUTES.access, { videoId: 'a_b-1' })).toBe('/api/videos/a_b-1/access');
    expect(routePath(ROUTES.upload, { videoId: 'x/../y' })).toBe('/api/uploads/x%2F..%2Fy');
    expect(await (await app.request(routePath(ROUTES.access, { videoId: 'a_b-1' }), { method: 'POST' })).text()).toBe(
      'a_b-1',
    );
  });

  it('names the storage layouts: <id>/ on disk and R2, videos/<id>/ in an S3 origin, published by the master playlist', () => {
    expect(storageKey('v1', 'low/seg0.ts')).toBe('v1/low/seg0.ts');
    expect(originKey('v1', 'low/seg0.ts')).toBe('videos/v1/low/seg0.ts');
    expect(publishedKey('v1')).toBe(`v1/${MASTER_PLAYLIST}`);
    // The S3 key is the media URL's path: CloudFront serves the bucket as it is.
    expect(`/${originKey('v1', MASTER_PLAYLIST)}`).toBe(
      routePath(ROUTES.media.replace('*', MASTER_PLAYLIST), { videoId: 'v1' }),
    );
    expect(uploadKey('v1', 'source')).toBe('.uploads/v1/source');
  });
});

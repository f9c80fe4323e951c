import { readFile, writeFile } from 'node:fs/promises';
import type { SignedUrlParam } from '../server/core/cookies.ts';

// HLS variable substitution for "CloudFront in front" (CloudFront cannot rewrite playlists): each playlist declares
// the grant's query parameters with EXT-X-DEFINE:QUERYPARAM, and every URI asks for them with {$Name}, so a player
// that supports it copies the signed query of the playlist's own URL onto every child request
// (RFC 8216bis section 4.4.2.3 and 6.3; hls.js supports it since 1.2, Apple's players since the spec's version 8;
// players without it request the literal `{$Policy}` and are refused).

// Of the signed-URL parameters, those of the gateway's grants (a custom policy, SHA-1): a QUERYPARAM absent from the
// playlist's URL makes the playlist invalid (RFC 8216bis section 4.4.2.3), so only these three are declared.
export const QUERY_PARAMS = ['Policy', 'Signature', 'Key-Pair-Id'] as const satisfies readonly SignedUrlParam[];
const SUFFIX = QUERY_PARAMS.map((p) => `${p}={$${p}}`).join('&');
const URI_ATTR_TAGS =
  /^#EXT-X-(MAP|KEY|SESSION-KEY|MEDIA|I-FRAME-STREAM-INF|SESSION-DATA|PART|PRELOAD-HINT|RENDITION-REPORT):/;

function withParams(uri: string): string {
  return `${uri}${uri.includes('?') ? '&' : '?'}${SUFFIX}`;
}

/** Rewrites one playlist file: declarations after #EXTM3U (version raised to 8), {$...} on every relative URI. */
export async function addQueryParams(path: string): Promise<void> {
  const lines = (await readFile(path, 'utf8')).split('\n');
  const out: string[] = [];
  for (const line of lines) {
    if (line.startsWith('#EXT-X-VERSION:')) {
      out.push(`#EXT-X-VERSION:${Math.max(8, Number(line.slice(15)) || 0)}`);
      continue;
    }
    if (line && !line.startsWith('#')) out.push(withParams(line.trim()));
    else if (URI_ATTR_TAGS.test(line))
      out.push(line.replace(/URI="([^"]*)"/, (_m, u: string) => `URI="${withParams(u)}"`));
    else out.push(line);
    if (line === '#EXTM3U') {
      if (!lines.some((l) => l.startsWith('#EXT-X-VERSION:'))) out.push('#EXT-X-VERSION:8');
      for (const p of QUERY_PARAMS) out.push(`#EXT-X-DEFINE:QUERYPARAM="${p}"`);
    }
  }
  await writeFile(path, out.join('\n'));
}

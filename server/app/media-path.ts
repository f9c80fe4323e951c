// Turns the part of a media URL after /videos/<id>/ into a storage key, refusing anything that could leave the
// video's folder by any encoding: dot segments, empty segments, encoded separators (%2f, %5c), backslashes,
// NUL and double encoding (a `%` left after decoding once). WHATWG URL parsing has already resolved literal and
// %2e dot segments, so a request can never even reach here with `..` unless it was disguised.

export const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function mediaKey(videoId: string, rawRest: string): string | null {
  if (!VIDEO_ID.test(videoId) || rawRest.length === 0 || rawRest.length > 1024) return null;
  const out: string[] = [];
  for (const raw of rawRest.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (seg === '' || seg === '.' || seg === '..' || /[/\\\u0000-\u001f%]/.test(seg)) return null;
    out.push(seg);
  }
  return `${videoId}/${out.join('/')}`;
}

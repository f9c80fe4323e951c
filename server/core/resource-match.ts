// CloudFront's Resource wildcards, read one way everywhere (verifier, CLI `explain`, tests):
// - `*` matches zero or more characters and `?` exactly one; `"*"` alone matches everything.
// - A URL has the sections [scheme]://[host]/[path]?[query]. Each section the pattern writes is matched on its
//   own, so a wildcard cannot run across a boundary the pattern spelt out: `https://*.example.com/*` never
//   matches `https://evil.test/x.example.com/a`. A pattern that writes no `://` (`*.m4s`, `*cmaf*`) leaves scheme,
//   host and path as one run its wildcards may cover.
// - The query is its own section: the pattern reaches it only through an explicit `\?` (AWS's notation for a
//   literal query start), a plain `?` standing where the query starts (AWS's own signers write resources that
//   way), or a trailing `*` before the query (documented: "a trailing * in the path implies * in the query",
//   likewise a trailing * on the host). A wildcard inside the path can never swallow the `?` and so reach another
//   file: `https://h/videos/*/master.m3u8` does not match `https://h/videos/a.key?x=/master.m3u8`.
// - Matching is case-sensitive (unconfirmed in AWS's docs: the strict reading).
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-creating-signed-url-custom-policy.html

/** Glob match of one section: `*` any run, `?` one character. Linear backtracking, no regex. */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Scheme, host and path of a URL (everything before the query), matched section by section as written. */
function baseMatches(pattern: string, base: string): boolean {
  const ps = pattern.indexOf('://');
  if (ps < 0) return globMatch(pattern, base); // no sections written: one run
  const us = base.indexOf('://');
  if (us < 0 || !globMatch(pattern.slice(0, ps), base.slice(0, us))) return false;
  const pRest = pattern.slice(ps + 3);
  const uRest = base.slice(us + 3);
  const pSlash = pRest.indexOf('/');
  const uSlash = uRest.indexOf('/');
  const uHost = uSlash < 0 ? uRest : uRest.slice(0, uSlash);
  const uPath = uSlash < 0 ? '' : uRest.slice(uSlash);
  if (pSlash < 0) {
    // Host only: a trailing `*` covers any path (documented); otherwise only the bare host.
    return globMatch(pRest, uHost) && (pRest.endsWith('*') || uPath === '' || uPath === '/');
  }
  return globMatch(pRest.slice(0, pSlash), uHost) && globMatch(pRest.slice(pSlash), uPath);
}

/** Does a policy's Resource (with `*` and `?` wildcards) cover this URL, as CloudFront reads it (see above)? */
export function resourceMatches(pattern: string, url: string): boolean {
  if (pattern === '*') return true;
  const q = url.indexOf('?');
  const base = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? null : url.slice(q + 1);

  const escaped = pattern.indexOf('\\?');
  if (escaped >= 0)
    return (
      query !== null && baseMatches(pattern.slice(0, escaped), base) && globMatch(pattern.slice(escaped + 2), query)
    );

  if (baseMatches(pattern, base) && (query === null || query === '' || pattern.endsWith('*'))) return true;
  if (query === null) return false;
  // A plain `?` may be where the pattern's query starts (a resource written from a URL with a query string).
  for (let at = pattern.indexOf('?'); at >= 0; at = pattern.indexOf('?', at + 1)) {
    if (baseMatches(pattern.slice(0, at), base) && globMatch(pattern.slice(at + 1), query)) return true;
  }
  return false;
}

// CloudFront's Resource wildcards: `*` matches zero or more characters and `?` exactly one, each within one
// section of the URL ([scheme]://[host]/[path]\?[query]); a trailing `*` in the path also covers any query
// string, a trailing `*` in the host any path and query, and "*" alone everything. A literal `?` before the
// query is written `\?`. Matching is case-sensitive (unconfirmed in AWS's docs: the strict reading).
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-creating-signed-url-custom-policy.html

interface Sections {
  scheme: string;
  host: string;
  path: string | null;
  query: string | null;
}

function splitPattern(pattern: string): Sections | null {
  const s = pattern.indexOf('://');
  if (s < 0) return null;
  const rest = pattern.slice(s + 3);
  const slash = rest.indexOf('/');
  if (slash < 0) return { scheme: pattern.slice(0, s), host: rest, path: null, query: null };
  const tail = rest.slice(slash);
  const q = tail.indexOf('\\?');
  return {
    scheme: pattern.slice(0, s),
    host: rest.slice(0, slash),
    path: q < 0 ? tail : tail.slice(0, q),
    query: q < 0 ? null : tail.slice(q + 2),
  };
}

function splitUrl(url: string): Sections | null {
  const s = url.indexOf('://');
  if (s < 0) return null;
  const rest = url.slice(s + 3);
  const end = rest.search(/[/?]/);
  const host = end < 0 ? rest : rest.slice(0, end);
  const tail = end < 0 ? '' : rest.slice(end);
  const q = tail.indexOf('?');
  return {
    scheme: url.slice(0, s),
    host,
    path: q < 0 ? tail : tail.slice(0, q),
    query: q < 0 ? null : tail.slice(q + 1),
  };
}

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

export function resourceMatches(pattern: string, url: string): boolean {
  if (pattern === '*') return true;
  // A resource written from a URL with a plain `?` (AWS's getSignedUrl does this for custom policies) is read
  // whole: its `?` then matches the literal query start as a one-character wildcard.
  if (!pattern.includes('\\?') && pattern.includes('?') && globMatch(pattern, url)) return true;
  const pat = splitPattern(pattern);
  const u = splitUrl(url);
  if (!pat || !u) return false;
  if (!globMatch(pat.scheme, u.scheme) || !globMatch(pat.host, u.host)) return false;
  if (pat.path === null) {
    // No path in the pattern: a trailing `*` on the host covers any path and query; otherwise only the bare host.
    return pat.host.endsWith('*') || ((u.path === '' || u.path === '/') && u.query === null);
  }
  if (!globMatch(pat.path, u.path ?? '')) return false;
  if (pat.query !== null) return globMatch(pat.query, u.query ?? '');
  return pat.path.endsWith('*') || u.query === null || u.query === '';
}

// A signed URL is signed in the percent-encoded form that goes on the wire, or CloudFront rebuilds a different
// string and refuses it (aws-sdk-js-v3 #8033, #8113, #7571). This normalises a URL the way
// @aws-sdk/cloudfront-signer does before signing, so both produce the same bytes: each path segment decoded
// (when it decodes) and re-encoded with encodeURIComponent; each query key and value re-encoded, keeping
// existing %XX escapes and `+`.

function encodeSegment(segment: string): string {
  try {
    return encodeURIComponent(decodeURIComponent(segment));
  } catch {
    return encodeURIComponent(segment);
  }
}

function encodeQueryPart(part: string): string {
  const wellFormed = part.replace(/[\uD800-\uDFFF]/gu, '\uFFFD');
  return wellFormed
    .split(/(%[0-9A-Fa-f]{2}|\+)/g)
    .map((piece, i) =>
      i % 2 === 1 ? (piece === '+' ? '+' : piece.toUpperCase()) : encodeURIComponent(piece).replace(/'/g, '%27'),
    )
    .join('');
}

export function encodeUrlForSigning(url: string): string {
  const protocolEnd = url.indexOf('//');
  if (protocolEnd < 0) return url;
  const pathStart = url.indexOf('/', protocolEnd + 2);
  if (pathStart < 0) return url;
  const origin = url.slice(0, pathStart);
  const rest = url.slice(pathStart);
  const q = rest.indexOf('?');
  const path = (q < 0 ? rest : rest.slice(0, q)).replace(/[^/]+/g, encodeSegment);
  if (q < 0) return origin + path;
  const pairs = rest
    .slice(q + 1)
    .split('&')
    .filter((p) => p.length > 0)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      return `${encodeQueryPart(key)}=${encodeQueryPart(value)}`;
    });
  return origin + path + (pairs.length > 0 ? `?${pairs.join('&')}` : '');
}

/** encodeURIComponent plus !'()* (RFC 3986 reserved), as AWS encodes the signing parameters. */
export function encodeParam(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

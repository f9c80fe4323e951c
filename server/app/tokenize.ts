// Tokenized playlists (device links): a playlist requested with a signed-URL query is returned with the same query
// appended to every URI that belongs to the same video, so a device without cookies (AirPlay, Chromecast, a TV,
// VLC, ffmpeg) carries the grant to every child: variant and rendition playlists, segments (with or without
// EXT-X-BYTERANGE), EXT-X-MAP, EXT-X-KEY / EXT-X-SESSION-KEY, EXT-X-SESSION-DATA, and LL-HLS EXT-X-PART,
// EXT-X-PRELOAD-HINT and EXT-X-RENDITION-REPORT (RFC 8216 and draft-pantos-hls-rfc8216bis). URIs to other hosts or
// other videos are left alone (the token must not leak, and would not be valid there); an existing query is kept
// (the token is added after it); every other byte of the playlist is unchanged.

/** Tags whose URI="..." attribute names a resource of the stream. */
const URI_TAGS = ['#EXT-X-MEDIA:', '#EXT-X-I-FRAME-STREAM-INF:', '#EXT-X-MAP:', '#EXT-X-KEY:', '#EXT-X-SESSION-KEY:', '#EXT-X-SESSION-DATA:', '#EXT-X-PART:', '#EXT-X-PRELOAD-HINT:', '#EXT-X-RENDITION-REPORT:'];

/**
 * Appends `token` (a query string without `?`) to each URI of `text` that resolves (against `playlistUrl`) inside
 * `folderUrl` (`https://media.example.com/videos/abc/`).
 */
export function tokenizePlaylist(text: string, playlistUrl: string, folderUrl: string, token: string): string {
  const add = (uri: string): string => {
    // A URI written with HLS variable substitution (`?Policy={$Policy}`, hls-gate package --query-params) gets its
    // token from the player; adding it again would duplicate it.
    if (uri.includes('{$')) return uri;
    let resolved: URL;
    try {
      resolved = new URL(uri, playlistUrl);
    } catch {
      return uri;
    }
    if (!`${resolved.origin}${resolved.pathname}`.startsWith(folderUrl)) return uri;
    const hash = uri.indexOf('#');
    const [body, fragment] = hash < 0 ? [uri, ''] : [uri.slice(0, hash), uri.slice(hash)];
    return `${body}${body.includes('?') ? '&' : '?'}${token}${fragment}`;
  };
  return text
    .split('\n')
    .map((raw) => {
      const cr = raw.endsWith('\r') ? '\r' : '';
      const line = cr ? raw.slice(0, -1) : raw;
      if (line.length > 0 && !line.startsWith('#')) {
        const lead = line.length - line.trimStart().length;
        const trail = line.length - line.trimEnd().length;
        const uri = line.slice(lead, line.length - trail);
        return uri ? `${line.slice(0, lead)}${add(uri)}${line.slice(line.length - trail)}${cr}` : raw;
      }
      if (URI_TAGS.some((t) => line.startsWith(t))) return `${line.replace(/URI="([^"]*)"/g, (_m, uri: string) => `URI="${add(uri)}"`)}${cr}`;
      return raw;
    })
    .join('\n');
}

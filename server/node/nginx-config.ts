import { TYPES } from '../app/mime.ts';
import { ROUTES } from '../app/layout.ts';
import { FILE_HEADER, METHOD_HEADER, PROXY_HEADER, VERDICT_HEADER, WHOLE_HEADER } from '../core/headers.ts';

// nginx in front of the Node gateway (SERVE_VIA_NGINX=true): every request goes to hls-gate, which judges it and
// answers as usual, except that for a granted file it sends no bytes, only X-Accel-Redirect naming the checked file
// under an `internal` location; nginx then serves that file with sendfile and does Range, HEAD, ETag/304 itself
// (https://nginx.org/en/docs/http/ngx_http_core_module.html#internal,
// https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_ignore_headers).
//
// Media requests use both of nginx's mechanisms, each for what only it can do:
// - auth_request (https://nginx.org/en/docs/http/ngx_http_auth_request_module.html) asks hls-gate for a verdict
//   on every /videos/ request. Its answer can be cached (proxy_cache), which an X-Accel-Redirect answer cannot (nginx
//   redirects before it would store it), so a granted verdict is reused for VERDICT_CACHE seconds (default 1, never
//   past the grant) and most segment requests never reach Node. hls-gate answers 200 with the file to serve, or 403.
// - on 403 nginx asks hls-gate again for its full answer (error_page to a named location): auth_request alone keeps
//   only a status (and turns a 404 into a 500), so hls-gate's refusals (CloudFront's XML, X-Hls-Gate-Reason, 404, 400
//   bad-host) and its tokenized playlists go out exactly as the gateway alone sends them. Should that answer grant
//   a file after all, it comes as X-Accel-Redirect to the internal location; every other path does too.
// bench/serving.ts measures X-Accel-Redirect alone against this.

/** The internal location: never reachable from outside (`internal`), only through hls-gate's X-Accel-Redirect. */
export const NGINX_FILES_LOCATION = '/_hls-gate/files/';
/** What NGINX_PROXY_SECRET may hold: 32 to 1024 characters nginx takes literally inside a quoted string. */
export const PROXY_SECRET = /^[A-Za-z0-9._~+/=-]{32,1024}$/;
/** The media routes' prefix (app/layout.ts). */
const MEDIA_PREFIX = ROUTES.media.slice(0, ROUTES.media.indexOf(':'));

/**
 * The response headers of hls-gate's answer that nginx must copy onto the file it serves: an internal redirect keeps
 * only a few upstream headers (Cache-Control, Set-Cookie, Content-Disposition...); these are read back as
 * $upstream_http_*. The layouts are compared header for header in test/nginx/.
 */
export const PASSED_HEADERS = [
  'Cache-Control',
  'Vary',
  'Access-Control-Allow-Origin',
  'Access-Control-Allow-Credentials',
  'Access-Control-Expose-Headers',
] as const;

/** How the gateway works with nginx in front (SERVE_VIA_NGINX). */
export interface NginxHandOff {
  /** Seconds nginx may reuse a "granted" answer (X-Accel-Expires), never past the grant's own expiry; 0: never. */
  verdictCache: number;
  /** NGINX_PROXY_SECRET: what nginx sends in PROXY_HEADER; a request without it is refused. Never logged. */
  proxySecret: string;
}

export interface NginxSettings {
  /** Where nginx listens, e.g. "80" or "127.0.0.1:8080". */
  listen: string;
  /** The gateway, as nginx reaches it: "127.0.0.1:8787". */
  upstream: string;
  /** The real path of MEDIA_DIR. */
  mediaDir: string;
  /** Where nginx keeps granted verdicts (proxy_cache_path). */
  cacheDir: string;
  /** The gateway's VERDICT_CACHE (seconds): 0 turns nginx's verdict cache off. */
  verdictCache: number;
  /** The gateway's NGINX_PROXY_SECRET (PROXY_SECRET characters only), sent by nginx with every request it passes on. */
  proxySecret: string;
  /** The access log's path, or "off". Its lines hold the path without the query, never a cookie or Referer. */
  accessLog: string;
  /** The error log's path. Only nginx's own failures (crit and above) are written there: see LOGS below. */
  errorLog: string;
}

/**
 * Logs without credentials. nginx's default access log ("combined") writes $request, the request line with its query:
 * a device link's Policy, Signature, Key-Pair-Id and HlsGate-Session (and any signed URL's) would be copied into every
 * line; its Referer can carry the same query (a playlist's or a page's URL). This format is "combined" with the path
 * alone (taken from $request_uri before its "?": the path as sent, whatever internal redirect followed) and no
 * Referer; no cookie is ever logged.
 * nginx also writes the request line, query included, into every error-log line about a request (", request: ...",
 * and the upstream URL): the server logs only at `crit` and above, nginx's own failures (too many open files, out
 * of memory), which are rare and still name the request. Routine errors (the gateway unreachable: 500/502 in the
 * access log; hls-gate's log says why) are not written. https://nginx.org/en/docs/http/ngx_http_log_module.html,
 * https://nginx.org/en/docs/ngx_core_module.html#error_log
 */
const LOG_FORMAT = 'hls_gate';
/** A path nginx reads literally: absolute, none of the characters its configuration syntax gives a meaning. */
export const NGINX_PATH = /^\/[^\s;{}"'$\\]*$/;
const LOGS = `# Logs without credentials: the path without its query (signed URLs and device links carry Policy, Signature,
# Key-Pair-Id and HlsGate-Session there), no Referer (it can carry the same query), never a cookie.
map $request_uri $hls_gate_path {
  "~^(?<hls_gate_path_only>[^?]*)" $hls_gate_path_only;
}
log_format ${LOG_FORMAT} '$remote_addr - - [$time_local] "$request_method $hls_gate_path $server_protocol" $status $body_bytes_sent "-" "$http_user_agent"';`;

/** Everything a verdict reads: the method, the URL with its query (signed URLs), the host, every cookie, the CORS origin and the viewer's address (IP-bound grants). */
const CACHE_KEY = '"$request_method|$scheme|$http_host|$request_uri|$http_cookie|$http_origin|$remote_addr"';
const variable = (header: string) => `$upstream_http_${header.toLowerCase().replace(/-/g, '_')}`;
const verdictVariable = (header: string) => `$hls_gate_${header.toLowerCase().replace(/-/g, '_')}`;
const headerName = (header: string) => header.toLowerCase().replace(/-/g, '_');

/** MIME types by extension, as nginx's `types {}` block (the gateway's own table, mime.ts). */
function typesBlock(): string {
  const byType = new Map<string, string[]>();
  for (const [ext, type] of Object.entries(TYPES)) byType.set(type, [...(byType.get(type) ?? []), ext]);
  return [...byType].map(([type, exts]) => `      "${type}" ${exts.join(' ')};`).join('\n');
}

function checkSettings(s: NginxSettings): void {
  if (!PROXY_SECRET.test(s.proxySecret))
    throw new Error('the nginx proxy secret must be 32 to 1024 characters of A-Z a-z 0-9 . _ ~ + / = -');
  for (const path of [s.accessLog, s.errorLog])
    if (path !== 'off' && !NGINX_PATH.test(path))
      throw new Error(`log path "${path}" must be absolute, without spaces, quotes, braces, $, \\ or ;`);
  if (s.errorLog === 'off') throw new Error('the error log needs a path ("off" would be a file named off)');
}

/** What every request passed to hls-gate carries: keep-alive, the Host, the viewer's address, nginx's proof. */
function proxiedLines(s: NginxSettings): string {
  return `proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    # hls-gate (TRUST_PROXY, implied by SERVE_VIA_NGINX) reads the viewer's address from the last entry.
    proxy_set_header X-Forwarded-For $remote_addr;
    # The proof that this request came through nginx (NGINX_PROXY_SECRET): without it hls-gate refuses it.
    proxy_set_header ${PROXY_HEADER} "${s.proxySecret}";`;
}

const fileHeaders = (names: readonly string[], value: (h: string) => string) =>
  names.map((h) => `    add_header ${h} ${value(h)} always;`).join('\n');

function mediaLocation(s: NginxSettings, proxied: string, types: string): string {
  const cache = s.verdictCache > 0;
  return `  # Media: a verdict first; the file from disk when granted, hls-gate's own answer otherwise.
  location ^~ ${MEDIA_PREFIX} {
    auth_request /_hls-gate/verdict;
    auth_request_set $hls_gate_file $upstream_http_${headerName(FILE_HEADER)};
${PASSED_HEADERS.map((h) => `    auth_request_set ${verdictVariable(h)} ${variable(h)};`).join('\n')}
    error_page 403 = @hls_gate;
    root ${s.mediaDir};
    # The file hls-gate named (its real path, checked), never one derived from the URL here.
    try_files /$hls_gate_file =404;
    disable_symlinks on from=$document_root;
    max_ranges 1;
    types {
${types}
    }
    default_type application/octet-stream;
${fileHeaders(PASSED_HEADERS, verdictVariable)}${cache ? playlistLocation(proxied) : ''}
  }`;
}

function playlistLocation(proxied: string): string {
  return `

    # Playlists are small: a subrequest plus a file open is most of their cost. hls-gate answers them whole
    # (refusals and tokenized playlists as always), and a granted answer is kept like a verdict, under the same key,
    # for the same lifetime; nginx answers Range, HEAD and If-None-Match from it.
    location ~ \\.m3u8$ {
      auth_request off;
      proxy_pass http://hls_gate;
      ${proxied.replace(/\n {4}/g, '\n      ')}
      proxy_set_header ${VERDICT_HEADER} "";
      proxy_set_header ${WHOLE_HEADER} 1;
      proxy_cache hls_gate_verdicts;
      proxy_cache_key ${CACHE_KEY};
      proxy_ignore_headers Cache-Control Expires;
      # Only cache files are opened here (nothing is served from MEDIA_DIR in this location): keeping them open saves
      # an open per hit. Safe: an entry's lifetime is in the file's own header, and a replaced entry (another inode)
      # is reopened. https://nginx.org/en/docs/http/ngx_http_core_module.html#open_file_cache
      open_file_cache max=10000 inactive=10s;
      open_file_cache_valid 1s;
      # A cached answer's body starts after nginx's header in the cache file, at an offset that is not a multiple of
      # the page size, and sendfile from there is slow (measured: a static file sent from byte 1330 at 0.7x the rate
      # from byte 0). Copying the playlist instead: 0.65x -> 0.71x static for a small playlist, 0.49x -> 0.68x for a
      # 300 KB one (bench/serving.ts).
      sendfile off;
    }`;
}

function verdictLocation(s: NginxSettings, proxied: string): string {
  const cache = s.verdictCache > 0;
  return `  location = /_hls-gate/verdict {
    internal;
    # The viewer's request line as sent, its headers, no body.
    proxy_pass http://hls_gate$request_uri;
    ${proxied}
    proxy_set_header ${VERDICT_HEADER} 1;
    # nginx sends every subrequest as GET: the viewer's method goes along (only GET and HEAD can get a file).
    proxy_set_header ${METHOD_HEADER} $request_method;
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";${
      cache
        ? `
    proxy_cache hls_gate_verdicts;
    # Everything the verdict reads: the method, the URL with its query (signed URLs), the host, every cookie, the
    # CORS origin and the viewer's address (IP-bound grants).
    proxy_cache_key ${CACHE_KEY};
    # Only X-Accel-Expires decides what is kept: hls-gate sends it on granted verdicts alone.
    proxy_ignore_headers Cache-Control Expires;`
        : `
    proxy_ignore_headers X-Accel-Expires;`
    }
  }`;
}

function filesLocation(s: NginxSettings, types: string): string {
  return `  location ^~ ${NGINX_FILES_LOCATION} {
    internal;
    alias ${s.mediaDir}/;
    # hls-gate names the real path it checked: no symlink is followed here.
    disable_symlinks on from=$document_root;
    max_ranges 1;
    types {
${types}
    }
    default_type application/octet-stream;
    # Cache-Control comes with the redirect itself.
${fileHeaders(
  PASSED_HEADERS.filter((h) => h !== 'Cache-Control'),
  variable,
)}
  }`;
}

/** The `http {}`-level configuration (upstream, cache zone, server) for /etc/nginx/conf.d/. */
export function nginxConfig(s: NginxSettings): string {
  checkSettings(s);
  const types = typesBlock();
  const cache = s.verdictCache > 0;
  const proxied = proxiedLines(s);
  return `# hls-gate behind nginx: hls-gate judges every request, nginx serves the granted files.
# Generated by \`hls-gate nginx-config\`; run the gateway with SERVE_VIA_NGINX=true and the same MEDIA_DIR and
# NGINX_PROXY_SECRET. This file holds that secret: keep it readable by root only.

${LOGS}
${
  cache
    ? `
# Granted verdicts only, for at most VERDICT_CACHE seconds and never past the grant (hls-gate sets X-Accel-Expires).
proxy_cache_path ${s.cacheDir} levels=1:2 keys_zone=hls_gate_verdicts:10m max_size=64m inactive=60s use_temp_path=off;
`
    : ''
}
upstream hls_gate {
  server ${s.upstream};
  keepalive 32;
}

server {
  listen ${s.listen};
  server_tokens off;
  access_log ${s.accessLog === 'off' ? 'off' : `${s.accessLog} ${LOG_FORMAT}`};
  # nginx writes the request line, query included, into every error-log line about a request: only its own failures.
  error_log ${s.errorLog} crit;

  # Everything but media: hls-gate answers (the API, uploads, the player page).
  location / {
    # No URI part: hls-gate receives the request line exactly as the client sent it and judges that.
    proxy_pass http://hls_gate;
    ${proxied}
    proxy_set_header ${VERDICT_HEADER} "";
    proxy_set_header ${WHOLE_HEADER} "";
    # Uploads stream through to hls-gate, which bounds them.
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_read_timeout 3600s;
    proxy_send_timeout 3600s;
  }

${mediaLocation(s, proxied, types)}

${verdictLocation(s, proxied)}

  location @hls_gate {
    proxy_pass http://hls_gate;
    ${proxied}
    proxy_set_header ${VERDICT_HEADER} "";
    proxy_set_header ${WHOLE_HEADER} "";
  }

${filesLocation(s, types)}
}
`;
}

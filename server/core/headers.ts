// The names of hls-gate's own HTTP headers, once: the gateway, the player, the CLI and the generated CloudFront
// Function and nginx configuration all take them from here. Plain strings only, so a browser bundle may import them.

/** On a media refusal: the DenialReason (core/denials.ts), exposed to CORS so a player can tell "refresh" from "give up". */
export const REASON_HEADER = 'X-Hls-Gate-Reason';
/** The header a player sends its device session token back in, on refresh and on stop (session control). */
export const SESSION_HEADER = 'X-Hls-Gate-Session';
/** On an upload hand-off to UPLOAD_WEBHOOK_URL (Workers): the hex HMAC-SHA256 of the body with ADMIN_SECRET. */
export const SIGNATURE_HEADER = 'X-Hls-Gate-Signature';

// Between nginx and the Node gateway (SERVE_VIA_NGINX, server/node/nginx-config.ts).

/** Set by nginx on its auth_request subrequest (and cleared on everything else): answer with a verdict. */
export const VERDICT_HEADER = 'X-Hls-Gate-Verdict';
/** On the verdict subrequest: the viewer's method (nginx sends subrequests as GET). */
export const METHOD_HEADER = 'X-Hls-Gate-Method';
/** Set by nginx on playlist requests it caches whole: answer with the file itself, cacheable like a verdict. */
export const WHOLE_HEADER = 'X-Hls-Gate-Whole';
/** On a granted verdict: the file to serve, relative to MEDIA_DIR, as hls-gate checked it (its real path). */
export const FILE_HEADER = 'X-Hls-Gate-File';
/**
 * Set by nginx on every request it passes to hls-gate, to NGINX_PROXY_SECRET: the proof that a request came through
 * nginx. Without it the gateway trusts no X-Forwarded-For and hands off no file: it refuses the request (`403
 * not-via-proxy`, server/node/file-responses.ts). nginx replaces a client's own header of that name (proxy_set_header).
 */
export const PROXY_HEADER = 'X-Hls-Gate-Proxy';

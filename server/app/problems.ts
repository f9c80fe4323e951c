// The one table of API problems (RFC 9457 problem details, https://www.rfc-editor.org/rfc/rfc9457): for every
// stable `code`, its one status, when the gateway answers it (the README's API error table says the same, and
// test/gateway/readme-facts.test.ts holds the two equal), and the detail where it is always the same. Media
// refusals are not here: they are CloudFront's XML and live in core/denials.ts.
// The player imports the ProblemCode type only, so its bundle carries no server code.

/** RFC 9110 section 15 reason phrases, for every status a problem is answered with (https://www.rfc-editor.org/rfc/rfc9110#section-15). */
export const TITLES = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  411: 'Length Required',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
} as const;

export type ProblemStatus = keyof typeof TITLES;

/** One API problem: its status, when it is answered, and its detail when that never varies. */
export interface ProblemSpec {
  status: ProblemStatus;
  when: string;
  detail?: string;
}

export const PROBLEMS = {
  // Requests the gateway cannot read.
  'bad-video-id': {
    status: 400,
    when: 'the ID is not `[A-Za-z0-9_-]{1,64}`',
    detail: 'Video IDs are 1 to 64 letters, digits, "-" or "_".',
  },
  'bad-path': {
    status: 400,
    when: 'a media path that is not a plain path inside the video folder (`..`, `%2f`, `%5c`, `\\`, NUL, double encoding)',
    detail: 'The media path is not a plain path inside the video folder.',
  },
  'bad-host': {
    status: 400,
    when: 'without `MEDIA_BASE_URL`: the `Host` is not a plain host name and port, or not on `MEDIA_HOSTS`',
    detail: 'The Host header does not name a media host this gateway serves (see MEDIA_BASE_URL and MEDIA_HOSTS).',
  },
  'bad-json': { status: 400, when: 'an API body that is not a JSON object (the detail shows the expected shape)' },
  'bad-videos': {
    status: 400,
    when: '`POST /api/demo/token`: `videos` is neither `"*"` nor a list of video IDs',
    detail: '"videos" must be "*" or a list of video IDs.',
  },
  'bad-ttl': {
    status: 400,
    when: '`ttl` is not whole seconds from 1 to 86400',
    detail: '"ttl" must be whole seconds, 1 to 86400.',
  },
  'bad-bind-ip': {
    status: 400,
    when: "a device link's `bindIp` is not `true` or `false`",
    detail: '"bindIp" must be true or false.',
  },
  'body-too-large': { status: 413, when: 'an API request body over 16 KB' },
  // Viewer tokens (app/auth.ts).
  'token-missing': {
    status: 401,
    when: 'no bearer token',
    detail: 'Send the viewer token as "Authorization: Bearer <JWT>".',
  },
  'token-invalid': {
    status: 401,
    when: 'bad signature or format',
    detail: 'The viewer token is not valid (bad signature or format).',
  },
  'token-expired': {
    status: 401,
    when: 'expired',
    detail: 'The viewer token has expired; get a new one from the host application.',
  },
  'token-claims': {
    status: 401,
    when: 'wrong audience/issuer',
    detail: 'The viewer token is for another audience or issuer, or lacks an expiry.',
  },
  'bad-subject': {
    status: 403,
    when: "the viewer token's `sub` breaks the one sub rule (well-formed Unicode, NFC, no control characters, at most 200 bytes of UTF-8)",
  },
  'no-entitlement': { status: 403, when: 'the token has no `videos` claim' },
  'not-entitled': {
    status: 403,
    when: "the token's `videos` claim does not list the video",
    detail: 'This viewer is not entitled to this video.',
  },
  'demo-off': {
    status: 404,
    when: '`POST /api/demo/token` while demo mode is off (the host application issues viewer tokens)',
    detail: 'Demo mode is off: the host application issues viewer tokens.',
  },
  // Grants and media.
  'ip-binding-unavailable': {
    status: 403,
    when: '`ACCESS_BIND_IP=true` and the viewer is not on IPv4 (CloudFront policies take IPv4 only)',
    detail: 'Grants are bound to the viewer IP address and only IPv4 addresses can be bound.',
  },
  'unknown-video': { status: 404, when: 'no such video', detail: 'There is no such video.' },
  'not-found': {
    status: 404,
    when: "no such file behind a valid grant (also a symlink leaving the video's folder, a FIFO, a file deleted before it was read); no such API endpoint or page",
  },
  'not-via-proxy': {
    status: 403,
    when: 'behind nginx (`SERVE_VIA_NGINX`): the request did not come through nginx (no valid `X-Hls-Gate-Proxy`)',
    detail: 'This gateway answers through its nginx only (SERVE_VIA_NGINX): use the nginx address.',
  },
  'bad-delivery-directive': {
    status: 400,
    when: 'a playlist request whose `_HLS_msn`, `_HLS_part` or `_HLS_skip` cannot be read (not a decimal integer, given twice, `_HLS_part` without `_HLS_msn`: RFC 8216bis section 6.2.5.2)',
  },
  'directive-too-far': {
    status: 400,
    when: 'a blocking playlist request for a segment more than two past the last one, or more parts ahead than the Advance Part Limit (RFC 8216bis section 6.2.5.2)',
    detail: 'The requested segment or part is too far ahead of the live edge.',
  },
  'playlist-not-updated': {
    status: 503,
    when: 'a blocking playlist request whose segment or part did not appear within three target durations, or a preload-hinted part that was not written in that time (RFC 8216bis sections 6.2.5.2, 6.2.6)',
    detail: 'The live stream did not reach the requested part in time.',
  },
  'too-many-held': {
    status: 503,
    when: 'a blocking request while 20,000 requests are already held, or 32 from the same address',
    detail: 'Too many requests are waiting for live playlists; try again.',
  },
  'playlist-too-large': {
    status: 500,
    when: 'a playlist over 4 MiB or 100,000 lines (playlists are read whole, to tokenize them and to tell live from finished)',
  },
  // Session control (app/session-control.ts).
  revoked: {
    status: 403,
    when: 'session control: this viewer or device was revoked',
    detail: 'Access for this viewer or device was revoked.',
  },
  'no-subject': { status: 403, when: 'the viewer token has no `sub` (session control and uploads need one)' },
  'too-many-streams': {
    status: 429,
    when: 'session control: the viewer already plays on `MAX_STREAMS_PER_VIEWER` devices',
  },
  'store-unavailable': {
    status: 503,
    when: 'session control: the session store cannot be reached and `SESSION_STORE_FAILURE=closed`',
    detail: 'The session store cannot be reached; try again shortly.',
  },
  // The admin API (app/routes-admin.ts).
  'admin-unauthorized': {
    status: 401,
    when: 'the admin API without the right `ADMIN_SECRET`',
    detail: 'Send the admin secret as "Authorization: Bearer <ADMIN_SECRET>".',
  },
  'bad-target': {
    status: 400,
    when: 'a revocation that does not name exactly one of `sub` (a valid sub) or `session` (a session id)',
  },
  'bad-until': {
    status: 400,
    when: "a revocation's `until` (or `ttl`) is not in the future or more than 10 years ahead",
    detail: 'Give "until" (epoch seconds, in the future) or "ttl" (seconds), at most 10 years.',
  },
  'not-revoked': {
    status: 404,
    when: 'lifting a revocation that does not exist',
    detail: 'There was no such revocation.',
  },
  // Uploads (app/routes-uploads.ts); the body refusals are the UploadRefusal codes of app/storage.ts.
  'uploads-off': { status: 404, when: '`UPLOADS` is off', detail: 'Uploads are off (UPLOADS=true turns them on).' },
  'no-upload-permission': {
    status: 403,
    when: 'the token does not grant uploads',
    detail: 'The viewer token does not grant uploads ("upload": true).',
  },
  'not-upload-owner': {
    status: 403,
    when: 'the upload belongs to another uploader',
    detail: 'This upload belongs to another uploader.',
  },
  'no-upload': { status: 404, when: 'nothing reserved under this ID (by this uploader)' },
  'video-exists': {
    status: 409,
    when: 'the ID is published or in the catalog (never overwritten, in any layout)',
    detail: 'A video with this ID is published or in the catalog; it is never overwritten.',
  },
  'upload-exists': {
    status: 409,
    when: 'another uploader holds the ID, or a body was already accepted under it',
    detail: 'Another uploader holds this ID, or a body was already accepted under it.',
  },
  'too-many-uploads': { status: 429, when: 'the uploader already has `UPLOAD_MAX_PENDING` unfinished uploads' },
  'storage-full': {
    status: 507,
    when: 'the disk would be left with less than `UPLOAD_MIN_FREE_BYTES`',
    detail: 'The gateway is short of disk space for uploads; try again later.',
  },
  'hash-missing': {
    status: 400,
    when: 'no `x-amz-content-sha256`',
    detail: "Send the body's SHA-256 (hex) in x-amz-content-sha256.",
  },
  'hash-malformed': {
    status: 400,
    when: '`x-amz-content-sha256` is not 64 hex digits',
    detail: 'x-amz-content-sha256 must be 64 hex digits.',
  },
  'hash-mismatch': {
    status: 400,
    when: 'the body does not match its `x-amz-content-sha256`',
    detail: 'The body does not match its x-amz-content-sha256.',
  },
  incomplete: {
    status: 400,
    when: 'the body ended before it was complete',
    detail: 'The body ended before it was complete (the client went away).',
  },
  'length-required': {
    status: 411,
    when: 'on Workers: no `Content-Length`',
    detail: 'Send Content-Length with the upload (this runtime stores a body of known length).',
  },
  'too-large': {
    status: 413,
    when: 'the body is over `UPLOAD_MAX_BYTES`',
    detail: 'The body is larger than UPLOAD_MAX_BYTES.',
  },
  'over-quota': {
    status: 413,
    when: 'the body would take the uploader past `UPLOAD_MAX_PENDING_BYTES`',
    detail: 'The body would take this uploader past UPLOAD_MAX_PENDING_BYTES of unfinished uploads.',
  },
  'not-a-video': {
    status: 415,
    when: 'the body does not start like an audio or video container',
    detail:
      'The body does not start like an audio or video container hls-gate accepts (MP4/MOV, Matroska/WebM, MPEG-TS/PS, AVI, FLV, MP3, AAC, WAV, FLAC, Ogg).',
  },
  // The gateway itself.
  'catalog-invalid': {
    status: 500,
    when: '`catalog.json` broke and there is no earlier good version (the log names the line)',
    detail: 'The video catalog (catalog.json) is invalid; the gateway log says which line.',
  },
  config: {
    status: 500,
    when: 'on Workers: the configuration is invalid (the detail says what to set, never a secret)',
  },
  internal: {
    status: 500,
    when: "anything else; the request log has the error's class and a token-free message",
    detail: 'The gateway failed to answer this request.',
  },
} as const satisfies Record<string, ProblemSpec>;

/** Every stable `code` of an API problem. */
export type ProblemCode = keyof typeof PROBLEMS;

/** The codes whose detail never varies: `problem(code)` needs no detail for them. */
export type FixedProblemCode = {
  [C in ProblemCode]: (typeof PROBLEMS)[C] extends { detail: string } ? C : never;
}[ProblemCode];

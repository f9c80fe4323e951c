// The usage text of every command, printed by `hls-gate <command> --help` (and on a usage error's hint).

export const USAGE: Record<string, string> = {
  keys: `hls-gate keys generate [--type rsa|ecdsa] [--out DIR]
  Makes a key pair: private_key.pem (PKCS#8, keep it secret) and public_key.pem (SPKI, for a CloudFront key group).
`,
  sign: `hls-gate sign cookies --resource URL --expires T [options]
hls-gate sign url URL --expires T [options]
  --expires T            when the grant ends (required)
  --not-before T         when it starts (must be before --expires)
  --ip CIDR              bind it to one IPv4 address or range
  --hash sha1|sha256     the signature's hash (default sha1, as CloudFront)
  --key-pair-id ID       default $CLOUDFRONT_KEY_PAIR_ID
  --private-key FILE     default $CLOUDFRONT_PRIVATE_KEY_FILE
 cookies only:
  --resource URL         the policy's Resource, e.g. 'https://media.example.com/videos/abc/*' (required)
  --canned               a canned policy (one exact URL, no wildcards)
  --json                 the cookies as JSON (the shape of @aws-sdk/cloudfront-signer's getSignedCookies)
  --header               one "Cookie: ..." line, for curl -H or hls-gate explain --cookie
  --domain D, --path P   attributes of the printed Set-Cookie lines
 url only:
  --resource PATTERN     a custom policy for PATTERN instead of exactly URL
T is epoch seconds, ISO 8601, or relative: +30m, +2h, +1d.
`,
  explain: `hls-gate explain --url URL [--cookie HEADER] [--client-ip IP] [--at T] --public-key ID=FILE [...] [--json]
  Lists every check in CloudFront's order and names the one that fails. Exit 0 granted, 1 denied.
`,
  token: `hls-gate token [--videos ID,ID|*] [--ttl T] [--sub NAME]
  Mints a viewer JWT (HS256) with the configured $AUTH_JWT_SECRET (and $AUTH_JWT_AUDIENCE / $AUTH_JWT_ISSUER when
  set), for local testing: curl -X POST -H "Authorization: Bearer $(hls-gate token --videos abc)" .../api/videos/abc/access
  --videos  the "videos" claim (default *)   --ttl  lifetime (default 1h)   --sub  the subject (default local-tester)
`,
  package: `hls-gate package <input> --id <videoId> [options]
  An adaptive HLS ladder from any video ffmpeg reads, checked like a player walks it, moved into the media folder
  in one rename, and added to catalog.json. Ctrl-C or a failure changes nothing.
  --title T, --description D   the catalog entry (title defaults to the ID)
  --ladder 1080,720,480,360    rendition heights (the default), each capped at the source's: never upscaled
  --format ts|cmaf             MPEG-TS segments (default) or fMP4/CMAF with EXT-X-MAP
  --segment-seconds N          segment length (default 4); keyframes aligned on it in every rendition
  --encrypt                    AES-128 with a fresh random key stored beside the segments (gated like them)
  --query-params               HLS variable substitution (EXT-X-DEFINE:QUERYPARAM) so a device link's signed query
                               reaches every file when CloudFront serves the playlists (hls.js, Apple players)
  --preset P                   x264 preset (default veryfast)
  --media-dir DIR              where videos live (default $MEDIA_DIR or ./media)
  --replace                    replace an existing video of that ID
  --json                       a machine-readable report on stdout
  ffmpeg and ffprobe come from FFMPEG_PATH (FFPROBE_PATH) or the PATH.
`,
  live: `hls-gate live <videoId> --input <source> [options]
  A live ABR ladder written into the media folder as it streams, served through the gate like any video; the catalog
  marks it live while it runs. When the source ends (or on Ctrl-C) the playlists get EXT-X-ENDLIST and the video
  stays as a recording. Sources:
    rtmp://HOST[:PORT]/APP  an encoder's push (OBS: Server rtmp://HOST:1935/APP); the Stream Key is LIVE_STREAM_KEY
    srt://HOST:PORT         an SRT caller, encrypted with LIVE_SRT_PASSPHRASE
    anything else           what ffmpeg reads: a file (played in real time), a URL, a device
  --input-format F             ffmpeg's input format, for a device or a generated source (v4l2, lavfi, ...)
  --title T                    the catalog entry's title (defaults to the ID)
  --ladder 720,360             rendition heights (the default), never above the source
  --segment-seconds N          segment length (default 2)
  --window N                   segments in the live playlist (default 6, 12 with --low-latency; older ones go)
  --low-latency                low-latency HLS: fMP4 parts, preload hints, blocking playlist reload at the gate
  --part-seconds S             the part length with --low-latency (default 1/3; 0.2 to 1)
  --dvr                        keep every segment: viewers can seek back, the recording is the whole event
  --grace S                    how long a dropped encoder may take to come back (default 30): same stream, a
                               discontinuity, no viewer interrupted
  --remove-at-end              remove the video when the stream ends instead of keeping the recording
  --replace                    replace a (not live) video of that ID
  --preset P                   x264 preset (default veryfast; ultrafast to medium)
  --media-dir DIR              where videos live (default $MEDIA_DIR or ./media): the working copy
  --s3 s3://bucket[/prefix]    also publish it there as it is written (videos/<id>/..., for CloudFront in front;
  --s3-endpoint URL              AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION from the environment)
  --r2 BUCKET                  or to R2 for the Worker (<id>/... and the bucket's catalog.json): local
  --r2-remote, --r2-persist D    (.wrangler/state) or --r2-remote through wrangler
  --json                       the final report as JSON on stdout
  --metrics-port N             Prometheus metrics of the ingest on 127.0.0.1:N (0 picks one; printed): state,
                               output bit rate, frames, segments written, reconnections ($METRICS_TOKEN honoured)
`,
  catalog: `hls-gate catalog list [--json] | add <videoId> [--title T] [--description D] [--duration S] | remove <videoId>
  Edits catalog.json in the media folder (--media-dir or $MEDIA_DIR, default ./media): validated, written atomically.
`,
  revoke: `hls-gate revoke --sub ID | --session ID [--for 30d | --until T] [--url URL]
hls-gate revoke list [--json] [--url URL]
hls-gate revoke lift --sub ID | --session ID [--url URL]
  Takes a grant back through the gateway's admin API (session control on: SESSION_SECRET and ADMIN_SECRET).
  The secret comes from $ADMIN_SECRET, the gateway from --url or $HLS_GATE_URL (default http://127.0.0.1:8787).
  A viewer's next media request is refused within SESSION_POLL (1 s), on every instance.
`,
  cloudfront: `hls-gate cloudfront stack --public-key public_key.pem --api-origin HOST --allowed-origin URL --out DIR
    [--public-key next.pem] [--allowed-origin URL]... [--session-control] [--uploads] [--live]
    [--domain media.example.com --certificate-arn ARN] [--stack-name NAME]
  Writes DIR/template.json: the CloudFormation stack (synthesised offline with aws-cdk-lib, an optional peer
  dependency) of everything hls-gate needs in front of it: a private S3 bucket with origin access control, the
  public keys and their key group, the distribution (/videos/* behind the key group, playlists short-lived, /api/*
  to the gateway, /uploads/* with --uploads), CORS with credentials for the exact origins, and with
  --session-control the revocation function and its KeyValueStore. The first --public-key signs; more stay trusted.
hls-gate cloudfront check <distribution-config.json | template.json> [--with FILE]... [--key-pair-id ID]
    [--public-key FILE] [--allowed-origin URL]... [--live] [--session-control] [--uploads] [--json]
  Says, rule by rule, what in a distribution (the JSON of aws cloudfront get-distribution-config, or a template)
  would break signed-cookie HLS. --with adds the documents it references (get-cache-policy,
  get-response-headers-policy, get-origin-request-policy, get-key-group, describe-function); a reference it cannot
  read is a problem. --key-pair-id and --allowed-origin default to $CLOUDFRONT_KEY_PAIR_ID and $ALLOWED_ORIGINS.
  Exit 0 sound, 1 problems, 2 bad usage.
hls-gate cloudfront function
hls-gate cloudfront kvs-sync --kvs-arn ARN [--current keys.json] [--out kvs-update.json] [--url URL]
  With CloudFront in front: the CloudFront Function (cloudfront-js-2.0, viewer request) that enforces session
  control at the edge, and the KeyValueStore update mirroring the gateway's revocations (ADMIN_SECRET and
  SESSION_SECRET from the environment; the file holds the secret and is written private, never printed).
`,
  'nginx-config': `hls-gate nginx-config [--listen PORT|ADDR:PORT] [--cache-dir DIR] [--access-log PATH|off] [--error-log PATH] [--out FILE]
  Prints the nginx configuration (for /etc/nginx/conf.d/) that puts nginx in front of this gateway: hls-gate judges
  every request, nginx serves the granted files with sendfile. Reads MEDIA_DIR, HOST, PORT, VERDICT_CACHE and
  NGINX_PROXY_SECRET as the gateway does; run the gateway with SERVE_VIA_NGINX=true and the same NGINX_PROXY_SECRET.
  --listen defaults to 80, --cache-dir (nginx's verdict cache) to /var/cache/nginx/hls-gate, --access-log to
  /var/log/nginx/access.log (paths without queries, no cookie), --error-log to /var/log/nginx/error.log (crit only).
  The output holds NGINX_PROXY_SECRET: --out FILE writes it readable by its owner only.
`,
  serve: `hls-gate serve
  Runs the gateway on Node with the configuration in the environment (the README's table). With none at all it runs
  the demo: a development key in ./.dev-keys and the videos in ./media.
`,
  'fetch-segments': `hls-gate fetch-segments <playlist-url> [options]   (details: hls-gate fetch-segments --help)
`,
};

export const HELP = `hls-gate: CloudFront-compatible signed cookies and URLs for private HLS

Usage:
  hls-gate serve                          run the gateway (configuration from the environment)
  hls-gate package <input> --id ID [...]  an mp4 into a gated HLS ladder in the media folder, catalog included
  hls-gate live ID --input SOURCE [...]   a live stream (RTMP, SRT, a file, a URL) into the media folder
  hls-gate catalog list|add|remove        edit catalog.json safely
  hls-gate revoke --sub ID | list | lift   take a grant back (session control)
  hls-gate cloudfront stack | check       CloudFront in front: the whole distribution as code, or a check of one
  hls-gate cloudfront function | kvs-sync  session control at the edge, with CloudFront in front
  hls-gate nginx-config [--listen PORT]    nginx in front: it serves the files hls-gate grants
  hls-gate keys generate [--type rsa|ecdsa] [--out DIR]
  hls-gate sign cookies --resource URL --expires T [...] [--json | --header]
  hls-gate sign url URL --expires T [...]
  hls-gate explain --url URL [--cookie HEADER] --public-key ID=FILE [...]
  hls-gate token [--videos ID,ID|*] [--ttl T]
  hls-gate fetch-segments <playlist-url> [options]
  hls-gate --version
  hls-gate <command> --help               the options of one command

T is epoch seconds, ISO 8601, or relative: +30m, +2h, +1d.
--key-pair-id and --private-key default to $CLOUDFRONT_KEY_PAIR_ID and $CLOUDFRONT_PRIVATE_KEY_FILE.
Exit codes: 0 success (explain: granted), 1 denied / failed expectation, 2 bad usage.
`;

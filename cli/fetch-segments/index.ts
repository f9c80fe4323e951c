import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError, type Io } from '../io.ts';
import { CookieJar } from './cookie-jar.ts';
import { crawl, redact, type FetchResult } from './crawl.ts';
import { walkLive } from './live.ts';
import type { HlsRequest } from './discover.ts';
import { jsonReport, phaseOk, renderPhase, type Expectation, type Phase } from './report.ts';
import { progressBar } from './progress.ts';
import { denialVariants } from './variants.ts';

const HELP = `hls-gate fetch-segments <playlist-url> [options]

Walks a whole HLS stream like a player (master, variants, EXT-X-MEDIA renditions, I-frame playlists, segments,
EXT-X-MAP init segments, EXT-X-KEY keys, EXT-X-BYTERANGE ranges) and reports what loads and what is refused.

Credentials (pick one, or none):
  --cookie "<Cookie header>"        send this Cookie header
  --cookies FILE                     JSON object of cookie name -> value (hls-gate sign cookies --json)
  --token JWT --access-url URL       call the hls-gate access endpoint and use the cookies it sets, honouring
                                     their Domain and Path like a browser (the playlist URL defaults to its answer)
  a signed URL + --propagate-query   carry its signed query string to every child URL
Options:
  --expect ok|denied      ok (default): every request must succeed; denied: every request must be refused
  --check-denials         with a grant: also re-request every URL without credentials, with a tampered
                          signature, with another video's policy (and, with --private-key, genuinely signed
                          other-video and expired policies): each must be refused
  --private-key FILE --key-pair-id ID   for --check-denials
  --max-segments N        segments per playlist (default: all)
  --concurrency N         parallel requests (default 4)
  --timeout SECONDS       per request (default 15); no retries
  --live SECONDS          follow a live stream for this long, reloading playlists as a player does, each new
                          segment fetched once; reports segments that are gone (404) and playlists that stop
                          advancing for more than 1.5 target durations (stalled)
  --json FILE|-           write a machine-readable report
Exit: 0 the expectation held, 1 it did not, 2 bad usage.
`;

function positiveInt(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number of at least 1`);
  return n;
}

export async function runFetchSegments(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      cookie: { type: 'string' },
      cookies: { type: 'string' },
      token: { type: 'string' },
      'access-url': { type: 'string' },
      'propagate-query': { type: 'boolean', default: false },
      'max-segments': { type: 'string' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'string' },
      expect: { type: 'string', default: 'ok' },
      'check-denials': { type: 'boolean', default: false },
      'private-key': { type: 'string' },
      'key-pair-id': { type: 'string' },
      live: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (values.expect !== 'ok' && values.expect !== 'denied') throw new UsageError('--expect must be ok or denied');
  const expect = values.expect;
  const credentialFlags = [values.cookie, values.cookies, values.token].filter((v) => v !== undefined).length;
  if (credentialFlags > 1) throw new UsageError('give one of --cookie, --cookies, --token');
  if (values.token && !values['access-url'])
    throw new UsageError('--token needs --access-url (the hls-gate access endpoint)');
  if (values['check-denials'] && expect === 'denied')
    throw new UsageError('--check-denials needs a valid grant and --expect ok');
  const liveSeconds = values.live === undefined ? undefined : positiveInt(values.live, '--live', 1);
  if (liveSeconds !== undefined && (values['check-denials'] || expect === 'denied'))
    throw new UsageError('--live follows a granted stream: not with --check-denials or --expect denied');
  const concurrency = positiveInt(values.concurrency, '--concurrency', 4);
  const timeoutMs = positiveInt(values.timeout, '--timeout', 15) * 1000;
  const maxSegments =
    values['max-segments'] === undefined ? undefined : positiveInt(values['max-segments'], '--max-segments', 1);

  let fixedCookie: string | undefined = values.cookie;
  if (values.cookies) {
    let map: unknown;
    try {
      map = JSON.parse(readFileSync(values.cookies, 'utf8'));
    } catch {
      throw new UsageError(`--cookies: cannot read JSON from "${values.cookies}"`);
    }
    if (typeof map !== 'object' || map === null)
      throw new UsageError('--cookies: expected a JSON object of cookie name -> value');
    fixedCookie = Object.entries(map as Record<string, unknown>)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join('; ');
  }

  let playlistUrl = positionals[0];
  const jar = new CookieJar(io.now);
  if (values.token) {
    const res = await fetch(values['access-url']!, {
      method: 'POST',
      headers: { Authorization: `Bearer ${values.token}` },
    }).catch((err: unknown) => {
      throw new UsageError(
        `--access-url: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`,
      );
    });
    const body = (await res.json().catch(() => ({}))) as { playlistUrl?: string; code?: string; detail?: string };
    if (!res.ok) {
      io.stderr(`access call refused: ${res.status} ${body.code ?? ''} ${body.detail ?? ''}\n`);
      return 1;
    }
    jar.store(values['access-url']!, res.headers.getSetCookie());
    playlistUrl ??= body.playlistUrl;
  }
  if (positionals.length > 1) throw new UsageError('give one playlist URL');
  if (!playlistUrl) throw new UsageError('a playlist URL is required (hls-gate fetch-segments --help)');
  try {
    new URL(playlistUrl);
  } catch {
    throw new UsageError(`"${playlistUrl}" is not a URL`);
  }

  // With `--json -` stdout carries the JSON report alone; everything meant for people goes to stderr.
  const human = values.json === '-' ? io.stderr : io.stdout;
  const cookieFor = (url: string) => fixedCookie ?? jar.header(url);
  const propagate = values['propagate-query'] ? new URL(playlistUrl).searchParams : undefined;
  const bar = progressBar(io.stderr, io.stderrTty === true);
  const phases: Phase[] = [];
  const run = async (
    name: string,
    start: HlsRequest[],
    ex: Expectation,
    follow: boolean,
    headersFor: (url: string) => Record<string, string>,
  ) => {
    const t0 = performance.now();
    const results: FetchResult[] = await crawl(start, {
      concurrency,
      timeoutMs,
      follow,
      headersFor,
      ...(maxSegments !== undefined ? { maxSegments } : {}),
      ...(propagate ? { propagateQuery: propagate } : {}),
      onProgress: (d, t) => bar.update(d, t),
    });
    bar.done();
    const phase: Phase = { name, expect: ex, results, seconds: (performance.now() - t0) / 1000 };
    phases.push(phase);
    human(`${renderPhase(phase)}\n\n`);
    return phase;
  };
  const headers = (cookie: string | undefined): Record<string, string> => (cookie ? { Cookie: cookie } : {});

  if (liveSeconds !== undefined)
    return await followLive(playlistUrl, liveSeconds, {
      human,
      json: values.json,
      io,
      timeoutMs,
      headersFor: (u) => headers(cookieFor(u)),
      ...(propagate ? { propagateQuery: propagate } : {}),
    });

  const main = await run(
    `walk ${playlistUrl.replace(/([?&](?:Signature|Policy)=)[^&]*/g, '$1…')}`,
    [{ url: playlistUrl, kind: 'playlist' }],
    expect,
    true,
    (u) => headers(cookieFor(u)),
  );
  if (expect === 'denied' && main.results.length === 1) {
    human(
      'note: a refused playlist hides its children; to prove every segment is refused, walk with a grant and --check-denials.\n\n',
    );
  }

  if (values['check-denials']) {
    const known: HlsRequest[] = main.results.map((r) => ({
      url: r.url,
      kind: r.kind,
      ...(r.range ? { range: r.range } : {}),
    }));
    const policyB64 =
      new URL(playlistUrl).searchParams.get('Policy') ??
      /CloudFront-Policy=([^;]+)/.exec(cookieFor(playlistUrl) ?? '')?.[1];
    const { variants, notes } = await denialVariants({
      ...(policyB64 ? { policyB64 } : {}),
      ...(values['private-key'] ? { privateKeyFile: values['private-key'] } : {}),
      ...(values['key-pair-id'] ? { keyPairId: values['key-pair-id'] } : {}),
      nowMs: io.now(),
    });
    for (const note of notes) human(`note: ${note}\n`);
    for (const v of variants) {
      await run(
        `same ${known.length} URLs ${v.name}`,
        known.map((r) => ({ ...r, url: v.url(r.url) })),
        'denied',
        false,
        (u) => headers(v.cookie(cookieFor(u))),
      );
    }
  }

  const ok = phases.every(phaseOk);
  if (values.json) {
    const report = jsonReport(phases);
    if (values.json === '-') io.stdout(`${report}\n`);
    else writeFileSync(values.json, report);
  }
  human(ok ? 'RESULT: PASS\n' : 'RESULT: FAIL\n');
  return ok ? 0 : 1;
}

/** `--live`: the walk, its phase table, the stalls, and the report. */
async function followLive(
  playlistUrl: string,
  seconds: number,
  o: {
    human: (text: string) => void;
    json: string | undefined;
    io: Io;
    timeoutMs: number;
    headersFor: (url: string) => Record<string, string>;
    propagateQuery?: URLSearchParams;
  },
): Promise<number> {
  const t0 = performance.now();
  const walk = await walkLive(playlistUrl, {
    seconds,
    timeoutMs: o.timeoutMs,
    headersFor: o.headersFor,
    ...(o.propagateQuery ? { propagateQuery: o.propagateQuery } : {}),
  });
  const phase: Phase = {
    name: `follow live ${redact(playlistUrl)} for ${seconds} s`,
    expect: 'ok',
    results: walk.results,
    seconds: (performance.now() - t0) / 1000,
  };
  o.human(`${renderPhase(phase)}\n`);
  for (const s of walk.stalls)
    o.human(
      `STALLED: ${redact(s.playlist)} did not advance for ${s.seconds} s (target duration ${s.targetDuration} s), at ${s.at} s\n`,
    );
  for (const url of walk.ended) o.human(`ended: ${redact(url)} (EXT-X-ENDLIST)\n`);
  const ok = phaseOk(phase) && walk.stalls.length === 0;
  if (o.json) {
    const report = jsonReport([phase], {
      stalls: walk.stalls.map((s) => ({ ...s, playlist: redact(s.playlist) })),
      ended: walk.ended.map(redact),
    });
    if (o.json === '-') o.io.stdout(`${report}\n`);
    else writeFileSync(o.json, report);
  }
  o.human(ok ? 'RESULT: PASS\n' : 'RESULT: FAIL\n');
  return ok ? 0 : 1;
}

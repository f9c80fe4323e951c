// The CloudFront Function that enforces session control at the edge, run in Node: its exact source (plus one line
// exporting `handler` so the test can call it), importing a stand-in of CloudFront's `cloudfront` module and Node's
// `crypto` (the runtime-2.0 crypto module offers the same createHmac). Events have CloudFront's viewer-request shape
// (cookies and query parameters as { value, multiValue: [{ value }] }:
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html); cookies and
// device links are issued by the gateway. It was NOT run on CloudFront itself: that needs an AWS account, which these
// machines do not have.
//
// The stand-in KeyValueStore keeps to what AWS documents
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html): get() resolves
// the value and "will return an error when the key that you requested doesn't exist"; exists() resolves a Boolean.
// AWS documents neither the message nor the shape of get()'s error for an absent key, so the stand-in's is unlike
// anything a function could match on. Keys are at most 512 bytes
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-keyvaluestores):
// put() refuses a longer one, as the store would, and reading one rejects (what AWS does there is undocumented; the
// function never asks). `faults` makes every read of a key reject with another error (throttling, say).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHmac } from 'node:crypto';
import { buildGateway } from '../../server/app/build.ts';
import { parseConfig } from '../../server/app/config.ts';
import { createFsStorage } from '../../server/node/fs-storage.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { MAX_SUBJECT_BYTES } from '../../server/app/subject.ts';
import { CLOUDFRONT_FUNCTION } from '../../cloudfront/function-source.ts';
import { main } from '../../cli/main.ts';
import { cookiesFrom, testEnv, viewerToken } from '../helpers/targets.ts';

const SESSION_SECRET = 'session-secret-that-is-long-enough-0123456789';
type Handler = (
  event: unknown,
) => Promise<{ statusCode?: number; headers?: Record<string, { value: string }>; uri?: string }>;
const KVS_KEY_MAX_BYTES = 512;
const store = new Map<string, string>();
const faults = new Map<string, Error>();
/** The KeyValueStore as the function sees it; set() refuses a key the real store could not hold. */
const kvs = {
  clear: () => (store.clear(), faults.clear()),
  set(key: string, value: string) {
    if (Buffer.byteLength(key) > KVS_KEY_MAX_BYTES)
      throw new Error(`a KeyValueStore key is at most ${KVS_KEY_MAX_BYTES} bytes`);
    store.set(key, value);
  },
};
const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
const STAND_IN = `const KEY_MAX = ${KVS_KEY_MAX_BYTES};
const read = (key) => {
  const fault = globalThis.__kvsFaults.get(key) ?? globalThis.__kvsFaults.get('*');
  if (fault) throw fault;
  if (new TextEncoder().encode(key).length > KEY_MAX) throw new Error('stand-in: key over ' + KEY_MAX + ' bytes');
  return globalThis.__kvs;
};
export default {
  kvs: () => ({
    get: async (key, options) => {
      const v = read(key).get(key);
      if (v === undefined) throw new Error('stand-in: absent key (AWS documents no message)');
      return options && options.format === 'json' ? JSON.parse(v) : v;
    },
    exists: async (key) => read(key).has(key),
    meta: async () => ({ creationDateTime: '2026-01-01T00:00:00Z', lastUpdatedDateTime: '2026-01-01T00:00:00Z', keyCount: globalThis.__kvs.size }),
  }),
};
`;
const toCf = (b64: string) => b64.replace(/\+/g, '-').replace(/=/g, '_').replace(/\//g, '~');
const fromCf = (text: string) => Buffer.from(text.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');
/** The gateway's session tag (server/app/session-control.ts material()), computed independently. */
const tagOf = (sid: string, sub: string, kid: string, resource: string, expires: number) =>
  toCf(
    createHmac('sha256', SESSION_SECRET)
      .update(`hls-gate-session-v1\n${sid}\n${sub}\n${kid}\n${resource}\n${expires}`)
      .digest('base64'),
  );
/**
 * A session cookie for `subBytes` (any bytes, e.g. over the limit), with a genuine tag for the grant in `cookies` (over
 * the sub as a decoder that does not refuse malformed UTF-8 reads it): what a cookie issued before the sub rule, or
 * one with a leaked secret, looks like.
 */
function sessionFor(cookies: Record<string, string>, subBytes: Buffer): string {
  const subForTag = subBytes.toString('utf8');
  const st = JSON.parse(fromCf(cookies['CloudFront-Policy']!).toString('utf8')).Statement[0];
  const sid = cookies['HlsGate-Session']!.split('.')[0]!;
  return `${sid}.${toCf(subBytes.toString('base64'))}.${tagOf(sid, subForTag, cookies['CloudFront-Key-Pair-Id']!, st.Resource, st.Condition.DateLessThan['AWS:EpochTime'])}`;
}

describe('the generated CloudFront Function', () => {
  let dir: string;
  let handler: Handler;
  let grant: (videoId: string, sub?: string) => Promise<Record<string, string>>;
  let deviceLink: (videoId: string, sub?: string) => Promise<URL>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-cff-'));
    mkdirSync(join(dir, 'node_modules/cloudfront'), { recursive: true });
    writeFileSync(
      join(dir, 'node_modules/cloudfront/package.json'),
      JSON.stringify({ name: 'cloudfront', type: 'module', main: 'index.js' }),
    );
    writeFileSync(join(dir, 'node_modules/cloudfront/index.js'), STAND_IN);
    Object.assign(globalThis, { __kvs: store, __kvsFaults: faults });
    writeFileSync(join(dir, 'function.mjs'), `${CLOUDFRONT_FUNCTION}\nexport { handler };\n`);
    ({ handler } = (await import(pathToFileURL(join(dir, 'function.mjs')).href)) as { handler: Handler });

    const app = await buildGateway(
      parseConfig(testEnv({ SESSION_SECRET, MEDIA_BASE_URL: 'https://media.example.com', MEDIA_HOSTS: undefined })),
      createFsStorage(join(REPO_ROOT, 'media')),
      { log: () => {}, events: () => {} },
    );
    grant = async (videoId, sub = 'viewer-1') =>
      cookiesFrom(
        await app.request(`https://media.example.com/api/videos/${videoId}/access`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${await viewerToken('*', { sub })}` },
        }),
      );
    deviceLink = async (videoId, sub = 'viewer-1') => {
      const res = await app.request(`https://media.example.com/api/videos/${videoId}/device-link`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*', { sub })}` },
      });
      expect(res.status).toBe(200);
      return new URL(((await res.json()) as { url: string }).url);
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Several values of one name: `value` holds the first, `multiValue` all of them (functions-event-structure.html).
  const field = (v: string | string[]) =>
    Array.isArray(v) ? { value: v[0] ?? '', multiValue: v.map((value) => ({ value })) } : { value: v };
  const fields = (o: Record<string, string | string[]>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, field(v)]));
  const event = (
    cookies: Record<string, string | string[]>,
    uri = '/videos/ladder/master.m3u8',
    query: Record<string, string | string[]> = {},
  ) => ({
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '192.0.2.1' },
    request: { method: 'GET', uri, querystring: fields(query), headers: {}, cookies: fields(cookies) },
  });
  /** A request for `url` (a device link, or a file it names) as CloudFront hands it over: the query's values as sent. */
  const urlEvent = (url: URL, cookies: Record<string, string | string[]> = {}) => {
    const query: Record<string, string[]> = {};
    for (const pair of url.search.slice(1).split('&').filter(Boolean)) {
      const eq = pair.indexOf('=');
      (query[eq < 0 ? pair : pair.slice(0, eq)] ??= []).push(eq < 0 ? '' : pair.slice(eq + 1));
    }
    return event(
      cookies,
      url.pathname,
      Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v.length === 1 ? v[0]! : v])),
    );
  };
  const fresh = () => {
    kvs.clear();
    kvs.set('hls-gate:session-secret', SESSION_SECRET);
  };
  const reason = (r: Awaited<ReturnType<Handler>>) => r.headers?.['x-hls-gate-reason']?.value;

  it('is small enough for CloudFront Functions (10 KB) and uses only what runtime 2.0 offers', () => {
    // A function's code is at most 10 KB (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-functions).
    expect(Buffer.byteLength(CLOUDFRONT_FUNCTION)).toBeLessThanOrEqual(10 * 1024);
    expect(CLOUDFRONT_FUNCTION).toMatch(/^import cf from 'cloudfront';\nimport crypto from 'crypto';/);
    expect(CLOUDFRONT_FUNCTION).not.toMatch(/Promise\.(all|any|race)|\.then\(|fetch\(|require\(/);
  });

  it('lets a session issued by the gateway through, unchanged', async () => {
    kvs.clear();
    kvs.set('hls-gate:session-secret', SESSION_SECRET);
    const e = event(await grant('ladder'));
    expect(await handler(e)).toBe(e.request);
  });

  it('refuses a missing, forged, renamed or moved session cookie', async () => {
    kvs.clear();
    kvs.set('hls-gate:session-secret', SESSION_SECRET);
    const ladder = await grant('ladder');
    const cmaf = await grant('cmaf');
    const { 'HlsGate-Session': session, ...withoutSession } = ladder;
    expect(reason(await handler(event(withoutSession)))).toBe('session-invalid');
    const forged = session!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect(reason(await handler(event({ ...ladder, 'HlsGate-Session': forged })))).toBe('session-invalid');
    const [sid, , tag] = session!.split('.');
    expect(
      reason(
        await handler(
          event({ ...ladder, 'HlsGate-Session': `${sid}.${Buffer.from('mallory').toString('base64')}.${tag}` }),
        ),
      ),
    ).toBe('session-invalid');
    expect(reason(await handler(event({ ...cmaf, 'HlsGate-Session': session! }, '/videos/cmaf/master.m3u8')))).toBe(
      'session-invalid',
    );
  });

  it('refuses a revoked viewer or session from the KeyValueStore, until the revocation ends', async () => {
    kvs.clear();
    kvs.set('hls-gate:session-secret', SESSION_SECRET);
    const cookies = await grant('ladder', 'erin');
    const now = Math.floor(Date.now() / 1000);
    kvs.set('sub:erin', String(now + 600));
    expect(reason(await handler(event(cookies)))).toBe('revoked');
    kvs.set('sub:erin', String(now - 1));
    expect((await handler(event(cookies))).statusCode).toBeUndefined();
    kvs.set(`session:${cookies['HlsGate-Session']!.split('.')[0]}`, String(now + 600));
    expect(reason(await handler(event(cookies)))).toBe('revoked');
    expect((await handler(event(await grant('ladder', 'erin')))).statusCode).toBeUndefined(); // another device of erin
  });

  it('refuses everything while the KeyValueStore holds no secret', async () => {
    kvs.clear();
    expect(reason(await handler(event(await grant('ladder'))))).toBe('session-invalid');
  });

  it('the test computes the session tag as the gateway does (material() of server/app/session-control.ts)', async () => {
    const cookies = await grant('ladder', 'carol');
    expect(sessionFor(cookies, Buffer.from('carol'))).toBe(cookies['HlsGate-Session']);
  });

  // Decision: a KeyValueStore that answers anything but "absent" refuses every request it was asked about (503
  // store-unavailable, Retry-After: 1), whether or not the viewer is revoked: the function cannot know.
  it('fails closed when the KeyValueStore fails (not "absent"): a revoked viewer is refused', async () => {
    fresh();
    const cookies = await grant('ladder', 'gina');
    kvs.set('sub:gina', String(Math.floor(Date.now() / 1000) + 600));
    faults.set('sub:gina', throttled());
    const r = await handler(event(cookies));
    expect([r.statusCode, reason(r), r.headers?.['retry-after']?.value]).toEqual([503, 'store-unavailable', '1']);
  });

  it('fails closed when the KeyValueStore fails (not "absent"): a viewer in good standing is refused too, on any key', async () => {
    fresh();
    const cookies = await grant('ladder', 'gail');
    const sid = cookies['HlsGate-Session']!.split('.')[0]!;
    for (const key of ['sub:gail', `session:${sid}`, 'hls-gate:session-secret', '*']) {
      faults.clear();
      faults.set(key, key === '*' ? new TypeError('anything else') : throttled());
      const r = await handler(event(cookies));
      expect([key, r.statusCode, reason(r)]).toEqual([key, 503, 'store-unavailable']);
    }
    faults.clear();
    const e = event(cookies);
    expect(await handler(e)).toBe(e.request); // absent keys: not revoked
  });

  it('a revocation whose end cannot be read is a revocation', async () => {
    fresh();
    const cookies = await grant('ladder', 'hank');
    kvs.set('sub:hank', 'not-a-time');
    expect(reason(await handler(event(cookies)))).toBe('revoked');
    kvs.set('sub:hank', '');
    expect(reason(await handler(event(cookies)))).toBe('revoked');
  });

  it('a session whose sub breaks the sub rule is junk, even with a genuine tag: over MAX_SUBJECT_BYTES, over the store key limit, malformed', async () => {
    fresh();
    const cookies = await grant('ladder');
    const judged = async (sub: Buffer) => handler(event({ ...cookies, 'HlsGate-Session': sessionFor(cookies, sub) }));
    const atLimit = await judged(Buffer.from('é'.repeat(MAX_SUBJECT_BYTES / 2)));
    expect(atLimit.statusCode).toBeUndefined();
    expect(reason(await judged(Buffer.from('a'.repeat(MAX_SUBJECT_BYTES + 1))))).toBe('session-invalid');
    // A sub the store could not hold as a key (`sub:` + 600 bytes): its revocation can never reach the store.
    expect(() => kvs.set(`sub:${'m'.repeat(600)}`, '9999999999')).toThrow();
    expect(reason(await judged(Buffer.from('m'.repeat(600))))).toBe('session-invalid');
    expect(reason(await judged(Buffer.from('bad\u0001sub')))).toBe('session-invalid');
    expect(reason(await judged(Buffer.from('e\u0301')))).toBe('session-invalid'); // not NFC
    expect(reason(await judged(Buffer.from([0x61, 0xff, 0x62])))).toBe('session-invalid'); // not UTF-8
    expect(reason(await judged(Buffer.from([0xed, 0xa0, 0x80])))).toBe('session-invalid'); // a lone surrogate
  });

  it('a planted policy that is not one statement is junk: no throw, the real cookie is judged', async () => {
    fresh();
    const cookies = await grant('ladder');
    const b64 = (text: string) => toCf(Buffer.from(text).toString('base64'));
    for (const planted of [
      '{"Statement":[]}',
      'null',
      '{"Statement":[null]}',
      '{"Statement":"x"}',
      '{"Statement":[{"Resource":"x"}]}',
      '{"Statement":[{"Resource":7,"Condition":{"DateLessThan":{"AWS:EpochTime":1}}}]}',
      'not json',
    ]) {
      for (const order of [
        [b64(planted), cookies['CloudFront-Policy']!],
        [cookies['CloudFront-Policy']!, b64(planted)],
      ]) {
        const e = event({ ...cookies, 'CloudFront-Policy': order });
        await expect(handler(e)).resolves.toBe(e.request);
      }
      expect(reason(await handler(event({ ...cookies, 'CloudFront-Policy': b64(planted) })))).toBe('session-invalid');
    }
    const e = event({ ...cookies, 'CloudFront-Policy': ['%%%', 'x'.repeat(20_000), cookies['CloudFront-Policy']!] });
    await expect(handler(e)).resolves.toBe(e.request);
  });

  it('planted cookies cannot push the real ones out: junk is skipped before counting', async () => {
    fresh();
    const cookies = await grant('ladder');
    const real = cookies['HlsGate-Session']!;
    const [sid, subB64] = real.split('.');
    const junk = Array.from(
      { length: 20 },
      (_, i) =>
        [`junk${i}`, `${sid}.${subB64}`, `${sid}.${subB64}.short`, `x.y.z`, `${sid}!.${subB64}.${'A'.repeat(43)}_`][
          i % 5
        ]!,
    );
    let e = event({ ...cookies, 'HlsGate-Session': [...junk, real] });
    expect(await handler(e)).toBe(e.request);
    e = event({
      ...cookies,
      'HlsGate-Session': [...junk, real],
      'CloudFront-Policy': [...junk, cookies['CloudFront-Policy']!],
      'CloudFront-Key-Pair-Id': [...junk.map((j) => `${j}!`), cookies['CloudFront-Key-Pair-Id']!],
    });
    expect(await handler(e)).toBe(e.request);
    // Well-formed values with forged tags do count (each costs an HMAC), but a few of them do not push the real one out.
    const forged = Array.from({ length: 6 }, (_, i) => `${sid}.${subB64}.${String.fromCharCode(65 + i).repeat(43)}_`);
    e = event({ ...cookies, 'HlsGate-Session': [...forged, real] });
    expect(await handler(e)).toBe(e.request);
  });

  it('does bounded work on a request stuffed with well-formed forgeries: at most SESSIONS x POLICIES x KEY_IDS (8 x 4 x 2) HMACs', async () => {
    fresh();
    const cookies = await grant('ladder');
    const [sid, subB64] = cookies['HlsGate-Session']!.split('.');
    const forged = Array.from(
      { length: 200 },
      (_, i) => `${sid}.${subB64}.${toCf(createHmac('sha256', 'not-the-secret').update(String(i)).digest('base64'))}`,
    );
    const st = JSON.parse(fromCf(cookies['CloudFront-Policy']!).toString('utf8')).Statement[0];
    const policies = Array.from({ length: 20 }, (_, i) =>
      toCf(Buffer.from(JSON.stringify({ Statement: [{ ...st, Resource: `${st.Resource}${i}` }] })).toString('base64')),
    );
    const kids = Array.from({ length: 10 }, (_, i) => `K${i}`);
    const nodeCrypto = (await import('node:crypto')).default as unknown as { createHmac: typeof createHmac };
    const original = nodeCrypto.createHmac;
    let hmacs = 0;
    nodeCrypto.createHmac = (...args: Parameters<typeof createHmac>) => (hmacs++, original(...args));
    try {
      const r = await handler(
        event({ 'HlsGate-Session': forged, 'CloudFront-Policy': policies, 'CloudFront-Key-Pair-Id': kids }),
      );
      expect(reason(r)).toBe('session-invalid');
    } finally {
      nodeCrypto.createHmac = original;
    }
    expect(hmacs).toBeGreaterThan(0);
    expect(hmacs).toBeLessThanOrEqual(8 * 4 * 2);
  });

  it('device links: the session in the query, judged by the URL alone when it carries signed-URL parameters', async () => {
    fresh();
    const link = await deviceLink('ladder', 'ivan');
    expect(link.searchParams.get('HlsGate-Session')).toBeTruthy();
    let e = urlEvent(link);
    expect(await handler(e)).toBe(e.request);
    // A file the tokenized playlist names carries the same query.
    const child = new URL(link);
    child.pathname = child.pathname.replace(/[^/]+$/, '720p/index.m3u8');
    e = urlEvent(child);
    expect(await handler(e)).toBe(e.request);
    // Percent-encoded the way some players re-encode URLs (~ as %7E): the same values.
    e = urlEvent(new URL(link.href.replace(/~/g, '%7E')));
    expect(await handler(e)).toBe(e.request);
    // Junk in front of the real session in the query.
    const session = link.searchParams.get('HlsGate-Session')!;
    const withJunk = new URL(link);
    withJunk.search = `${['a', 'b.c', 'd.e.f', 'x'.repeat(50)].map((j) => `HlsGate-Session=${j}`).join('&')}&${link.search.slice(1)}`;
    e = urlEvent(withJunk);
    expect(await handler(e)).toBe(e.request);

    // Forged or moved sessions.
    const forged = new URL(
      link.href.replace(
        `HlsGate-Session=${session}`,
        `HlsGate-Session=${session.replace(/.(?=_$)/, (c) => (c === 'A' ? 'B' : 'A'))}`,
      ),
    );
    expect(reason(await handler(urlEvent(forged)))).toBe('session-invalid');
    const other = await deviceLink('ladder', 'ivan'); // another device (same grant window: the same policy)
    const elsewhere = await deviceLink('cmaf', 'ivan');
    const moved = new URL(
      link.href.replace(
        `HlsGate-Session=${session}`,
        `HlsGate-Session=${elsewhere.searchParams.get('HlsGate-Session')!}`,
      ),
    );
    expect(reason(await handler(urlEvent(moved)))).toBe('session-invalid');
    const noSession = new URL(link);
    noSession.searchParams.delete('HlsGate-Session');
    expect(reason(await handler(urlEvent(noSession)))).toBe('session-invalid');

    // Revoked: the viewer, or this one device session.
    const now = Math.floor(Date.now() / 1000);
    kvs.set('sub:ivan', String(now + 600));
    expect(reason(await handler(urlEvent(link)))).toBe('revoked');
    store.delete('sub:ivan');
    kvs.set(`session:${session.split('.')[0]}`, String(now + 600));
    expect(reason(await handler(urlEvent(link)))).toBe('revoked');
    e = urlEvent(other);
    expect(await handler(e)).toBe(e.request);
    // CloudFront judges a URL with signed-URL parameters by the URL alone: cookies of a session in good standing
    // do not rescue a revoked link.
    const cookies = await grant('ladder', 'judy');
    expect(reason(await handler(urlEvent(link, cookies)))).toBe('revoked');
    const store503 = urlEvent(other);
    faults.set('*', throttled());
    expect(reason(await handler(store503))).toBe('store-unavailable');
  });

  it('`hls-gate cloudfront function` prints exactly this source', async () => {
    let out = '';
    expect(
      await main(['cloudfront', 'function'], {
        stdout: (t) => void (out += t),
        stderr: () => {},
        env: {},
        now: () => Date.now(),
      }),
    ).toBe(0);
    expect(out).toBe(CLOUDFRONT_FUNCTION);
  });
});

describe('hls-gate cloudfront kvs-sync', () => {
  it('writes the KeyValueStore update (revocations, deletions, the secret) to a private file and prints only the commands', async () => {
    const { startNodeGateway } = await import('../../server/node/start.ts');
    const { readFileSync, statSync } = await import('node:fs');
    const ADMIN_SECRET = 'admin-secret-that-is-long-enough-0123456789ab';
    const gw = await startNodeGateway(testEnv({ PORT: '0', SESSION_SECRET, ADMIN_SECRET }), {
      log: () => {},
      events: () => {},
    });
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-kvs-'));
    try {
      await fetch(`${gw.url}/api/admin/revocations`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_SECRET}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ sub: 'frank', ttl: 600 }),
      });
      writeFileSync(
        join(dir, 'keys.json'),
        JSON.stringify({
          Items: [
            { Key: 'sub:lifted-user', Value: '1' },
            { Key: 'hls-gate:session-secret', Value: 'x' },
          ],
        }),
      );
      let out = '';
      const code = await main(
        [
          'cloudfront',
          'kvs-sync',
          '--kvs-arn',
          'arn:aws:cloudfront::123456789012:key-value-store/abc',
          '--current',
          join(dir, 'keys.json'),
          '--out',
          join(dir, 'update.json'),
          '--url',
          gw.url,
        ],
        {
          stdout: (t) => void (out += t),
          stderr: () => {},
          env: { ADMIN_SECRET, SESSION_SECRET },
          now: () => Date.now(),
        },
      );
      expect(code).toBe(0);
      expect(out).toContain(
        'aws cloudfront-keyvaluestore update-keys --kvs-arn arn:aws:cloudfront::123456789012:key-value-store/abc --if-match "$ETAG"',
      );
      expect(out).not.toContain(SESSION_SECRET);
      const update = JSON.parse(readFileSync(join(dir, 'update.json'), 'utf8')) as {
        Puts: { Key: string; Value: string }[];
        Deletes: { Key: string }[];
      };
      expect(update.Puts.map((p) => p.Key).sort()).toEqual(['hls-gate:session-secret', 'sub:frank']);
      expect(update.Deletes).toEqual([{ Key: 'sub:lifted-user' }]);
      expect(statSync(join(dir, 'update.json')).mode & 0o777).toBe(0o600);
    } finally {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

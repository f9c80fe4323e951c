// Only a plain, allowed host may ever reach a policy: tried with raw Host headers against a real Node server, in
// a configured deployment (MEDIA_HOSTS) and in the demo (any plain host).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';
import { createMediaOrigin } from '../../server/app/hosts.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with a Host header of our choosing (fetch cannot send one). */
function raw(
  base: string,
  method: string,
  path: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, setHost: false, headers: { Host: host, ...headers } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const policyResource = (setCookies: string[] | string | undefined): string | undefined => {
  const list = Array.isArray(setCookies) ? setCookies : setCookies ? [setCookies] : [];
  const policy = list
    .find((c) => c.startsWith('CloudFront-Policy='))
    ?.split(';')[0]!
    .slice('CloudFront-Policy='.length);
  if (!policy) return undefined;
  const json = Buffer.from(policy.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64').toString();
  return (JSON.parse(json) as { Statement: [{ Resource: string }] }).Statement[0].Resource;
};

// (An empty Host is replaced by the server's own listening address by @hono/node-server: not attacker-chosen.)
const BAD_HOSTS = [
  '*',
  '*.example.com',
  'media.example.com?x',
  'a b',
  'media.example.com:0',
  'media.example.com:99999',
  'media.example.com:*',
  '[::1',
];

describe('a configured deployment with MEDIA_HOSTS', () => {
  let gw: RunningGateway;
  let token: string;
  beforeAll(async () => {
    gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_HOSTS: 'media.example.test,127.0.0.1' }), { log: () => {} });
    token = await viewerToken('*');
  });
  afterAll(() => gw.close());
  const access = (host: string) =>
    raw(gw.url, 'POST', '/api/videos/ladder/access', host, { Authorization: `Bearer ${token}` });

  it('a policy names the allowed host the viewer used, with its port', async () => {
    const res = await access('media.example.test:8443');
    expect(res.status).toBe(200);
    expect(policyResource(res.headers['set-cookie'])).toBe('http://media.example.test:8443/videos/ladder/*');
  });

  it.each([...BAD_HOSTS, 'evil.example.com', 'media.example.test.evil.com'])(
    'Host %j: 400 bad-host, no cookie, for access and media alike',
    async (host) => {
      const res = await access(host);
      expect(res.status).toBe(400);
      if (res.body) expect(JSON.parse(res.body)).toMatchObject({ code: 'bad-host' });
      expect(res.headers['set-cookie']).toBeUndefined();
      const media = await raw(gw.url, 'GET', '/videos/ladder/master.m3u8', host);
      expect(media.status).toBe(400);
    },
  );
});

describe('the demo: any plain host, never a wildcard', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startNodeGateway({ PORT: '0', DEMO: 'true' }, { log: () => {} });
  });
  afterAll(() => gw.close());

  it('plain hosts get a policy for themselves; wildcards and junk get 400', async () => {
    const tokenRes = await fetch(`${gw.url}/api/demo/token`, { method: 'POST' });
    const { token } = (await tokenRes.json()) as { token: string };
    const ok = await raw(gw.url, 'POST', '/api/videos/ladder/access', 'localhost:9999', {
      Authorization: `Bearer ${token}`,
    });
    expect(policyResource(ok.headers['set-cookie'])).toBe('http://localhost:9999/videos/ladder/*');
    for (const host of BAD_HOSTS) {
      const res = await raw(gw.url, 'POST', '/api/videos/ladder/access', host, { Authorization: `Bearer ${token}` });
      expect(res.status, host).toBe(400);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });
});

describe('API request bodies are bounded', () => {
  it('a JSON body that is not an object (null, an array, a number, broken) is 400 bad-json, never a 500', async () => {
    const gw = await startNodeGateway({ PORT: '0', DEMO: 'true' }, { log: () => {} });
    try {
      for (const body of ['null', '[1]', '42', '{"videos":']) {
        const res = await fetch(`${gw.url}/api/demo/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body,
        });
        expect(res.status, body).toBe(400);
        expect(await res.json()).toMatchObject({ code: 'bad-json', detail: expect.stringContaining('"videos"') });
      }
    } finally {
      await gw.close();
    }
  });

  it('a 1 MB body to the demo token endpoint is refused with 413 before it is read', async () => {
    const gw = await startNodeGateway({ PORT: '0', DEMO: 'true' }, { log: () => {} });
    try {
      const res = await fetch(`${gw.url}/api/demo/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: `{"videos":"*","pad":"${'x'.repeat(1024 * 1024)}"}`,
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ code: 'body-too-large' });
      expect(
        (
          await fetch(`${gw.url}/api/demo/token`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: '{"videos":["ladder"]}',
          })
        ).status,
      ).toBe(200);
    } finally {
      await gw.close();
    }
  });
});

describe('the media origin, worked out once per authority', () => {
  // Tricky request URLs: each must get the answer a fresh parse gives, whatever was asked before it.
  const urls = [
    'http://media.example.test:8443/videos/a/x.ts',
    'http://media.example.test:8443\\evil.example.com/videos/a/x.ts',
    'http://evil.example.com\\media.example.test:8443/videos/a/x.ts',
    'http://media.example.test:8443?x/videos/a/x.ts',
    'http://media.example.test:8443#x/videos/a/x.ts',
    'http://user@media.example.test:8443/videos/a/x.ts',
    'http://MEDIA.example.test:8443/videos/a/x.ts',
    'http://media.example.test:08443/videos/a/x.ts',
    'http://127.0.0.1/videos/a/x.ts',
    'http://evil.example.com/videos/a/x.ts',
  ];
  it('answers every URL as a fresh parse would, in any order, and after its cache has been flooded', () => {
    const config = { mediaHosts: ['media.example.test', '127.0.0.1'] };
    const fresh = (u: string) => createMediaOrigin(config)(u);
    const memo = createMediaOrigin(config);
    const expected = urls.map(fresh);
    expect(expected[0]).toBe('http://media.example.test:8443');
    expect(expected[9]).toBeNull();
    for (const order of [urls, [...urls].reverse()]) for (const u of order) expect(memo(u)).toBe(fresh(u));
    for (let i = 0; i < 1000; i++) expect(memo(`http://made-up-${i}.example.com/videos/a/x.ts`)).toBeNull();
    urls.forEach((u, i) => expect(memo(u)).toBe(expected[i]));
  });
});

// The zero-configuration rule on Workers is the one on Node (server/app/mode.ts): a partly configured Worker
// refuses every request with a message naming what is missing, and never falls back to the public demo.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Miniflare } from 'miniflare';
import { startWorkerd } from '../helpers/workerd.ts';
import { testEnv } from '../helpers/targets.ts';

describe('workerd: only MEDIA_BASE_URL and COOKIE_DOMAIN set', () => {
  let mf: Miniflare;
  beforeAll(async () => {
    mf = await startWorkerd({ MEDIA_BASE_URL: 'https://media.example.com', COOKIE_DOMAIN: 'example.com' });
  });
  afterAll(() => mf?.dispose());

  it('refuses to run, says what is missing, and hands out no demo token', async () => {
    const res = await mf.dispatchFetch('http://localhost:8787/api/demo/token', { method: 'POST' });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { code: string; detail: string };
    expect(body.code).toBe('config');
    expect(body.detail).toMatch(
      /MEDIA_BASE_URL, COOKIE_DOMAIN are set.*CLOUDFRONT_KEY_PAIR_ID.*AUTH_JWT_SECRET.*set DEMO=true instead/,
    );
    expect((await mf.dispatchFetch('http://localhost:8787/videos/ladder/master.m3u8')).status).toBe(500);
  });
});

describe('workerd: DEMO=true beside AUTH_JWT_SECRET', () => {
  let mf: Miniflare;
  beforeAll(async () => {
    mf = await startWorkerd({ DEMO: 'true', AUTH_JWT_SECRET: 'a-production-secret-that-is-long-enough-0123' });
  });
  afterAll(() => mf?.dispose());

  it('refuses: demo tokens are never signed with a production secret', async () => {
    const res = await mf.dispatchFetch('http://localhost:8787/api/demo/token', { method: 'POST' });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { detail: string }).detail).toMatch(
      /DEMO=true cannot be combined with AUTH_JWT_SECRET/,
    );
  });
});

describe('workerd: session control without its Durable Object binding', () => {
  let mf: Miniflare;
  beforeAll(async () => {
    mf = await startWorkerd({
      ...Object.fromEntries(Object.entries(testEnv()).filter((e): e is [string, string] => typeof e[1] === 'string')),
      SESSION_SECRET: 'session-secret-that-is-long-enough-0123456789',
    });
  });
  afterAll(() => mf?.dispose());

  it('refuses with the binding to add, instead of keeping leases per isolate', async () => {
    const res = await mf.dispatchFetch('http://localhost:8787/healthz');
    expect(res.status).toBe(500);
    expect(((await res.json()) as { detail: string }).detail).toMatch(
      /needs the Durable Object: bind SESSIONS to the class SessionStoreDO/,
    );
  });
});

// CORS on the signed upload PUT (issue 22): a page on another origin (the split deployment) must get its preflight
// for PUT /uploads/<id>/source answered, with credentials, for ALLOWED_ORIGINS only, at the root and under a
// mount prefix. The browser side of the same thing is test/e2e/upload-cross-origin.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { startNodeGateway, type RunningGateway } from '../../server/node/start.ts';
import { createGateway } from '../../server/hono/index.ts';
import { createFsStorage } from '../../server/node/fs-storage.ts';
import { ALLOWED_ORIGIN, testEnv } from '../helpers/targets.ts';

const OTHER_ORIGIN = 'http://evil.example.test';
const preflight = (origin: string) => ({
  method: 'OPTIONS',
  headers: {
    Origin: origin,
    'Access-Control-Request-Method': 'PUT',
    'Access-Control-Request-Headers': 'x-amz-content-sha256',
  },
});

function expectGranted(res: Response, origin: string): void {
  expect(res.status).toBe(204);
  expect(res.headers.get('Access-Control-Allow-Origin')).toBe(origin);
  expect(res.headers.get('Access-Control-Allow-Credentials')).toBe('true');
  expect(res.headers.get('Access-Control-Allow-Methods')).toMatch(/\bPUT\b/);
  const allowed = (res.headers.get('Access-Control-Allow-Headers') ?? '').toLowerCase().split(/\s*,\s*/);
  expect(allowed).toEqual(expect.arrayContaining(['x-amz-content-sha256', 'content-type']));
  expect(res.headers.get('Vary')).toContain('Origin');
}

function expectNotGranted(res: Response): void {
  expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
  expect(res.headers.get('Access-Control-Allow-Credentials')).toBeNull();
  expect(res.headers.get('Access-Control-Allow-Methods')).toBeNull();
  expect(res.headers.get('Access-Control-Allow-Headers')).toBeNull();
}

describe('CORS on PUT /uploads/<id>/source (Node gateway, UPLOADS=true)', () => {
  let dir: string;
  let gw: RunningGateway;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-uploads-cors-'));
    cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
    gw = await startNodeGateway(testEnv({ PORT: '0', MEDIA_DIR: dir, UPLOADS: 'true' }), { log: () => {} });
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the preflight of an allowed origin: 204, that exact origin, credentials, PUT and x-amz-content-sha256', async () => {
    expectGranted(await fetch(`${gw.url}/uploads/x/source`, preflight(ALLOWED_ORIGIN)), ALLOWED_ORIGIN);
  });

  it('grants nothing to an origin not in ALLOWED_ORIGINS', async () => {
    const res = await fetch(`${gw.url}/uploads/x/source`, preflight(OTHER_ORIGIN));
    expectNotGranted(res);
    expect(res.headers.get('Vary')).toContain('Origin');
  });

  it('the PUT answer itself carries CORS for an allowed origin (a refusal is readable by the page), none for another', async () => {
    const refused = await fetch(`${gw.url}/uploads/x/source`, {
      method: 'PUT',
      body: 'x',
      headers: { Origin: ALLOWED_ORIGIN, 'x-amz-content-sha256': '0'.repeat(64) },
    });
    expect(refused.status).toBe(403); // no signature: refused as CloudFront would
    await refused.arrayBuffer();
    expect(refused.headers.get('Access-Control-Allow-Origin')).toBe(ALLOWED_ORIGIN);
    expect(refused.headers.get('Access-Control-Allow-Credentials')).toBe('true');
    expect(refused.headers.get('Access-Control-Expose-Headers')).toContain('X-Hls-Gate-Reason');
    const other = await fetch(`${gw.url}/uploads/x/source`, {
      method: 'PUT',
      body: 'x',
      headers: { Origin: OTHER_ORIGIN, 'x-amz-content-sha256': '0'.repeat(64) },
    });
    await other.arrayBuffer();
    expectNotGranted(other);
    expect(other.headers.get('Access-Control-Expose-Headers')).toBeNull();
    expect(
      readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.startsWith('x/') || f.includes('.uploads/x')),
    ).toEqual([]);
  });
});

describe('CORS on the upload PUT when the gateway is mounted at a prefix', () => {
  it('answers the preflight at /media/uploads/<id>/source, for allowed origins only', async () => {
    const app = new Hono();
    app.get('/', (c) => c.text('home'));
    app.route(
      '/media',
      await createGateway({
        settings: testEnv({ UPLOADS: 'true' }),
        storage: createFsStorage(join(REPO_ROOT, 'media')),
        log: () => {},
      }),
    );
    expectGranted(
      await app.request('http://localhost/media/uploads/x/source', preflight(ALLOWED_ORIGIN)),
      ALLOWED_ORIGIN,
    );
    expectNotGranted(await app.request('http://localhost/media/uploads/x/source', preflight(OTHER_ORIGIN)));
    // Only the gateway's own paths: the host's routes get no CORS from it.
    const home = await app.request('http://localhost/uploads/x/source', preflight(ALLOWED_ORIGIN));
    expectNotGranted(home);
  });
});

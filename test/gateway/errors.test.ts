// A failure is explained: catalog.json is validated with the line to fix, a catalog broken while running keeps the
// last good one, and a 500 is logged with its cause, never with a secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { parseCatalog } from '../../server/app/catalog.ts';
import { buildGateway } from '../../server/app/build.ts';
import { parseConfig } from '../../server/app/config.ts';
import { createFsStorage } from '../../server/node/fs-storage.ts';
import type { LogEntry } from '../../server/app/log.ts';
import type { MediaStorage } from '../../server/app/storage.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';

const GOOD =
  '{\n  "videos": [\n    { "id": "ladder", "title": "Ladder" },\n    { "id": "cmaf", "title": "CMAF" }\n  ]\n}\n';

describe('catalog.json validation', () => {
  it.each([
    [
      'a trailing comma',
      '{\n  "videos": [\n    { "id": "ladder" },\n  ]\n}',
      /^catalog.json: not valid JSON: unexpected character at line 4, column 3$/,
    ],
    ['a missing quote', '{\n  "videos": [\n    { "id": "ladder, "title": "x" }\n  ]\n}', /line 3/],
    ['a duplicate key', '{\n  "videos": [\n    { "id": "a",\n      "id": "b" }\n  ]\n}', /duplicate key at line 4/],
    ['no videos list', '{ "video": [] }', /must be an object \{ "videos": \[ \.\.\. \] \}/],
    [
      'a bad id',
      '{\n  "videos": [\n    { "id": "ladder" },\n    { "id": "../etc" }\n  ]\n}',
      /^catalog.json: videos\[1\] at line 4: "id" must be/,
    ],
    [
      'an unknown field (a typo)',
      '{\n  "videos": [\n    { "id": "ladder", "tilte": "x" }\n  ]\n}',
      /videos\[0\] at line 3: unknown field "tilte"/,
    ],
    ['a duplicate id', '{ "videos": [ { "id": "a" }, { "id": "a" } ] }', /"id" "a" appears twice/],
    [
      'a playlist outside the folder',
      '{ "videos": [ { "id": "a", "playlist": "../b/master.m3u8" } ] }',
      /"playlist" must be a path inside the video's folder/,
    ],
    [
      'a negative duration',
      '{ "videos": [ { "id": "a", "durationSeconds": -1 } ] }',
      /"durationSeconds" must be a number/,
    ],
    // A live flag that is not a boolean ("false" as a string would read as true to a careless reader).
    [
      'a live flag that is not true or false',
      '{ "videos": [ { "id": "a", "live": "false" } ] }',
      /"live" must be true or false/,
    ],
  ])('refuses %s, naming the line', (_name, text, message) => {
    expect(() => parseCatalog(text)).toThrow(message);
  });

  it('keeps "live": true and drops "live": false (a recording)', () => {
    expect(parseCatalog('{ "videos": [ { "id": "a", "live": true }, { "id": "b", "live": false } ] }')).toEqual([
      { id: 'a', title: 'a', playlist: 'master.m3u8', live: true },
      { id: 'b', title: 'b', playlist: 'master.m3u8' },
    ]);
  });

  it('reads a valid catalog with defaults', () => {
    expect(parseCatalog(GOOD)).toEqual([
      { id: 'ladder', title: 'Ladder', playlist: 'master.m3u8' },
      { id: 'cmaf', title: 'CMAF', playlist: 'master.m3u8' },
    ]);
  });

  it('a broken catalog stops `npm start` with the line to fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-cat-'));
    try {
      cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
      writeFileSync(join(dir, 'catalog.json'), '{\n  "videos": [\n    { "id": "ladder" },\n  ]\n}');
      const clean = Object.fromEntries(
        Object.entries(testEnv({ MEDIA_DIR: dir })).filter((e): e is [string, string] => e[1] !== undefined),
      );
      const r = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['server/node/main.ts'], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH!, PORT: '0', ...clean },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /^hls-gate: configuration error: catalog.json: not valid JSON: unexpected character at line 4, column 3$/m,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a catalog broken while the gateway runs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-cat-'));
    cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the last good catalog, and logs the line to fix once', async () => {
    let now = Date.now();
    const events: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
    const app = await buildGateway(parseConfig(testEnv({ MEDIA_DIR: dir })), createFsStorage(dir), {
      log: () => {},
      events: (level, msg, fields) => void events.push({ level, msg, ...(fields ? { fields } : {}) }),
      now: () => now,
    });
    const list = async () =>
      app.request('http://localhost/api/videos', { headers: { Authorization: `Bearer ${await viewerToken('*')}` } });
    expect((await list()).status).toBe(200);
    writeFileSync(join(dir, 'catalog.json'), '{ "videos": [ { "id": "ladder", } ] }');
    now += 10_000; // past the catalog's re-read interval
    for (let i = 0; i < 3; i++) {
      const res = await list();
      expect(res.status).toBe(200);
      expect(((await res.json()) as { videos: { id: string }[] }).videos.map((v) => v.id)).toEqual([
        'ladder',
        'cmaf',
        'aes',
      ]);
      now += 10_000;
    }
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      level: 'error',
      fields: {
        error: {
          name: 'CatalogError',
          message: 'catalog.json: not valid JSON: expected a quoted key at line 1, column 33',
        },
      },
    });
  });
});

describe('a 500 is logged with its cause', () => {
  it('class and message, with token-like text removed; the response says nothing more than "internal"', async () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2aWV3ZXIifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const real = createFsStorage(join(REPO_ROOT, 'media'));
    const storage: MediaStorage = {
      head: (key) => real.head(key),
      get: async (key, range) => {
        if (key.endsWith('master.m3u8')) throw new Error(`EIO: i/o error while reading for ${token}`);
        return real.get(key, range);
      },
    };
    const entries: LogEntry[] = [];
    const app = await buildGateway(parseConfig(testEnv()), storage, { log: (e) => entries.push(e) });
    const access = await app.request('http://localhost/api/videos/ladder/access', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await viewerToken('*')}` },
    });
    const cookie = access.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const res = await app.request('http://localhost/videos/ladder/master.m3u8', { headers: { Cookie: cookie } });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ code: 'internal' });
    const entry = entries.at(-1)!;
    expect(entry.error).toEqual({ name: 'Error', message: 'EIO: i/o error while reading for [redacted]' });
    expect(JSON.stringify(entries)).not.toContain(token.slice(0, 30));
  });
});

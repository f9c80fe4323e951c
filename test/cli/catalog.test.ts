// `hls-gate catalog`: catalog.json edited without hand-written JSON, validated and replaced atomically.
import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main.ts';
import type { Io } from '../../cli/io.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { parseCatalog } from '../../server/app/catalog.ts';

async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, now: () => Date.now() };
  return { code: await main(argv, io), stdout, stderr };
}

function mediaCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-catalog-'));
  cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
  return dir;
}

describe('hls-gate catalog', () => {
  it('lists, adds, replaces and removes entries; the result is what the gateway accepts', async () => {
    const dir = mediaCopy();
    expect((await run(['catalog', 'list', '--media-dir', dir])).stdout).toMatch(
      /^ladder\tTest pattern ladder\t30 s\ncmaf\t/,
    );
    cpSync(join(dir, 'cmaf'), join(dir, 'lecture'), { recursive: true });
    expect(
      (
        await run([
          'catalog',
          'add',
          'lecture',
          '--title',
          'A "quoted" lecture',
          '--duration',
          '12',
          '--media-dir',
          dir,
        ])
      ).code,
    ).toBe(0);
    expect((await run(['catalog', 'add', 'lecture', '--title', 'Renamed', '--media-dir', dir])).code).toBe(0);
    let entries = parseCatalog(readFileSync(join(dir, 'catalog.json'), 'utf8'));
    expect(entries.map((e) => e.id)).toEqual(['ladder', 'cmaf', 'aes', 'lecture']);
    expect(entries[3]).toEqual({ id: 'lecture', title: 'Renamed', playlist: 'master.m3u8' });
    expect((await run(['catalog', 'remove', 'aes'], { MEDIA_DIR: dir })).stdout).toContain('aes removed');
    entries = parseCatalog(readFileSync(join(dir, 'catalog.json'), 'utf8'));
    expect(entries.map((e) => e.id)).toEqual(['ladder', 'cmaf', 'lecture']);
    expect(JSON.parse((await run(['catalog', 'list', '--json', '--media-dir', dir])).stdout)).toEqual(entries);
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]); // no temporary or lock file left
  });

  it('refuses what would break the catalog, and leaves a broken one untouched with the line to fix', async () => {
    const dir = mediaCopy();
    expect((await run(['catalog', 'add', '../x', '--media-dir', dir])).code).toBe(2);
    expect((await run(['catalog', 'add', 'ghost', '--media-dir', dir])).stderr).toMatch(
      /ghost\/master.m3u8 does not exist: package the video first/,
    );
    expect((await run(['catalog', 'remove', 'ghost', '--media-dir', dir])).stderr).toMatch(
      /ghost is not in catalog.json/,
    );
    writeFileSync(join(dir, 'catalog.json'), '{ "videos": [ { "id": "ladder", } ] }');
    const broken = await run(['catalog', 'remove', 'ladder', '--media-dir', dir]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/catalog.json: not valid JSON: expected a quoted key at line 1, column 33/);
    expect(readFileSync(join(dir, 'catalog.json'), 'utf8')).toBe('{ "videos": [ { "id": "ladder", } ] }');
  });
});

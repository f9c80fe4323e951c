// Facts the README states that live in code: the list must be the code's, or the two drift.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { DEPLOYMENT_VARS } from '../../server/app/mode.ts';
import { PROBLEMS } from '../../server/app/problems.ts';

/** The rows of the README table that starts with `header`: its cells, trimmed (a `\|` inside a cell is text). */
function tableRows(readme: string, header: string): string[][] {
  const start = readme.indexOf(header);
  expect(start, header).toBeGreaterThan(-1);
  const lines = readme.slice(start, readme.indexOf('\n\n', start)).split('\n').slice(2);
  return lines.map((line) =>
    line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
}

describe('the README', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

  it('lists every API problem code once, with its status and the catalogue\'s "when"', () => {
    const listed: string[] = [];
    const when = new Map<string, string>();
    for (const [status, codes, text] of tableRows(readme, '| status | code | when |')) {
      for (const [, code] of codes!.matchAll(/`([^`]+)`/g)) {
        listed.push(`${status} ${code}`);
        when.set(code!, text!);
      }
    }
    expect(listed.sort()).toEqual(
      Object.entries(PROBLEMS)
        .map(([code, p]) => `${p.status} ${code}`)
        .sort(),
    );
    for (const [code, p] of Object.entries(PROBLEMS)) expect(when.get(code), code).toContain(p.when);
  });

  it('lists exactly the deployment variables the zero-config rule counts', () => {
    const start = readme.indexOf('The deployment variables (setting any one');
    const paragraph = readme.slice(start, readme.indexOf('\n\n', start));
    const listed = [...paragraph.slice(paragraph.indexOf('):')).matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...DEPLOYMENT_VARS].sort());
  });
});

// Facts the README states that live in code: the list must be the code's, or the two drift.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { DEPLOYMENT_VARS } from '../../server/app/mode.ts';

describe('the README', () => {
  it('lists exactly the deployment variables the zero-config rule counts', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('The deployment variables (setting any one');
    const paragraph = readme.slice(start, readme.indexOf('\n\n', start));
    const listed = [...paragraph.slice(paragraph.indexOf('):')).matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...DEPLOYMENT_VARS].sort());
  });
});

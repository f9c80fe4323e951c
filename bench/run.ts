// `npm run bench [-- --quick] [-- --only issuance,serving,...]`: every ratio measured side by side in one run,
// printed as a table and written to bench/results.json.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../server/node/load-env.ts';
import type { Ratio } from './lib.ts';
import { issuance } from './issuance.ts';

const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const only = onlyArg ? new Set(onlyArg.split(',')) : undefined;
const want = (name: string) => !only || only.has(name);

const results: Record<string, Ratio> = {};
const started = Date.now();
const suites: [string, () => Promise<Record<string, Ratio>>][] = [
  ['issuance', () => issuance(quick ? 3 : 5, quick ? 400 : 1500)],
  ['serving', async () => (await import('./serving.ts')).serving(quick)],
  ['memory', async () => (await import('./memory.ts')).memory(quick)],
  ['workerd', async () => (await import('./workerd.ts')).workerdCpu(quick)],
  ['playback', async () => (await import('./playback.ts')).playback(quick ? 3 : 7)],
  ['sessions', async () => (await import('./sessions.ts')).sessions(quick)],
  ['uploads', async () => (await import('./uploads.ts')).uploads(quick)],
];
for (const [name, run] of suites) {
  if (!want(name)) continue;
  console.error(`bench: ${name}…`);
  try {
    Object.assign(results, await run());
  } catch (err) {
    console.error(`bench: ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const rows = Object.entries(results).map(([name, r]) => {
  const met = r.target === undefined ? '' : r.ratio >= r.target ? 'yes' : 'NO';
  return `| ${name} | ${r.ratio} | ${r.target ?? ''} | ${met} | ${r.value} ${r.unit} | ${r.baseline} |`;
});
console.log(`\nhls-gate benchmarks (${quick ? 'quick' : 'full'}), ${machine}, ${Math.round((Date.now() - started) / 1000)} s\n`);
console.log('| ratio | value | target | met | measured | baseline |\n|---|---|---|---|---|---|');
console.log(rows.join('\n'));
// A partial run (--only=...) updates its own entries and keeps the others.
const file = join(REPO_ROOT, 'bench/results.json');
const previous = only && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, Ratio>) : {};
writeFileSync(file, `${JSON.stringify({ ...previous, ...results }, null, 2)}\n`);

// `npm run bench [-- --quick] [-- --only serving,api]`: every ratio measured side by side in one run, printed as a
// table and written to bench/results.json (a partial run replaces only its own entries).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../server/node/load-env.ts';
import type { Ratio } from './lib.ts';
import { issuance } from './issuance.ts';

const quick = process.argv.includes('--quick');
// --only=a,b or --only a,b
const onlyAt = process.argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
const onlyArg =
  onlyAt < 0
    ? undefined
    : process.argv[onlyAt]!.startsWith('--only=')
      ? process.argv[onlyAt]!.slice(7)
      : process.argv[onlyAt + 1];
if (onlyAt >= 0 && !onlyArg) throw new Error('--only needs a list of suites, e.g. --only serving,api');
const only = onlyArg ? new Set(onlyArg.split(',').map((s) => s.trim())) : undefined;
const want = (name: string) => !only || only.has(name);

const results: Record<string, Ratio> = {};
const started = Date.now();
const suites: [string, () => Promise<Record<string, Ratio>>][] = [
  ['issuance', () => issuance(quick ? 3 : 5, quick ? 400 : 1500)],
  ['serving', async () => (await import('./serving.ts')).serving(quick)],
  ['api', async () => (await import('./api.ts')).api(quick)],
  ['memory', async () => (await import('./memory.ts')).memory(quick)],
  ['workerd', async () => (await import('./workerd.ts')).workerdCpu(quick)],
  ['playback', async () => (await import('./playback.ts')).playback(quick ? 3 : 7)],
  ['live', async () => (await import('./live.ts')).live(quick)],
  ['low-latency', async () => (await import('./low-latency.ts')).lowLatency(quick)],
  ['sessions', async () => (await import('./sessions.ts')).sessions(quick)],
  ['uploads', async () => (await import('./uploads.ts')).uploads(quick)],
  ['packaging', async () => (await import('./packaging.ts')).packaging(quick)],
  ['metrics', async () => (await import('./metrics.ts')).metrics(quick)],
];
const unknown = only ? [...only].filter((n) => !suites.some(([s]) => s === n)) : [];
if (unknown.length > 0)
  throw new Error(`unknown suite(s) ${unknown.join(', ')}; the suites: ${suites.map(([s]) => s).join(', ')}`);
// The HTTP suites run the installed command (dist/) and the player page: build them as `npm test` does. (issuance
// runs in-process; packaging runs the library and the gateway from source, through tsx.)
const fromSource = new Set(['issuance', 'packaging']);
if (suites.some(([name]) => !fromSource.has(name) && want(name)))
  execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
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
  return `| ${name} | ${r.ratio} | ${r.spread ?? ''} | ${r.target ?? ''} | ${met} | ${r.value} ${r.unit} | ${r.baseline} |`;
});
console.log(
  `\nhls-gate benchmarks (${quick ? 'quick' : 'full'}), ${machine}, ${Math.round((Date.now() - started) / 1000)} s\n`,
);
console.log('| ratio | value | rounds | target | met | measured | baseline |\n|---|---|---|---|---|---|---|');
console.log(rows.join('\n'));
// A partial run (--only=...) updates its own entries and keeps the others.
const file = join(REPO_ROOT, 'bench/results.json');
const previous = only && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, Ratio>) : {};
writeFileSync(file, `${JSON.stringify({ ...previous, ...results }, null, 2)}\n`);

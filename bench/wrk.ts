// wrk, started asynchronously (the benchmark process keeps sampling while it runs) and pinned to the load core.
// Headers that change per request (many viewers, many addresses, many videos) come from a generated Lua script.
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOAD_CPU, TMP } from './procs.ts';

export interface WrkResult {
  requestsPerSec: number;
  mbPerSec: number;
  non2xx: number;
  /** connect, read, write errors and timeouts. */
  errors: number;
}

export interface WrkOptions {
  seconds: number;
  connections: number;
  headers?: Record<string, string>;
  method?: string;
  /** One header set per request, taken in turn (a Lua script cycles through them). */
  rotate?: Record<string, string>[];
  /** One path per request, taken in turn (same script). */
  paths?: string[];
  /** A request body; '' sends `Content-Length: 0`, as browsers do for a POST without a body. (wrk drops a
   *  Content-Length header given without a body, so a header alone cannot say it.) */
  body?: string;
  timeoutSeconds?: number;
}

let scripts = 0;

function luaScript(
  rotate: Record<string, string>[] | undefined,
  paths: string[] | undefined,
  method: string,
  body: string | undefined,
): string {
  const file = join(TMP, `wrk-${process.pid}-${scripts++}.lua`);
  const q = (s: string) => JSON.stringify(s); // a JSON string is a valid Lua string literal for these ASCII values
  const sets = (rotate ?? [{}]).map(
    (h) =>
      `{${Object.entries(h)
        .map(([k, v]) => `[${q(k)}]=${q(v)}`)
        .join(',')}}`,
  );
  writeFileSync(
    file,
    `local sets = {${sets.join(',\n')}}
local paths = {${(paths ?? []).map(q).join(',')}}
local i = 0
request = function()
  i = i + 1
  local h = sets[(i % #sets) + 1]
  local p = #paths > 0 and paths[(i % #paths) + 1] or wrk.path
  return wrk.format(${q(method)}, p, h${body === undefined ? '' : `, ${q(body)}`})
end
`,
  );
  return file;
}

export function wrk(url: string, o: WrkOptions): Promise<WrkResult> {
  const args = [
    '-c',
    String(LOAD_CPU),
    'wrk',
    '-t1',
    `-c${o.connections}`,
    `-d${o.seconds}s`,
    `--timeout`,
    `${o.timeoutSeconds ?? 10}s`,
  ];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  const script =
    o.rotate || o.paths || o.body !== undefined || (o.method && o.method !== 'GET')
      ? luaScript(o.rotate, o.paths, o.method ?? 'GET', o.body)
      : undefined;
  if (script) args.push('-s', script);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (script) rmSync(script, { force: true });
      if (code !== 0) return reject(new Error(`wrk failed: ${out.slice(-300)}`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
      const t = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(out);
      const mult = { B: 1 / 1e6, KB: 1024 / 1e6, MB: 1048576 / 1e6, GB: 1073741824 / 1e6 }[t?.[2] ?? 'B'] ?? 0;
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const e = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = e ? Number(e[1]) + Number(e[2]) + Number(e[3]) + Number(e[4]) : 0;
      resolve({ requestsPerSec: rps, mbPerSec: Number(t?.[1] ?? 0) * mult, non2xx, errors });
    });
  });
}

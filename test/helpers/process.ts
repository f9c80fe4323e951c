import type { ChildProcess } from 'node:child_process';

/** Waits until a child process prints a line matching `pattern` (on stdout or stderr); rejects after `ms`. */
export function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  what: string,
  ms = 20_000,
): Promise<{ match: RegExpExecArray; output: () => string }> {
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), ms);
    const on = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ match: m, output: () => out });
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready: ${out}`)));
  });
}

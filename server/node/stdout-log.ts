import { requestLogLine, type LogEntry } from '../app/log.ts';

// The Node server's request log: JSON lines on stdout, the lines of one turn of the event loop in one write.
// - Not console.log: it formats its arguments first (5-9% of a small request here, bench/api.ts).
// - Not one write per line: a write to a log file is a system call of ~10 µs, a tenth of an issuance request's cost
//   (bench/api.ts). A line waits only until the end of the current turn (setImmediate), and what is pending when
//   the process exits is written then; only a process killed outright in that instant loses its last lines.
// - Like console.log, a stdout that went away (EPIPE) does not stop the gateway.

let pending = '';
let hooked = false;

function flush(): void {
  const text = pending;
  pending = '';
  if (text) process.stdout.write(text);
}

function ignoreStdoutError(): void {}

export function stdoutLog(): (entry: LogEntry) => void {
  if (!hooked) {
    hooked = true;
    process.stdout.on('error', ignoreStdoutError);
    process.once('exit', flush);
  }
  return (entry) => {
    if (pending === '') setImmediate(flush);
    pending += `${requestLogLine(entry)}\n`;
  };
}

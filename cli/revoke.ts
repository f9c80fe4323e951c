import { parseArgs } from 'node:util';
import { subjectProblem } from '../server/app/subject.ts';
import { SID } from '../server/app/session-control.ts';
import { UsageError, type Io } from './io.ts';
import { parseTime } from './time.ts';

// `hls-gate revoke`: the admin API from the command line. The gateway's URL from --url or $HLS_GATE_URL, the
// secret from $ADMIN_SECRET (never a flag: command lines end up in shell history and process lists).

interface Revocation {
  kind: string;
  id: string;
  until: number;
}

export async function revokeCommand(argv: string[], io: Io): Promise<number> {
  const action = argv[0] === 'list' || argv[0] === 'lift' ? argv[0] : 'add';
  const { values } = parseArgs({
    args: action === 'add' ? argv : argv.slice(1),
    options: {
      sub: { type: 'string' },
      session: { type: 'string' },
      for: { type: 'string' },
      until: { type: 'string' },
      url: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const base = (values.url ?? io.env.HLS_GATE_URL ?? 'http://127.0.0.1:8787').replace(/\/$/, '');
  const secret = io.env.ADMIN_SECRET;
  if (!secret) throw new UsageError("set ADMIN_SECRET in the environment (the gateway's admin secret)");
  const call = async (method: string, path: string, body?: unknown) => {
    let res: Response;
    try {
      res = await fetch(`${base}/api/admin/revocations${path}`, {
        method,
        headers: { Authorization: `Bearer ${secret}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      throw new UsageError(`cannot reach ${base} (--url or HLS_GATE_URL)`);
    }
    const text = await res.text();
    const parsed = text
      ? (JSON.parse(text) as { detail?: string; revocations?: Revocation[]; revoked?: Revocation })
      : {};
    if (!res.ok) throw new UsageError(`the gateway refused: ${res.status} ${parsed.detail ?? ''}`.trim());
    return parsed;
  };
  const who =
    values.sub !== undefined
      ? { sub: values.sub }
      : values.session !== undefined
        ? { session: values.session }
        : undefined;
  if (action !== 'list' && (!who || (values.sub !== undefined && values.session !== undefined)))
    throw new UsageError('name one viewer (--sub ID) or one device session (--session ID)');
  if (values.sub !== undefined) {
    const problem = subjectProblem(values.sub);
    if (problem) throw new UsageError(`--sub ${problem}`);
  }
  if (values.session !== undefined && !SID.test(values.session))
    throw new UsageError('--session takes a session id: 22 characters, as the gateway answers it in "sessionId"');

  if (action === 'list') {
    const { revocations = [] } = await call('GET', '');
    if (values.json) io.stdout(`${JSON.stringify(revocations)}\n`);
    else
      for (const r of revocations) io.stdout(`${r.kind}\t${r.id}\tuntil ${new Date(r.until * 1000).toISOString()}\n`);
    return 0;
  }
  if (action === 'lift') {
    await call(
      'DELETE',
      values.sub !== undefined
        ? `?sub=${encodeURIComponent(values.sub)}`
        : `?session=${encodeURIComponent(values.session!)}`,
    );
    io.stdout(`lifted: ${values.sub !== undefined ? `viewer ${values.sub}` : `session ${values.session}`}\n`);
    return 0;
  }
  if (values.for && values.until) throw new UsageError('--for or --until, not both');
  const until = values.until
    ? parseTime(values.until, io.now(), '--until')
    : parseTime(`+${(values.for ?? '30d').replace(/^\+/, '')}`, io.now(), '--for');
  const { revoked } = await call('POST', '', { ...who, until });
  io.stdout(
    values.json
      ? `${JSON.stringify(revoked)}\n`
      : `revoked: ${values.sub !== undefined ? `viewer ${values.sub}` : `session ${values.session}`} until ${new Date(until * 1000).toISOString()}\n`,
  );
  return 0;
}

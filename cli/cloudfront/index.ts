import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError, type Io } from '../io.ts';
import { CLOUDFRONT_FUNCTION } from '../../cloudfront/function-source.ts';

// `hls-gate cloudfront stack`: the whole distribution as a CloudFormation template (stack.ts).
// `hls-gate cloudfront check`: what in an existing distribution would break signed-cookie HLS (check.ts).
// `hls-gate cloudfront function`: prints the CloudFront Function.
// `hls-gate cloudfront kvs-sync`: writes the KeyValueStore update that mirrors the gateway's revocations (and the
// session secret) into a file, never to the screen, and prints the aws commands that apply it. The KeyValueStore
// data-plane API needs SigV4A signatures, so the update goes through the AWS CLI rather than a hand-made request.

interface Revocation {
  kind: string;
  id: string;
  until: number;
}

export async function cloudfrontCommand(argv: string[], io: Io): Promise<number> {
  const [action, ...rest] = argv;
  if (action === 'function') {
    io.stdout(CLOUDFRONT_FUNCTION);
    return 0;
  }
  if (action === 'stack') return (await import('./stack.ts')).stackCommand(rest, io);
  if (action === 'check') return (await import('./check.ts')).checkCommand(rest, io);
  if (action !== 'kvs-sync')
    throw new UsageError(
      'usage: hls-gate cloudfront function | kvs-sync --kvs-arn ARN [...] | stack --public-key FILE --api-origin HOST --allowed-origin URL --out DIR [...] | check CONFIG.json [...]',
    );
  const { values } = parseArgs({
    args: rest,
    options: {
      'kvs-arn': { type: 'string' },
      current: { type: 'string' },
      out: { type: 'string', default: 'kvs-update.json' },
      url: { type: 'string' },
    },
    strict: true,
  });
  if (!values['kvs-arn'])
    throw new UsageError('--kvs-arn is required (aws cloudfront describe-key-value-store --name NAME)');
  const secret = io.env.ADMIN_SECRET;
  const sessionSecret = io.env.SESSION_SECRET;
  if (!secret || !sessionSecret)
    throw new UsageError(
      'set ADMIN_SECRET (to read the revocations) and SESSION_SECRET (copied into the KeyValueStore for the function) in the environment',
    );
  const base = (values.url ?? io.env.HLS_GATE_URL ?? 'http://127.0.0.1:8787').replace(/\/$/, '');
  const res = await fetch(`${base}/api/admin/revocations`, {
    headers: { Authorization: `Bearer ${secret}` },
    signal: AbortSignal.timeout(10_000),
  }).catch(() => {
    throw new UsageError(`cannot reach ${base} (--url or HLS_GATE_URL)`);
  });
  if (!res.ok) throw new UsageError(`the gateway refused: ${res.status}`);
  const { revocations } = (await res.json()) as { revocations: Revocation[] };
  const wanted = new Map<string, string>([
    ['hls-gate:session-secret', sessionSecret],
    ...revocations.map((r): [string, string] => [`${r.kind}:${r.id}`, String(r.until)]),
  ]);
  // Keys the store holds now (`aws cloudfront-keyvaluestore list-keys --kvs-arn ARN > keys.json`): revocations
  // lifted since the last sync are deleted.
  let deletes: string[] = [];
  if (values.current) {
    const current = JSON.parse(readFileSync(values.current, 'utf8')) as { Items?: { Key: string }[] };
    deletes = (current.Items ?? []).map((i) => i.Key).filter((k) => /^(sub|session):/.test(k) && !wanted.has(k));
  }
  const update = {
    Puts: [...wanted].map(([Key, Value]) => ({ Key, Value })),
    Deletes: deletes.map((Key) => ({ Key })),
  };
  writeFileSync(values.out, JSON.stringify(update), { mode: 0o600 });
  const arn = values['kvs-arn'];
  io.stdout(`wrote ${values.out}: ${update.Puts.length - 1} revocation(s), ${deletes.length} deletion(s), and the session secret (the file is private: delete it after use).
Apply it with the AWS CLI:
  ETAG=$(aws cloudfront-keyvaluestore describe-key-value-store --kvs-arn ${arn} --query ETag --output text)
  aws cloudfront-keyvaluestore update-keys --kvs-arn ${arn} --if-match "$ETAG" --cli-input-json file://${values.out}
`);
  return 0;
}

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { UsageError, type Io } from '../io.ts';
import { addDocument, ConfigReadError, readDistribution } from '../../cloudfront/check/read.ts';
import { checkDistribution, isSound } from '../../cloudfront/check/rules.ts';
import { checkOrigin } from '../../server/app/option-checks.ts';
import { publicKeyFromPem, StackOptionError } from '../../cloudfront/stack-options.ts';

// `hls-gate cloudfront check`: says, rule by rule, what in a distribution would break signed-cookie HLS.
// Exit codes as `explain`: 0 sound, 1 problems found, 2 bad usage.

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${what}: cannot read ${file}`);
  }
}

function readJson(file: string, what: string): unknown {
  const text = readText(file, what);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${what}: ${file} is not JSON`);
  }
}

/** The gateway's public key in the form a template holds it (SPKI PEM), whatever PEM form the file has. */
function readPublicKey(file: string): string {
  const text = readText(file, '--public-key');
  try {
    return publicKeyFromPem(text, file).pem;
  } catch (err) {
    if (err instanceof StackOptionError) throw new UsageError(`--public-key: ${err.message}`);
    throw err;
  }
}

export function checkCommand(argv: string[], io: Io): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      with: { type: 'string', multiple: true },
      'key-pair-id': { type: 'string' },
      'public-key': { type: 'string' },
      'allowed-origin': { type: 'string', multiple: true },
      live: { type: 'boolean', default: false },
      'session-control': { type: 'boolean', default: false },
      uploads: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const [file, ...extra] = positionals;
  if (!file || extra.length)
    throw new UsageError(
      'usage: hls-gate cloudfront check <distribution-config.json | template.json> [--with FILE]... [--key-pair-id ID] [--live] [--session-control] [--uploads]',
    );
  let model;
  try {
    model = readDistribution(readJson(file, 'the distribution'));
    for (const doc of values.with ?? []) addDocument(model, readJson(doc, '--with'), doc);
  } catch (err) {
    if (err instanceof ConfigReadError) throw new UsageError(`${file}: ${err.message}`);
    throw err;
  }
  const keyPairId = values['key-pair-id'] ?? io.env.CLOUDFRONT_KEY_PAIR_ID;
  const results = checkDistribution(model, {
    live: values.live,
    sessionControl: values['session-control'],
    uploads: values.uploads,
    // The gateway's own settings by default, so `check` run beside the gateway holds the distribution to them.
    allowedOrigins: (
      values['allowed-origin'] ?? (io.env.ALLOWED_ORIGINS ?? '').split(',').filter((o) => o.trim() !== '')
    ).map((o) =>
      checkOrigin(o, '--allowed-origin', (m) => {
        throw new UsageError(m);
      }),
    ),
    ...(keyPairId ? { keyPairId } : {}),
    ...(values['public-key'] ? { publicKeyPem: readPublicKey(values['public-key']) } : {}),
  });
  const sound = isSound(results);
  if (values.json) {
    io.stdout(`${JSON.stringify({ sound, results })}\n`);
    return sound ? 0 : 1;
  }
  const lines = [`${file} (${model.form === 'template' ? 'a CloudFormation template' : 'a distribution config'}):`];
  for (const r of results) {
    lines.push(`${r.problems.length ? 'FAIL' : r.skipped ? 'skip' : 'ok  '}  ${r.rule}: ${r.title}`);
    for (const p of r.problems) lines.push(`        - ${p}`);
    for (const n of r.notes) lines.push(`        note: ${n}`);
  }
  const failed = results.filter((r) => r.problems.length).length;
  lines.push(sound ? 'sound: nothing here breaks signed-cookie HLS' : `${failed} rule(s) failed`);
  io.stdout(`${lines.join('\n')}\n`);
  return sound ? 0 : 1;
}

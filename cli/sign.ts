import { parseArgs } from 'node:util';
import { signCannedCookies, signCookies, signUrl, type HashAlgorithm } from '../server/core/index.ts';
import { UsageError, type Io } from './io.ts';
import { parseTime } from './time.ts';
import { signingKeyFrom } from './key-files.ts';

const COMMON = {
  expires: { type: 'string' },
  'not-before': { type: 'string' },
  ip: { type: 'string' },
  hash: { type: 'string', default: 'sha1' },
  'key-pair-id': { type: 'string' },
  'private-key': { type: 'string' },
} as const;

/** A grant that is over before it is used is almost always a mistake in --expires; say so, but still sign it. */
function warnIfExpired(expires: number, io: Io): void {
  if (expires <= Math.floor(io.now() / 1000)) {
    io.stderr(
      `hls-gate: warning: --expires is in the past (${new Date(expires * 1000).toISOString()}): this grant is already expired\n`,
    );
  }
}

function hashOf(text: string): HashAlgorithm {
  if (/^sha-?1$/i.test(text)) return 'SHA1';
  if (/^sha-?256$/i.test(text)) return 'SHA256';
  throw new UsageError('--hash must be sha1 or sha256');
}

export async function signCookiesCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...COMMON,
      resource: { type: 'string' },
      canned: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      header: { type: 'boolean', default: false },
      domain: { type: 'string' },
      path: { type: 'string', default: '/' },
    },
    strict: true,
  });
  if (!values.resource)
    throw new UsageError('--resource URL is required (e.g. https://media.example.com/videos/abc/*)');
  if (!values.expires) throw new UsageError('--expires T is required');
  const now = io.now();
  const expires = parseTime(values.expires, now, '--expires');
  warnIfExpired(expires, io);
  const signer = { ...(await signingKeyFrom(values, io)), hashAlgorithm: hashOf(values.hash) };
  let cookies;
  if (values.canned) {
    if (values['not-before'] || values.ip)
      throw new UsageError('--canned takes only --resource (one exact URL) and --expires');
    if (/[*?]/.test(values.resource))
      throw new UsageError('a canned policy covers one exact URL: no wildcards (drop --canned for a custom policy)');
    cookies = await signCannedCookies(values.resource, expires, signer);
  } else {
    cookies = await signCookies(
      {
        resource: values.resource,
        expires,
        ...(values['not-before'] ? { notBefore: parseTime(values['not-before'], now, '--not-before') } : {}),
        ...(values.ip ? { ipAddress: values.ip } : {}),
      },
      signer,
    );
  }
  if (values.json && values.header) throw new UsageError('--json and --header are two ways to print: choose one');
  if (values.json) {
    io.stdout(`${JSON.stringify(cookies)}\n`);
    return 0;
  }
  if (values.header) {
    io.stdout(
      `Cookie: ${Object.entries(cookies)
        .map(([name, value]) => `${name}=${value}`)
        .join('; ')}\n`,
    );
    return 0;
  }
  const maxAge = Math.max(0, expires - Math.floor(now / 1000));
  const attrs = [
    `Path=${values.path}`,
    `Max-Age=${maxAge}`,
    ...(values.domain ? [`Domain=${values.domain}`] : []),
    ...(values.resource.startsWith('https') ? ['Secure'] : []),
    'HttpOnly',
    'SameSite=Lax',
  ].join('; ');
  for (const [name, value] of Object.entries(cookies)) io.stdout(`Set-Cookie: ${name}=${value}; ${attrs}\n`);
  return 0;
}

export async function signUrlCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...COMMON, resource: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('usage: hls-gate sign url URL --expires T [...]');
  if (!values.expires) throw new UsageError('--expires T is required');
  const now = io.now();
  const expires = parseTime(values.expires, now, '--expires');
  warnIfExpired(expires, io);
  const url = await signUrl(
    positionals[0]!,
    {
      expires,
      ...(values['not-before'] ? { notBefore: parseTime(values['not-before'], now, '--not-before') } : {}),
      ...(values.ip ? { ipAddress: values.ip } : {}),
      ...(values.resource ? { resource: values.resource } : {}),
    },
    { ...(await signingKeyFrom(values, io)), hashAlgorithm: hashOf(values.hash) },
  );
  io.stdout(`${url}\n`);
  return 0;
}

import { parseArgs } from 'node:util';
import { createVerifier, decodeCloudFrontBase64 } from '../server/core/index.ts';
import { CHECKS, checkIndex } from '../server/core/denials.ts';
import { readCloudFrontCookies } from '../server/core/cookies.ts';
import { UsageError, type Io } from './io.ts';
import { parseTime } from './time.ts';
import { keyGroupFrom } from './key-files.ts';

// Says in plain words whether a request would be let through, and which check fails. The checks are listed in
// the order CloudFront (and our verifier) runs them.

function decodedPolicy(url: string, cookie: string | undefined): string | undefined {
  const fromUrl = /[?&]Policy=([^&]+)/.exec(url)?.[1];
  const b64 = fromUrl ?? readCloudFrontCookies(cookie).get('CloudFront-Policy')?.[0];
  if (!b64) return undefined;
  try {
    return JSON.stringify(
      JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(decodeCloudFrontBase64(decodeURIComponent(b64)))),
      null,
      2,
    );
  } catch {
    return undefined;
  }
}

export async function explainCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      cookie: { type: 'string' },
      'client-ip': { type: 'string' },
      at: { type: 'string' },
      'public-key': { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.url) throw new UsageError('--url URL is required (the URL the viewer requests)');
  if (!values['public-key']?.length)
    throw new UsageError('--public-key ID=FILE is required (repeat it for every key of the key group)');
  const at = values.at ? parseTime(values.at, io.now(), '--at') : Math.floor(io.now() / 1000);
  const verifier = createVerifier({ keys: await keyGroupFrom(values['public-key']), cacheSize: 0 });
  const cookie = values.cookie?.replace(/^\s*Cookie:\s*/i, ''); // `sign cookies --header` prints "Cookie: ..."
  const verdict = await verifier.verify({
    url: values.url,
    cookie: cookie ?? null,
    clientIp: values['client-ip'] ?? null,
    now: at,
  });
  const failedAt = verdict.ok ? CHECKS.length : checkIndex(verdict.denial.reason);

  if (values.json) {
    io.stdout(
      `${JSON.stringify({ granted: verdict.ok, ...(verdict.ok ? { grant: verdict.grant } : { denial: verdict.denial }), at })}\n`,
    );
    return verdict.ok ? 0 : 1;
  }
  const policy = decodedPolicy(values.url, cookie);
  if (policy) io.stdout(`Policy:\n${policy}\n\n`);
  CHECKS.forEach((check, i) => {
    const mark = i < failedAt ? 'ok  ' : i === failedAt ? 'FAIL' : '--  ';
    io.stdout(
      `  [${mark}] ${check.name}${i === failedAt && !verdict.ok ? `\n         ${verdict.denial.detail}` : ''}\n`,
    );
  });
  if (verdict.ok) {
    const g = verdict.grant;
    io.stdout(
      `\nGRANTED by key ${g.keyPairId} (${g.source === 'url' ? 'signed URL' : 'signed cookies'}, ${g.policyKind} policy, ${g.hashAlgorithm}), until ${new Date(g.expiresAt * 1000).toISOString()}.\n`,
    );
    return 0;
  }
  const d = verdict.denial;
  io.stdout(`\nDENIED: CloudFront would answer 403 ${d.code} (reason: ${d.reason}).\n`);
  return 1;
}

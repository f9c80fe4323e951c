import { parseArgs } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDomain } from 'tldts';
import { MASTER_PLAYLIST } from '../../server/app/layout.ts';
import { UsageError, type Io } from '../io.ts';
import { publicKeyFromPem, StackOptionError, type StackOptions } from '../../cloudfront/stack-options.ts';

// `hls-gate cloudfront stack`: the CloudFormation template for everything hls-gate needs in front of it, synthesised
// offline by aws-cdk-lib (an optional peer dependency: loaded only here).

async function loadSynthesizer(): Promise<typeof import('../../cloudfront/stack.ts')> {
  try {
    return await import('../../cloudfront/stack.ts');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && /aws-cdk-lib|constructs/.test(String(err)))
      throw new UsageError(
        'hls-gate cloudfront stack builds the stack with aws-cdk-lib: npm install --save-dev aws-cdk-lib constructs',
      );
    throw err;
  }
}

/**
 * The cookies are set by the media host (its /api/*) in answer to a page on an allowed origin. A browser that blocks
 * third-party cookies (Safari, Firefox by default) keeps them only when both are the same site: the same registrable
 * domain (https://developer.mozilla.org/en-US/docs/Glossary/Site).
 */
function siteWarnings(options: StackOptions): string[] {
  const host = options.domain?.name;
  if (!host)
    return [
      "without --domain the media host is *.cloudfront.net, another site than your pages: browsers that block third-party cookies (Safari, Firefox) will not keep the grant. Use --domain on your pages' registrable domain.",
    ];
  const site = getDomain(host);
  return options.allowedOrigins
    .filter((o) => getDomain(new URL(o).hostname) !== site)
    .map(
      (o) =>
        `${o} is another site than ${host}: browsers that block third-party cookies will not keep the grant for it.`,
    );
}

function readKey(file: string) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`--public-key: cannot read ${file}`);
  }
  return publicKeyFromPem(text, file);
}

export async function stackCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'public-key': { type: 'string', multiple: true },
      'api-origin': { type: 'string' },
      'allowed-origin': { type: 'string', multiple: true },
      'session-control': { type: 'boolean', default: false },
      uploads: { type: 'boolean', default: false },
      live: { type: 'boolean', default: false },
      domain: { type: 'string' },
      'certificate-arn': { type: 'string' },
      'stack-name': { type: 'string', default: 'hls-gate' },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (!values['public-key']?.length)
    throw new UsageError(
      '--public-key FILE is required (public_key.pem from hls-gate keys generate; repeat it to rotate)',
    );
  if (!values['api-origin'])
    throw new UsageError("--api-origin HOST is required (the gateway's host name, for /api/*)");
  if (!values.out) throw new UsageError('--out DIR is required (DIR/template.json is written there)');
  if (Boolean(values.domain) !== Boolean(values['certificate-arn']))
    throw new UsageError('--domain and --certificate-arn go together (the alternate domain needs its certificate)');
  const { synthesizeTemplate } = await loadSynthesizer();
  let template: Record<string, unknown>;
  const options: StackOptions = {
    publicKeys: [],
    apiOrigin: values['api-origin'],
    allowedOrigins: values['allowed-origin'] ?? [],
    sessionControl: values['session-control'],
    uploads: values.uploads,
    live: values.live,
    ...(values.domain && values['certificate-arn']
      ? { domain: { name: values.domain, certificateArn: values['certificate-arn'] } }
      : {}),
  };
  try {
    options.publicKeys = values['public-key'].map(readKey);
    template = synthesizeTemplate(options, values['stack-name']);
  } catch (err) {
    if (err instanceof StackOptionError) throw new UsageError(err.message);
    throw err;
  }
  mkdirSync(values.out, { recursive: true });
  const file = join(values.out, 'template.json');
  writeFileSync(file, `${JSON.stringify(template, null, 2)}\n`);
  const resources = Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
  const name = values['stack-name'];
  io.stdout(`wrote ${file}: ${resources.length} resources (${[...new Set(resources)].map((t) => t.replace('AWS::', '')).join(', ')})
Check it, deploy it (an AWS account and the AWS CLI), and read its outputs:
  hls-gate cloudfront check ${file}
  aws cloudformation deploy --template-file ${file} --stack-name ${name}
  aws cloudformation describe-stacks --stack-name ${name} --query "Stacks[0].Outputs" --output table
Then: run the gateway for /api/* at ${options.apiOrigin} with the GatewayEnvironment output and
CLOUDFRONT_PRIVATE_KEY_FILE (the private key of ${values['public-key'][0]}); publish with
  hls-gate package movie.mp4 --id movie --s3 s3://<MediaBucket>
${
  options.sessionControl
    ? `With --session-control the function refuses every request until the KeyValueStore holds the session secret:
  ADMIN_SECRET=... SESSION_SECRET=... hls-gate cloudfront kvs-sync --kvs-arn <KeyValueStoreArn> (after every revocation too)
`
    : ''
}and prove the gate from outside with hls-gate fetch-segments <MediaBaseUrl>/videos/movie/${MASTER_PLAYLIST} --token T --check-denials.
`);
  for (const w of siteWarnings(options)) io.stderr(`warning: ${w}\n`);
  return 0;
}

import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateKeyPair } from '../server/core/index.ts';
import { UsageError, type Io } from './io.ts';

export async function keysGenerate(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { type: { type: 'string', default: 'rsa' }, out: { type: 'string', default: '.' } },
    strict: true,
  });
  if (values.type !== 'rsa' && values.type !== 'ecdsa') throw new UsageError('--type must be rsa or ecdsa');
  const dir = resolve(values.out);
  const privatePath = join(dir, 'private_key.pem');
  const publicPath = join(dir, 'public_key.pem');
  for (const p of [privatePath, publicPath])
    if (existsSync(p)) throw new UsageError(`${p} already exists; refusing to overwrite a key`);
  const pair = await generateKeyPair(values.type);
  mkdirSync(dir, { recursive: true });
  writeFileSync(privatePath, pair.privateKeyPem, { mode: 0o600 });
  writeFileSync(publicPath, pair.publicKeyPem);
  io.stdout(`Wrote ${privatePath} (PKCS#8, keep it secret) and ${publicPath} (SPKI).
Next steps:
  1. CloudFront console > Public keys > Create public key: paste ${publicPath}.
     Note its ID (like K2JCJMDEHXQW5F).
  2. Key groups > Create key group with that public key; select the key group in your cache behavior's
     "Restrict viewer access".
  3. Run the gateway with CLOUDFRONT_KEY_PAIR_ID=<the ID> CLOUDFRONT_PRIVATE_KEY_FILE=${privatePath}
`);
  return 0;
}

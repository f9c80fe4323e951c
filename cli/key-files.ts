import { readFileSync } from 'node:fs';
import { importPrivateKey, importPublicKey, type SigningKey, type VerifyKey } from '../server/core/index.ts';
import { UsageError, type Io } from './io.ts';

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`${flag}: cannot read "${path}"`);
  }
}

export async function signingKeyFrom(
  values: { 'key-pair-id'?: string | undefined; 'private-key'?: string | undefined },
  io: Io,
): Promise<{ keyPairId: string; privateKey: SigningKey }> {
  const keyPairId = values['key-pair-id'] ?? io.env.CLOUDFRONT_KEY_PAIR_ID;
  const file = values['private-key'] ?? io.env.CLOUDFRONT_PRIVATE_KEY_FILE;
  if (!keyPairId) throw new UsageError('--key-pair-id (or $CLOUDFRONT_KEY_PAIR_ID) is required');
  if (!file) throw new UsageError('--private-key FILE (or $CLOUDFRONT_PRIVATE_KEY_FILE) is required');
  return { keyPairId, privateKey: await importPrivateKey(readPem(file, '--private-key')) };
}

/** --public-key ID=FILE, repeated: the key group to check against. */
export async function keyGroupFrom(entries: string[]): Promise<Map<string, VerifyKey>> {
  const group = new Map<string, VerifyKey>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--public-key "${entry}" must be ID=FILE`);
    group.set(entry.slice(0, eq), await importPublicKey(readPem(entry.slice(eq + 1), '--public-key')));
  }
  return group;
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../fixtures/keys/', import.meta.url));

/** A PEM from test/fixtures/keys (made with openssl; see test/fixtures/keys/README.md). */
export function fixtureKey(name: string): string {
  return readFileSync(dir + name, 'utf8');
}

export const RSA_KEY_PAIR_ID = 'K2JCJMDEHXQW5F';
export const RSA2_KEY_PAIR_ID = 'K3ROTATEDKEY22';
export const EC_KEY_PAIR_ID = 'KECDSAP256KEY1';

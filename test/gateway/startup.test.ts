// Misconfiguration fails at start-up, through the real entry point, with one line that says what to fix.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { testEnv } from '../helpers/targets.ts';
import { fixtureKey } from '../helpers/fixtures.ts';

const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');

function start(env: Record<string, string | undefined>) {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return spawnSync(TSX, ['server/node/main.ts'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', PORT: '0', ...clean }, encoding: 'utf8', timeout: 20_000 });
}

describe('start-up refusals', () => {
  it.each([
    ['a bad PEM', { CLOUDFRONT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----' }, /CLOUDFRONT_PRIVATE_KEY: .*could not be imported|not valid/],
    ['an encrypted key', { CLOUDFRONT_PRIVATE_KEY: fixtureKey('rsa-encrypted.pem') }, /openssl pkcs8 -topk8 -nocrypt/],
    ['a key pair ID without a key', { CLOUDFRONT_PRIVATE_KEY: undefined }, /CLOUDFRONT_KEY_PAIR_ID is set but no private key/],
    ['a missing key file', { CLOUDFRONT_PRIVATE_KEY: undefined, CLOUDFRONT_PRIVATE_KEY_FILE: '/nonexistent/key.pem' }, /cannot read "\/nonexistent\/key.pem"/],
    ['a COOKIE_DOMAIN that does not cover the media host', { MEDIA_BASE_URL: 'https://media.example.com', COOKIE_DOMAIN: 'example.org' }, /does not cover the media host "media.example.com"/],
    ['a missing media folder', { MEDIA_DIR: '/nonexistent/media' }, /MEDIA_DIR=.* is not a folder/],
    ['MEDIA_BASE_URL with a path', { MEDIA_BASE_URL: 'https://media.example.com/base' }, /must be an origin only/],
    ['a wildcard origin', { ALLOWED_ORIGINS: '*' }, /ALLOWED_ORIGINS/],
    ['a short JWT secret', { AUTH_JWT_SECRET: 'short' }, /at least 32 characters/],
    ['no way to check tokens', { AUTH_JWT_SECRET: undefined }, /set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL/],
    ['a bad ACCESS_TTL', { ACCESS_TTL: 'soon' }, /ACCESS_TTL="soon" is not a duration/],
    ['a bad public key list', { CLOUDFRONT_PUBLIC_KEYS: 'nonsense' }, /KEY_PAIR_ID=PEM/],
  ])('refuses %s', (_name, over, message) => {
    const r = start({ ...testEnv(), ...over });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('nodedir'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hls-gate: configuration error: /);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stderr + r.stdout).not.toContain('MII'); // no key material
  });
});

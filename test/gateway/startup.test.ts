// Misconfiguration fails at start-up with one line that says what to fix: every rule as a table on the functions
// that read the settings (no process per row), and once through the real entry point.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { waitForOutput } from '../helpers/process.ts';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { testEnv } from '../helpers/targets.ts';
import { startNodeGateway } from '../../server/node/start.ts';
import { loadNodeSettings } from '../../server/node/settings.ts';
import { importGatewayKeys } from '../../server/app/keys.ts';
import { ConfigError, type Env } from '../../server/app/config.ts';
import { DEV_KEY_PAIR_ID, applyMode } from '../../server/app/mode.ts';
import { importPrivateKey, signCookies } from '../../server/core/index.ts';
import { RSA2_KEY_PAIR_ID, RSA_KEY_PAIR_ID, fixtureKey } from '../helpers/fixtures.ts';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');

function start(env: Record<string, string | undefined>) {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return spawnSync(TSX, ['server/node/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', PORT: '0', ...clean },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('start-up refusals', () => {
  it.each([
    [
      'a bad PEM',
      { CLOUDFRONT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----' },
      /CLOUDFRONT_PRIVATE_KEY: .*could not be imported|not valid/,
    ],
    ['an encrypted key', { CLOUDFRONT_PRIVATE_KEY: fixtureKey('rsa-encrypted.pem') }, /openssl pkcs8 -topk8 -nocrypt/],
    [
      'a key pair ID without a key',
      { CLOUDFRONT_PRIVATE_KEY: undefined },
      /CLOUDFRONT_KEY_PAIR_ID is set but no private key/,
    ],
    [
      'a missing key file',
      { CLOUDFRONT_PRIVATE_KEY: undefined, CLOUDFRONT_PRIVATE_KEY_FILE: '/nonexistent/key.pem' },
      /cannot read "\/nonexistent\/key.pem"/,
    ],
    [
      'a COOKIE_DOMAIN that does not cover the media host',
      { MEDIA_BASE_URL: 'https://media.example.com', COOKIE_DOMAIN: 'example.org' },
      /does not cover the media host "media.example.com"/,
    ],
    ['a missing media folder', { MEDIA_DIR: '/nonexistent/media' }, /MEDIA_DIR=.* is not a folder/],
    ['MEDIA_BASE_URL with a path', { MEDIA_BASE_URL: 'https://media.example.com/base' }, /must be an origin only/],
    ['a wildcard origin', { ALLOWED_ORIGINS: '*' }, /ALLOWED_ORIGINS/],
    ['a short JWT secret', { AUTH_JWT_SECRET: 'short' }, /at least 32 characters/],
    [
      'no way to check tokens',
      { AUTH_JWT_SECRET: undefined },
      /set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL/,
    ],
    ['a bad ACCESS_TTL', { ACCESS_TTL: 'soon' }, /ACCESS_TTL="soon" is not a duration/],
    ['a bad public key list', { CLOUDFRONT_PUBLIC_KEYS: 'nonsense' }, /KEY_PAIR_ID=PEM/],
    // Issue #10: the grant must never be wider than the operator meant.
    [
      'DEMO=true beside a production AUTH_JWT_SECRET',
      { DEMO: 'true' },
      /DEMO=true cannot be combined with AUTH_JWT_SECRET/,
    ],
    [
      'a configured deployment without MEDIA_BASE_URL or MEDIA_HOSTS',
      { MEDIA_HOSTS: undefined },
      /set MEDIA_BASE_URL .* or MEDIA_HOSTS/,
    ],
    [
      'only MEDIA_BASE_URL and COOKIE_DOMAIN (demo mode on Workers before)',
      {
        CLOUDFRONT_KEY_PAIR_ID: undefined,
        CLOUDFRONT_PRIVATE_KEY: undefined,
        CLOUDFRONT_PUBLIC_KEYS: undefined,
        AUTH_JWT_SECRET: undefined,
        ALLOWED_ORIGINS: undefined,
        MEDIA_HOSTS: undefined,
        MEDIA_BASE_URL: 'https://media.example.com',
        COOKIE_DOMAIN: 'example.com',
      },
      /MEDIA_BASE_URL, COOKIE_DOMAIN are set.*CLOUDFRONT_KEY_PAIR_ID.*AUTH_JWT_SECRET.*set DEMO=true instead/,
    ],
    [
      'DEMO=false and nothing else',
      {
        CLOUDFRONT_KEY_PAIR_ID: undefined,
        CLOUDFRONT_PRIVATE_KEY: undefined,
        CLOUDFRONT_PUBLIC_KEYS: undefined,
        AUTH_JWT_SECRET: undefined,
        ALLOWED_ORIGINS: undefined,
        MEDIA_HOSTS: undefined,
        DEMO: 'false',
      },
      /DEMO=false is set.*incomplete/,
    ],
    [
      'the signing key ID reused for a different public key',
      { CLOUDFRONT_PUBLIC_KEYS: `${RSA_KEY_PAIR_ID}=${fixtureKey('rsa2-spki.pem')}` },
      /gives K\w+, the ID of the signing key .* a different public key/,
    ],
    [
      'a wildcard MEDIA_BASE_URL',
      { MEDIA_HOSTS: undefined, MEDIA_BASE_URL: 'https://*.example.com' },
      /must name one host: no wildcards/,
    ],
    [
      'a public-suffix COOKIE_DOMAIN',
      { MEDIA_HOSTS: undefined, MEDIA_BASE_URL: 'https://media.example.co.uk', COOKIE_DOMAIN: 'co.uk' },
      /COOKIE_DOMAIN="co.uk" is a public suffix/,
    ],
    [
      'a private public-suffix COOKIE_DOMAIN',
      { MEDIA_HOSTS: undefined, MEDIA_BASE_URL: 'https://me.github.io', COOKIE_DOMAIN: 'github.io' },
      /is a public suffix/,
    ],
    ['a wildcard in MEDIA_HOSTS', { MEDIA_HOSTS: '*.example.com' }, /MEDIA_HOSTS: "\*.example.com" is not a host name/],
    ['both MEDIA_BASE_URL and MEDIA_HOSTS', { MEDIA_BASE_URL: 'https://media.example.com' }, /not both/],
    // Signed uploads (issue #15).
    ['UPLOAD_MAX_BYTES without UPLOADS', { UPLOAD_MAX_BYTES: '1000000' }, /UPLOAD_MAX_BYTES needs UPLOADS=true/],
    [
      'a tiny UPLOAD_MAX_BYTES',
      { UPLOADS: 'true', UPLOAD_MAX_BYTES: '10' },
      /UPLOAD_MAX_BYTES must be a whole number of bytes from 1024/,
    ],
    // Session control (issue #13).
    [
      'MAX_STREAMS_PER_VIEWER without SESSION_SECRET',
      { MAX_STREAMS_PER_VIEWER: '2' },
      /MAX_STREAMS_PER_VIEWER needs session control: set SESSION_SECRET/,
    ],
    ['a short SESSION_SECRET', { SESSION_SECRET: 'short' }, /SESSION_SECRET must be at least 32 characters/],
    [
      'SESSION_SECRET equal to AUTH_JWT_SECRET',
      { SESSION_SECRET: 'test-secret-that-is-long-enough-for-hs256!' },
      /SESSION_SECRET must differ from AUTH_JWT_SECRET/,
    ],
    [
      'ADMIN_SECRET equal to AUTH_JWT_SECRET',
      { SESSION_SECRET: 's'.repeat(40), ADMIN_SECRET: 'test-secret-that-is-long-enough-for-hs256!' },
      /ADMIN_SECRET must differ from AUTH_JWT_SECRET and SESSION_SECRET/,
    ],
    [
      'a session store that is not Redis',
      { SESSION_SECRET: 's'.repeat(40), SESSION_STORE: 'postgres://db' },
      /SESSION_STORE must be memory or a redis:\/\/ URL/,
    ],
    [
      'a bad MAX_STREAMS_PER_VIEWER',
      { SESSION_SECRET: 's'.repeat(40), MAX_STREAMS_PER_VIEWER: '0' },
      /must be a whole number from 1 to 1000/,
    ],
    [
      'a bad SESSION_STORE_FAILURE',
      { SESSION_SECRET: 's'.repeat(40), SESSION_STORE_FAILURE: 'maybe' },
      /SESSION_STORE_FAILURE must be closed .* or open/,
    ],
    // nginx in front (issue #16).
    [
      'SERVE_VIA_NGINX with TRUST_PROXY=false',
      { SERVE_VIA_NGINX: 'true', TRUST_PROXY: 'false' },
      /SERVE_VIA_NGINX=true needs the viewer address nginx forwards/,
    ],
    [
      'VERDICT_CACHE without SERVE_VIA_NGINX',
      { VERDICT_CACHE: '5' },
      /VERDICT_CACHE is for nginx in front: set SERVE_VIA_NGINX=true/,
    ],
    [
      'a VERDICT_CACHE over a minute',
      { SERVE_VIA_NGINX: 'true', VERDICT_CACHE: '2m' },
      /VERDICT_CACHE must be at most 60 seconds/,
    ],
    ['a bad SERVE_VIA_NGINX', { SERVE_VIA_NGINX: 'maybe' }, /SERVE_VIA_NGINX="maybe" must be true or false/],
    // One options model (issue #24): the shared checks, worded the same for variables and hls-gate/hono options.
    [
      'a key pair ID that is not one',
      { CLOUDFRONT_KEY_PAIR_ID: 'K-1 2' },
      /CLOUDFRONT_KEY_PAIR_ID: "K-1 2" is not a key pair ID \(letters and digits/,
    ],
    ['MEDIA_HOSTS that lists no host', { MEDIA_HOSTS: ' , ' }, /MEDIA_HOSTS="," lists no host: set MEDIA_BASE_URL/],
    [
      'a SESSION_POLL over a minute',
      { SESSION_SECRET: 's'.repeat(40), SESSION_POLL: '2m' },
      /SESSION_POLL must be between 1 second and 1 minute/,
    ],
    [
      'a COOKIE_DOMAIN that is not a domain',
      { MEDIA_HOSTS: undefined, MEDIA_BASE_URL: 'https://media.example.com', COOKIE_DOMAIN: 'example' },
      /COOKIE_DOMAIN="example" is not a domain name/,
    ],
  ])('refuses %s', async (_name, over, message) => {
    const err = await refusal({ ...testEnv(), ...over });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
    expect(err.message).not.toContain('MII'); // no key material
  });

  it('the real entry prints the refusal as one line, with no stack trace and no key material, and exits 1', () => {
    for (const over of [{ ACCESS_TTL: 'soon' }, { CLOUDFRONT_PRIVATE_KEY: fixtureKey('rsa-encrypted.pem') }]) {
      const r = start({ ...testEnv(), ...over });
      expect(r.status).toBe(1);
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.includes('nodedir'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^hls-gate: configuration error: (ACCESS_TTL="soon" is not a duration|CLOUDFRONT_PRIVATE_KEY: .*openssl pkcs8)/,
      );
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stderr + r.stdout).not.toContain('MII'); // no key material
    }
  });
});

/** What `npm start` would refuse with, from the settings and the key import that precede listening. */
async function refusal(env: Env): Promise<Error> {
  try {
    const { config } = await loadNodeSettings(env);
    await importGatewayKeys(config);
  } catch (err) {
    return err as Error;
  }
  throw new Error('the settings were accepted');
}

describe('the zero-configuration rule, applied once for both runtimes (applyMode)', () => {
  const KEY = 'development key PEM';
  it.each([
    [
      'nothing set: the demo, made explicit, with the development key',
      {},
      { demo: true, zeroConfig: true },
      { DEMO: 'true', CLOUDFRONT_KEY_PAIR_ID: DEV_KEY_PAIR_ID, CLOUDFRONT_PRIVATE_KEY: KEY },
    ],
    [
      'DEMO=true alone: the development key',
      { DEMO: 'true' },
      { demo: true, zeroConfig: false },
      { DEMO: 'true', CLOUDFRONT_KEY_PAIR_ID: DEV_KEY_PAIR_ID },
    ],
    [
      'DEMO=true with a key file: that key, never the development one',
      { DEMO: 'true', CLOUDFRONT_PRIVATE_KEY_FILE: 'k.pem' },
      { demo: true, zeroConfig: false },
      { CLOUDFRONT_KEY_PAIR_ID: undefined, CLOUDFRONT_PRIVATE_KEY: undefined },
    ],
    [
      'a deployment: as given',
      testEnv(),
      { demo: false, zeroConfig: false },
      { DEMO: undefined, CLOUDFRONT_KEY_PAIR_ID: testEnv().CLOUDFRONT_KEY_PAIR_ID },
    ],
  ] as [string, Env, object, Env][])('%s', async (_name, input, mode, expected) => {
    let made = 0;
    const applied = await applyMode(input, async () => (made++, KEY));
    expect(applied.mode).toEqual(mode);
    expect(applied.env).toMatchObject(Object.fromEntries(Object.entries(expected).filter(([, v]) => v !== undefined)));
    for (const [name, v] of Object.entries(expected)) if (v === undefined) expect(applied.env[name]).toBeUndefined();
    expect(made).toBe(applied.devKey ? 1 : 0);
    expect(input.CLOUDFRONT_KEY_PAIR_ID === DEV_KEY_PAIR_ID).toBe(false); // the input is left as it was
  });

  it('refuses a half-configured deployment before any key is made', async () => {
    let made = 0;
    await expect(applyMode({ MEDIA_BASE_URL: 'https://media.example.com' }, async () => (made++, KEY))).rejects.toThrow(
      /MEDIA_BASE_URL is set\) but it is incomplete: set CLOUDFRONT_KEY_PAIR_ID/,
    );
    expect(made).toBe(0);
  });
});

describe('start-up warnings and the one public-key parser', () => {
  it('warns that an RSA-3072 signing key cannot be used with CloudFront in front, and still starts', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const gw = await startNodeGateway(
      testEnv({
        PORT: '0',
        CLOUDFRONT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        CLOUDFRONT_PUBLIC_KEYS: undefined,
      }),
      { log: () => {} },
    );
    try {
      expect(gw.warnings).toEqual([
        expect.stringMatching(
          /CLOUDFRONT_PRIVATE_KEY is RSA-3072: .*only RSA-2048 and ECDSA P-256.*cannot be used with CloudFront in front/,
        ),
      ]);
    } finally {
      await gw.close();
    }
  });

  it('the warning reaches the log of `npm start` as one JSON line', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-key-'));
    writeFileSync(join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const env = {
      ...testEnv(),
      CLOUDFRONT_PRIVATE_KEY: undefined,
      CLOUDFRONT_PUBLIC_KEYS: undefined,
      CLOUDFRONT_PRIVATE_KEY_FILE: join(dir, 'k.pem'),
    };
    const child = spawn(TSX, ['server/node/main.ts'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH!,
        HOME: process.env.HOME ?? '/tmp',
        PORT: '0',
        ...Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
      },
    });
    let out: string;
    try {
      out = (await waitForOutput(child, /"listening"/, 'the gateway')).output();
    } finally {
      child.kill();
    }
    expect(out.split('\n')[0]).toMatch(/^\{"level":"warn","msg":"CLOUDFRONT_PRIVATE_KEY is RSA-3072: /);
  });

  it('newline-separated CLOUDFRONT_PUBLIC_KEYS with a PEM and a file path work on Node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-pub-'));
    writeFileSync(join(dir, 'rsa2.pem'), fixtureKey('rsa2-spki.pem'));
    const ec = fixtureKey('ec-spki.pem');
    const gw = await startNodeGateway(
      testEnv({ PORT: '0', CLOUDFRONT_PUBLIC_KEYS: `KECDSA=${ec}\n${RSA2_KEY_PAIR_ID}=${join(dir, 'rsa2.pem')}\n` }),
      { log: () => {} },
    );
    try {
      const key = await importPrivateKey(fixtureKey('rsa2-pkcs8.pem'));
      const cookies = await signCookies(
        { resource: `${gw.url}/videos/ladder/*`, expires: Math.floor(Date.now() / 1000) + 60 },
        { keyPairId: RSA2_KEY_PAIR_ID, privateKey: key },
      );
      const res = await fetch(`${gw.url}/videos/ladder/master.m3u8`, {
        headers: {
          Cookie: Object.entries(cookies)
            .map(([k, v]) => `${k}=${v}`)
            .join('; '),
        },
      });
      expect(res.status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});

describe("the demo's development key", () => {
  it('the start-up log names its key pair ID and files, so the CLI can be pointed at it', async () => {
    const child = spawn(TSX, ['server/node/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', PORT: '0' },
    });
    let out: string;
    try {
      out = (await waitForOutput(child, /"listening"/, 'the gateway')).output();
    } finally {
      child.kill();
    }
    const line = out.split('\n').find((l) => l.includes('"development key"'));
    expect(JSON.parse(line!)).toEqual({
      level: 'info',
      msg: 'development key',
      keyPairId: 'KDEVELOPMENTKEY',
      privateKeyFile: join(REPO_ROOT, '.dev-keys/private_key.pem'),
      publicKeyFile: join(REPO_ROOT, '.dev-keys/public_key.pem'),
    });
  });
});

import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { getSignedCookies, getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { buildCustomPolicy, importPrivateKey, signCookies, signUrl } from '../../server/core/index.ts';
import { main } from '../../cli/main.ts';
import type { Io } from '../../cli/io.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { RSA_KEY_PAIR_ID as KID, fixtureKey } from '../helpers/fixtures.ts';

const KEY = join(REPO_ROOT, 'test/fixtures/keys/rsa-pkcs8.pem');
const PUB = join(REPO_ROOT, 'test/fixtures/keys/rsa-spki.pem');
const NOW = 1_800_000_000_000;
const BIN = join(REPO_ROOT, 'bin/hls-gate.js');

async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, now: () => NOW };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const resourceArb = fc
  .tuple(
    fc.array(fc.stringMatching(/^[A-Za-z0-9 _.é日-]{1,8}$/), { minLength: 1, maxLength: 3 }),
    fc.constantFrom('', '*', '/*'),
    fc.option(fc.stringMatching(/^[a-z]{1,4}=[a-z0-9]{1,4}$/), { nil: undefined }),
  )
  .map(([p, w, q]) => `https://media.example.com/${p.join('/')}${w}${q ? `?${q}` : ''}`);
const times = fc.tuple(
  fc.integer({ min: 1_800_000_100, max: 1_900_000_000 }),
  fc.option(fc.integer({ min: 1_700_000_000, max: 1_800_000_000 }), { nil: undefined }),
);
const ipArb = fc.option(
  fc
    .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 32 }))
    .map(([a, b, m]) => `${a}.${b}.0.0/${m}`),
  { nil: undefined },
);
const hashArb = fc.constantFrom('SHA1' as const, 'SHA256' as const);

describe('hls-gate sign: impossible and expired grants', () => {
  const base = ['--key-pair-id', KID, '--private-key', KEY];
  it.each([
    ['cookies', '--resource', 'https://media.example.com/videos/abc/*'],
    ['url', 'https://media.example.com/videos/abc/a.ts'],
  ])('sign %s refuses a start at or after the expiry (exit 2, one line)', async (kind, ...rest) => {
    for (const start of ['1800000600', '1800000601']) {
      const out = await run(['sign', kind, ...rest, '--expires', '1800000600', '--not-before', start, ...base]);
      expect(out.code).toBe(2);
      expect(out.stderr).toBe(
        'hls-gate: the start (notBefore) must be before the expiry: this grant would never be valid\n',
      );
      expect(out.stdout).toBe('');
    }
  });
  it.each([
    ['cookies', '--resource', 'https://media.example.com/videos/abc/*'],
    ['url', 'https://media.example.com/videos/abc/a.ts'],
  ])('sign %s warns about an already expired grant, and still signs it', async (kind, ...rest) => {
    const out = await run(['sign', kind, ...rest, '--expires', String(NOW / 1000 - 5), ...base]);
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/^hls-gate: warning: --expires is in the past \(.*\): this grant is already expired\n$/);
    expect(out.stdout).not.toBe('');
    expect((await run(['sign', kind, ...rest, '--expires', String(NOW / 1000 + 5), ...base])).stderr).toBe('');
  });
});

describe('hls-gate sign: identical to @aws-sdk/cloudfront-signer', () => {
  it('sign cookies --json (custom policy), 150 random cases in-process', async () => {
    await fc.assert(
      fc.asyncProperty(resourceArb, times, ipArb, hashArb, async (resource, [expires, start], ip, hash) => {
        const args = [
          'sign',
          'cookies',
          '--resource',
          resource,
          '--expires',
          String(expires),
          '--hash',
          hash.toLowerCase(),
          '--key-pair-id',
          KID,
          '--private-key',
          KEY,
          '--json',
        ];
        if (start) args.push('--not-before', String(start));
        if (ip) args.push('--ip', ip);
        const out = await run(args);
        expect(out.stderr).toBe('');
        const policy = buildCustomPolicy({
          resource,
          expires,
          ...(start ? { notBefore: start } : {}),
          ...(ip ? { ipAddress: ip } : {}),
        });
        const theirs = getSignedCookies({
          policy,
          keyPairId: KID,
          privateKey: fixtureKey('rsa-pkcs8.pem'),
          algorithm: hash,
        });
        expect(out.stdout).toBe(`${JSON.stringify(theirs)}\n`);
      }),
      { numRuns: 150 },
    );
  });

  it('sign url (canned and custom), 150 random cases in-process', async () => {
    await fc.assert(
      fc.asyncProperty(
        resourceArb.map((r) => r.replace(/\*/g, '')),
        times,
        ipArb,
        hashArb,
        async (url, [expires, start], ip, hash) => {
          const args = [
            'sign',
            'url',
            url,
            '--expires',
            String(expires),
            '--hash',
            hash,
            '--key-pair-id',
            KID,
            '--private-key',
            KEY,
          ];
          if (start) args.push('--not-before', String(start));
          if (ip) args.push('--ip', ip);
          const out = await run(args);
          const theirs = getSignedUrl({
            url,
            keyPairId: KID,
            privateKey: fixtureKey('rsa-pkcs8.pem'),
            dateLessThan: new Date(expires * 1000),
            algorithm: hash,
            ...(start ? { dateGreaterThan: new Date(start * 1000) } : {}),
            ...(ip ? { ipAddress: ip } : {}),
          });
          expect(out.stdout).toBe(`${theirs}\n`);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the real executable gives the same bytes (spawned), with keys from the environment', () => {
    const env = { ...process.env, CLOUDFRONT_KEY_PAIR_ID: KID, CLOUDFRONT_PRIVATE_KEY_FILE: KEY };
    const resource = 'https://media.example.com/videos/ünï cødé/*';
    const out = execFileSync(
      process.execPath,
      [BIN, 'sign', 'cookies', '--resource', resource, '--expires', '1900000000', '--hash', 'sha256', '--json'],
      { env, encoding: 'utf8' },
    );
    const policy = buildCustomPolicy({ resource, expires: 1900000000 });
    expect(JSON.parse(out)).toEqual(
      getSignedCookies({ policy, keyPairId: KID, privateKey: fixtureKey('rsa-pkcs8.pem'), algorithm: 'SHA256' }),
    );
    const url = execFileSync(
      process.execPath,
      [BIN, 'sign', 'url', 'https://media.example.com/a b/c.ts?x=1', '--expires', '1900000000'],
      { env, encoding: 'utf8' },
    ).trim();
    expect(url).toBe(
      getSignedUrl({
        url: 'https://media.example.com/a b/c.ts?x=1',
        keyPairId: KID,
        privateKey: fixtureKey('rsa-pkcs8.pem'),
        dateLessThan: new Date(1900000000 * 1000),
      }),
    );
  });

  it('Set-Cookie lines without --json, relative times', async () => {
    const out = await run([
      'sign',
      'cookies',
      '--resource',
      'https://media.example.com/videos/a/*',
      '--expires',
      '+2h',
      '--key-pair-id',
      KID,
      '--private-key',
      KEY,
      '--domain',
      'example.com',
      '--path',
      '/videos/a/',
    ]);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines)
      expect(l).toMatch(
        /^Set-Cookie: CloudFront-(Key-Pair-Id|Signature|Policy)=[^;]+; Path=\/videos\/a\/; Max-Age=7200; Domain=example.com; Secure; HttpOnly; SameSite=Lax$/,
      );
  });
});

describe('hls-gate explain names the failing check', async () => {
  const key = await importPrivateKey(fixtureKey('rsa-pkcs8.pem'));
  const at = NOW / 1000;
  const seg = 'https://media.example.com/videos/abc/seg_001.ts';
  const cookie = async (
    over: { resource?: string; expires?: number; notBefore?: number; ip?: string; kid?: string } = {},
  ) =>
    Object.entries(
      await signCookies(
        {
          resource: over.resource ?? 'https://media.example.com/videos/abc/*',
          expires: over.expires ?? at + 60,
          ...(over.notBefore ? { notBefore: over.notBefore } : {}),
          ...(over.ip ? { ipAddress: over.ip } : {}),
        },
        { keyPairId: over.kid ?? KID, privateKey: key },
      ),
    )
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  const rows: [string, () => Promise<string[]>, RegExp, string][] = [
    ['granted', async () => ['--cookie', await cookie()], /GRANTED by key K2JCJMDEHXQW5F/, ''],
    ['expired', async () => ['--cookie', await cookie({ expires: at - 1 })], /\[FAIL\] not expired/, 'expired'],
    [
      'not-yet-valid',
      async () => ['--cookie', await cookie({ notBefore: at + 10 })],
      /\[FAIL\] already valid/,
      'not-yet-valid',
    ],
    [
      'bad-signature',
      async () => [
        '--cookie',
        (await cookie()).replace(
          /CloudFront-Signature=(.)/,
          (_m, c: string) => `CloudFront-Signature=${c === 'A' ? 'B' : 'A'}`,
        ),
      ],
      /\[FAIL\] signature matches/,
      'bad-signature',
    ],
    [
      'resource-mismatch',
      async () => ['--cookie', await cookie({ resource: 'https://media.example.com/videos/xyz/*' })],
      /\[FAIL\] Resource covers the URL/,
      'resource-mismatch',
    ],
    [
      'ip-mismatch',
      async () => ['--cookie', await cookie({ ip: '10.0.0.0/8' }), '--client-ip', '192.0.2.1'],
      /\[FAIL\] viewer IP inside IpAddress/,
      'ip-mismatch',
    ],
    [
      'unknown-key',
      async () => ['--cookie', await cookie({ kid: 'KOTHER' })],
      /\[FAIL\] key pair ID is a trusted public key/,
      'unknown-key',
    ],
    [
      'missing key pair id',
      async () => ['--cookie', (await cookie()).replace(/CloudFront-Key-Pair-Id=[^;]+;?\s*/, '')],
      /\[FAIL\] key pair ID present/,
      'missing-key-pair-id',
    ],
    [
      'malformed policy',
      async () => [
        '--cookie',
        (await cookie()).replace(/CloudFront-Policy=[^;]+/, 'CloudFront-Policy=eyJub3QiOiJhIHBvbGljeSJ9'),
      ],
      /\[FAIL\] policy decodes/,
      'malformed-policy',
    ],
    ['no credentials', async () => [], /\[FAIL\] credentials present/, 'no-credentials'],
  ];
  it.each(rows)('%s', async (_n, extra, line, reason) => {
    const out = await run([
      'explain',
      '--url',
      seg,
      '--public-key',
      `${KID}=${PUB}`,
      '--at',
      String(at),
      ...(await extra()),
    ]);
    expect(out.stdout).toMatch(line);
    expect(out.code).toBe(reason ? 1 : 0);
    if (reason) expect(out.stdout).toContain(`reason: ${reason}`);
    expect(out.stdout).not.toMatch(/CloudFront-Signature=|[A-Za-z0-9~_-]{200}/);
    const json = await run([
      'explain',
      '--url',
      seg,
      '--public-key',
      `${KID}=${PUB}`,
      '--at',
      String(at),
      '--json',
      ...(await extra()),
    ]);
    expect(JSON.parse(json.stdout).granted).toBe(!reason);
  });
  it('explains a signed URL', async () => {
    const url = await signUrl(seg, { expires: at + 60 }, { keyPairId: KID, privateKey: key });
    expect((await run(['explain', '--url', url, '--public-key', `${KID}=${PUB}`, '--at', String(at)])).code).toBe(0);
  });
});

describe('hls-gate keys generate, and bad usage', () => {
  it.each(['rsa', 'ecdsa'])('writes a %s pair that signs and verifies; refuses to overwrite', async (type) => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-keys-'));
    const out = await run(['keys', 'generate', '--type', type, '--out', dir]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('Key groups');
    expect(statSync(join(dir, 'private_key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'private_key.pem'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const signed = await run([
      'sign',
      'url',
      'https://m.example.com/a.ts',
      '--expires',
      '+1h',
      '--key-pair-id',
      'KNEW',
      '--private-key',
      join(dir, 'private_key.pem'),
    ]);
    const ok = await run([
      'explain',
      '--url',
      signed.stdout.trim(),
      '--public-key',
      `KNEW=${join(dir, 'public_key.pem')}`,
    ]);
    expect(ok.code).toBe(0);
    expect((await run(['keys', 'generate', '--out', dir])).code).toBe(2);
  });

  it.each([
    [['sign', 'cookies', '--bogus']],
    [['sign', 'cookies', '--resource', 'https://a/*']],
    [
      [
        'sign',
        'cookies',
        '--resource',
        'https://a/*',
        '--expires',
        'tomorrow',
        '--key-pair-id',
        KID,
        '--private-key',
        KEY,
      ],
    ],
    [
      [
        'sign',
        'cookies',
        '--resource',
        'https://a/*',
        '--expires',
        '+1h',
        '--key-pair-id',
        KID,
        '--private-key',
        '/nonexistent.pem',
      ],
    ],
    [
      [
        'sign',
        'cookies',
        '--resource',
        'https://a/*',
        '--expires',
        '+1h',
        '--key-pair-id',
        KID,
        '--private-key',
        join(REPO_ROOT, 'test/fixtures/keys/rsa1024.pem'),
      ],
    ],
    [['sign', 'url', 'https://a/b', '--expires', '+1h', '--key-pair-id', KID, '--private-key', KEY, '--hash', 'md5']],
    [['explain', '--url', 'https://a/b']],
    [['frobnicate']],
  ])('%j exits 2 with one line', async (argv) => {
    const out = await run(argv);
    expect(out.code).toBe(2);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).toMatch(/^hls-gate: /);
  });

  it('the executable prints no stack trace on a bad key', () => {
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'sign',
        'url',
        'https://a/b',
        '--expires',
        '+1h',
        '--key-pair-id',
        KID,
        '--private-key',
        join(REPO_ROOT, 'test/fixtures/keys/rsa-encrypted.pem'),
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/openssl pkcs8 -topk8 -nocrypt/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('hls-gate: version, help, token, --header, JSON-only stdout', () => {
  it('--version prints the package version (the compiled executable, no tsx)', () => {
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(execFileSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' })).toBe(`${version}\n`);
  });

  it.each(['keys', 'sign', 'explain', 'token', 'serve', 'fetch-segments'])(
    '%s --help prints its usage and exits 0',
    async (command) => {
      const out = await run([command, ...(command === 'keys' ? ['generate'] : []), '--help']);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain(`hls-gate ${command}`);
    },
  );

  it('token mints a viewer JWT with the configured secret, audience and issuer, which the gateway accepts', async () => {
    const secret = 'test-secret-that-is-long-enough-for-hs256!';
    const out = await run(['token', '--videos', 'ladder,cmaf', '--ttl', '30m'], {
      AUTH_JWT_SECRET: secret,
      AUTH_JWT_AUDIENCE: 'media',
      AUTH_JWT_ISSUER: 'https://app.example.com',
    });
    expect(out.code).toBe(0);
    const { jwtVerify } = await import('jose');
    const { payload } = await jwtVerify(out.stdout.trim(), new TextEncoder().encode(secret), {
      audience: 'media',
      issuer: 'https://app.example.com',
      currentDate: new Date(NOW),
    });
    expect(payload).toMatchObject({ videos: ['ladder', 'cmaf'], sub: 'local-tester', exp: NOW / 1000 + 1800 });
    expect((await run(['token'])).stderr).toMatch(/AUTH_JWT_SECRET is not set/);
    expect((await run(['token', '--videos', '../x'], { AUTH_JWT_SECRET: secret })).code).toBe(2);
  });

  it('sign cookies --header prints a Cookie line that explain and the verifier accept', async () => {
    const out = await run([
      'sign',
      'cookies',
      '--resource',
      'https://media.example.com/videos/abc/*',
      '--expires',
      String(NOW / 1000 + 60),
      '--key-pair-id',
      KID,
      '--private-key',
      KEY,
      '--header',
    ]);
    expect(out.stdout).toMatch(/^Cookie: (CloudFront-(Policy|Signature|Key-Pair-Id)=[A-Za-z0-9~_-]+(; |\n$)){3}/);
    const explained = await run([
      'explain',
      '--url',
      'https://media.example.com/videos/abc/a.ts',
      '--cookie',
      out.stdout.trim(),
      '--public-key',
      `${KID}=${PUB}`,
      '--at',
      String(NOW / 1000),
    ]);
    expect(explained.code).toBe(0);
  });
});

describe('hls-gate serve', () => {
  it('runs the compiled gateway (the demo when nothing is configured): health, player page and a grant', async () => {
    const { spawn } = await import('node:child_process');
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-serve-'));
    const { cpSync } = await import('node:fs');
    cpSync(join(REPO_ROOT, 'media'), join(dir, 'media'), { recursive: true });
    // Started elsewhere than the checkout, as an installed package would be: ./media and ./.dev-keys are the cwd's.
    const child = spawn(process.execPath, [BIN, 'serve'], {
      cwd: dir,
      env: { PATH: process.env.PATH!, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"msg":"listening","url":"([^"]+)"/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
      expect(await (await fetch(`${url}/`)).text()).toContain('hls-gate-player');
      const { token } = (await (await fetch(`${url}/api/demo/token`, { method: 'POST' })).json()) as { token: string };
      expect(
        (
          await fetch(`${url}/api/videos/ladder/access`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}` },
          })
        ).status,
      ).toBe(200);
      expect(statSync(join(dir, '.dev-keys', 'private_key.pem')).isFile()).toBe(true);
    } finally {
      child.kill();
    }
  }, 30_000);
});

describe('hls-gate live refuses a secret it cannot keep secret, before anything starts', () => {
  const media = REPO_ROOT; // any existing folder: nothing is written when the options are refused
  it.each([
    ['an RTMP source without LIVE_STREAM_KEY', ['--input', 'rtmp://0.0.0.0:1935/live'], {}, /needs LIVE_STREAM_KEY/],
    [
      'a stream key too short to resist guessing',
      ['--input', 'rtmp://0.0.0.0:1935/live'],
      { LIVE_STREAM_KEY: 'short' },
      /needs LIVE_STREAM_KEY/,
    ],
    [
      'the stream key in the URL (visible on the command line)',
      ['--input', 'rtmp://0.0.0.0:1935/live/secret-key-0123456789'],
      { LIVE_STREAM_KEY: 'secret-key-0123456789' },
      /never from the URL/,
    ],
    ['an SRT source without LIVE_SRT_PASSPHRASE', ['--input', 'srt://0.0.0.0:9000'], {}, /needs LIVE_SRT_PASSPHRASE/],
    [
      'an SRT URL carrying its own options',
      ['--input', 'srt://0.0.0.0:9000?passphrase=x'],
      {},
      /--input srt:\/\/HOST:PORT/,
    ],
  ])('%s', async (_what, args, env, message) => {
    const out = await run(['live', 'stream', '--media-dir', media, ...args], env);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).not.toContain('secret-key');
  });
});

describe('hls-gate live refuses a part length it cannot use', () => {
  it.each([
    ['--part-seconds without --low-latency', ['--part-seconds', '0.5'], /--part-seconds goes with --low-latency/],
    ['a part shorter than 0.2 s', ['--low-latency', '--part-seconds', '0.1'], /from 0.2 to 1/],
    ['a part longer than a second', ['--low-latency', '--part-seconds', '2'], /from 0.2 to 1/],
    ['a part that is not a number', ['--low-latency', '--part-seconds', '1/3'], /from 0.2 to 1/],
  ])('%s', async (_what, args, message) => {
    const out = await run(['live', 'stream', '--media-dir', REPO_ROOT, '--input', 'talk.mp4', ...args], {});
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(message);
  });
});

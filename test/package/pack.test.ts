// The published package, as a user gets it: `npm pack`, then installed from the tarball into an empty project,
// laid out as npm lays it out (node_modules/hls-gate from the tarball; its dependencies linked from this checkout's
// node_modules, since tests never reach the registry), then used with plain `node` (no tsx, no TypeScript):
// the library signs what AWS's signer signs and verifies it; a host Hono app with its own routes mounts the
// gateway at /media and a viewer walks a whole video under it; and a TypeScript consumer type-checks against
// the shipped declarations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { getSignedCookies } from '@aws-sdk/cloudfront-signer';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { cookieHeader, cookiesFrom, viewerToken, JWT_SECRET } from '../helpers/targets.ts';
import { walkStream } from '../helpers/walk.ts';
import { RSA_KEY_PAIR_ID, fixtureKey } from '../helpers/fixtures.ts';

interface PackInfo {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });

describe('the npm package', () => {
  let dir: string;
  let pack: PackInfo;
  const node = (script: string, env: Record<string, string> = {}) =>
    execFileSync(process.execPath, [script], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hls-gate-consumer-'));
    // dist/ is fresh: `npm test` builds before it runs the suites.
    pack = (
      JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], REPO_ROOT)) as PackInfo[]
    )[0]!;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const installed = join(dir, 'node_modules/hls-gate');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, pack.filename), '-C', installed, '--strip-components=1']);
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies)) {
      mkdirSync(dirname(join(dir, 'node_modules', dep)), { recursive: true });
      symlinkSync(join(REPO_ROOT, 'node_modules', dep), join(dir, 'node_modules', dep));
    }
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds only what users run: no tests, benchmarks, fixtures, keys or TypeScript sources', () => {
    const paths = pack.files.map((f) => f.path);
    expect(paths).toContain('LICENSE');
    expect(paths).toContain('dist/server/index.js');
    expect(paths).toContain('dist/server/index.d.ts');
    expect(paths).toContain('player/dist/app.js');
    expect(paths.filter((p) => /^(test|bench|media|scripts)\/|\.pem$|\.dev-keys|(?<!\.d)\.ts$/.test(p))).toEqual([]);
    // A ceiling against accidental bulk (a fixture, a source map): most of it is the player bundle (hls.js, ~600 KB
    // unpacked) and the README; 576 KiB leaves room for the code's own growth (live ingest added ~18 KiB, low latency
    // and hls-gate/client ~12 KiB, CloudFront as code ~30 KiB, with their README sections), not for a stray file.
    expect(pack.size).toBeLessThan(576 * 1024);
    expect(paths).toContain('dist/client/index.js');
    console.log(
      `npm pack: ${pack.filename} ${(pack.size / 1024).toFixed(0)} KB packed, ${(pack.unpackedSize / 1024).toFixed(0)} KB unpacked, ${paths.length} files`,
    );
  });

  it('`hls-gate cloudfront`: check runs from the package alone; stack asks for aws-cdk-lib, an optional peer', () => {
    const bin = join(dir, 'node_modules/hls-gate/bin/hls-gate.js');
    const config = join(dir, 'dist.json');
    const open = {
      TargetOriginId: 'media',
      ViewerProtocolPolicy: 'allow-all',
      CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6',
    };
    writeFileSync(
      config,
      JSON.stringify({
        DistributionConfig: {
          Origins: {
            Quantity: 1,
            Items: [{ Id: 'media', DomainName: 'b.s3.amazonaws.com', S3OriginConfig: { OriginAccessIdentity: '' } }],
          },
          DefaultCacheBehavior: open,
        },
      }),
    );
    const checked = spawnSync(process.execPath, [bin, 'cloudfront', 'check', config], { cwd: dir, encoding: 'utf8' });
    expect(checked.status, checked.stderr).toBe(1);
    expect(checked.stdout).toMatch(/FAIL {2}media-key-group/);
    expect(checked.stdout).toMatch(/FAIL {2}private-origin/);
    const stack = spawnSync(
      process.execPath,
      [
        bin,
        'cloudfront',
        'stack',
        '--public-key',
        join(REPO_ROOT, 'test/fixtures/keys/rsa-spki.pem'),
        '--api-origin',
        'api.example.com',
        '--allowed-origin',
        'https://app.example.com',
        '--out',
        join(dir, 'cf'),
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(stack.status).toBe(2);
    expect(stack.stderr).toMatch(/npm install --save-dev aws-cdk-lib constructs/);
  });

  it("`hls-gate`: signs cookies equal to @aws-sdk/cloudfront-signer's and verifies them, with plain node", () => {
    writeFileSync(
      join(dir, 'lib.mjs'),
      `
import { buildCustomPolicy, signPolicyCookies, importPrivateKey, importPublicKey, createVerifier, DENIALS } from 'hls-gate';
const pem = process.env.PEM;
const policy = buildCustomPolicy({ resource: 'https://media.example.com/videos/abc/*', expires: 1900000000 });
const cookies = await signPolicyCookies(policy, { keyPairId: 'K2JCJMDEHXQW5F', privateKey: await importPrivateKey(pem) });
const verifier = createVerifier({ keys: new Map([['K2JCJMDEHXQW5F', await importPublicKey(process.env.PUB)]]) });
const cookie = Object.entries(cookies).map(([k, v]) => k + '=' + v).join('; ');
const ok = await verifier.verify({ url: 'https://media.example.com/videos/abc/seg.ts', cookie, now: 1800000000 });
const no = await verifier.verify({ url: 'https://media.example.com/videos/xyz/seg.ts', cookie, now: 1800000000 });
console.log(JSON.stringify({ policy, cookies, ok: ok.ok, denial: no.ok ? null : no.denial, table: DENIALS['resource-mismatch'].code }));
`,
    );
    const out = JSON.parse(node('lib.mjs', { PEM: fixtureKey('rsa-pkcs8.pem'), PUB: fixtureKey('rsa-spki.pem') })) as {
      policy: string;
      cookies: Record<string, string>;
      ok: boolean;
      denial: { reason: string };
      table: string;
    };
    expect(out.cookies).toEqual(
      getSignedCookies({ policy: out.policy, keyPairId: RSA_KEY_PAIR_ID, privateKey: fixtureKey('rsa-pkcs8.pem') }),
    );
    expect(out.ok).toBe(true);
    expect(out.denial.reason).toBe('resource-mismatch');
    expect(out.table).toBe('AccessDenied');
  });

  describe('`hls-gate/hono` in a host app, mounted at /media', () => {
    let child: ChildProcess;
    let base: string;
    beforeAll(async () => {
      writeFileSync(
        join(dir, 'host.mjs'),
        `
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { createGateway } from 'hls-gate/hono';
import { createFsStorage, withNodeCrypto, playerAssets } from 'hls-gate/node';

const app = new Hono();
app.get('/', (c) => c.text('host home'));
const gateway = await createGateway({
  settings: { CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F', CLOUDFRONT_PRIVATE_KEY: process.env.PEM, AUTH_JWT_SECRET: process.env.SECRET, MEDIA_HOSTS: '127.0.0.1' },
  storage: createFsStorage(process.env.MEDIA),
  signer: withNodeCrypto,
  player: playerAssets('node_modules/hls-gate/player/dist'),
  log: () => {},
});
app.route('/media', gateway);
// Registered after the gateway: must still answer.
app.get('/about', (c) => c.text('host about'));
app.get('/api/me', (c) => c.json({ me: 'host api' }));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log('http://127.0.0.1:' + info.port));
`,
      );
      child = spawn(process.execPath, ['host.mjs'], {
        cwd: dir,
        env: {
          PATH: process.env.PATH!,
          PEM: fixtureKey('rsa-pkcs8.pem'),
          SECRET: JWT_SECRET,
          MEDIA: join(REPO_ROOT, 'media'),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the host app did not start')), 20_000);
        child.stdout!.on('data', (d: Buffer) => {
          clearTimeout(timer);
          resolve(d.toString().trim());
        });
      });
    });
    afterAll(() => {
      child?.kill();
    });

    it("grants under the prefix, serves every playlist and segment there, and the host's routes still answer", async () => {
      const res = await fetch(`${base}/media/api/videos/ladder/access`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await viewerToken('*')}` },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { playlistUrl: string };
      expect(body.playlistUrl).toBe(`${base}/media/videos/ladder/master.m3u8`);
      for (const c of res.headers.getSetCookie()) expect(c).toContain('Path=/media/videos/ladder/');
      const cookie = cookieHeader(cookiesFrom(res));
      const walked = await walkStream(
        (url, req) =>
          fetch(url, {
            headers: {
              Cookie: cookie,
              ...(req.range ? { Range: `bytes=${req.range.offset}-${req.range.offset + req.range.length - 1}` } : {}),
            },
          }),
        body.playlistUrl,
      );
      expect(walked.length).toBeGreaterThan(10);
      expect(walked.filter((r) => !r.res.ok).map((r) => `${r.res.status} ${r.req.url}`)).toEqual([]);
      expect((await fetch(`${base}/media/videos/ladder/master.m3u8`)).status).toBe(403);
      expect(await (await fetch(`${base}/`)).text()).toBe('host home');
      expect(await (await fetch(`${base}/about`)).text()).toBe('host about');
      expect(await (await fetch(`${base}/api/me`)).json()).toEqual({ me: 'host api' });
      expect((await fetch(`${base}/nothing`)).status).toBe(404);
    });

    it('serves the player page at the mount point, with and without the trailing slash, its files under it', async () => {
      for (const path of ['/media', '/media/']) {
        const page = await fetch(`${base}${path}`);
        expect(page.status, path).toBe(200);
        const html = await page.text();
        expect(html).toContain('<base href="/media/">');
        expect(html).toContain('<meta name="hls-gate-api" content="/media">');
      }
      for (const file of ['app.js', 'app.css']) expect((await fetch(`${base}/media/${file}`)).status, file).toBe(200);
      expect((await fetch(`${base}/media//`)).status).toBe(404);
    });
  });

  it('what the gateway throws on purpose is an HlsGateError of `hls-gate`, with one ConfigError class in every entry', () => {
    writeFileSync(
      join(dir, 'errors.mjs'),
      `
import { HlsGateError } from 'hls-gate';
import { createGateway, ConfigError } from 'hls-gate/hono';
import { createFsStorage, ConfigError as NodeConfigError } from 'hls-gate/node';
try {
  await createGateway({ settings: {}, storage: createFsStorage('.') });
  console.log('{}');
} catch (err) {
  console.log(JSON.stringify({ config: err instanceof ConfigError, sameClass: ConfigError === NodeConfigError, base: err instanceof HlsGateError, name: err.name, code: err.code }));
}
`,
    );
    expect(JSON.parse(node('errors.mjs'))).toEqual({
      config: true,
      sameClass: true,
      base: true,
      name: 'ConfigError',
      code: 'ERR_CONFIG',
    });
  });

  it('a TypeScript consumer type-checks against the shipped declarations', () => {
    writeFileSync(
      join(dir, 'consumer.ts'),
      `
import { Hono } from 'hono';
import { signCookies, createVerifier, HlsGateError, CoreError, type Verdict, type SignedCookies, type CoreErrorCode } from 'hls-gate';
import { createGateway, cloudFrontGate, accessGrants, ConfigError, OptionsError, type CloudFrontGateEnv } from 'hls-gate/hono';
import { createFsStorage, startNodeGateway, ConfigError as NodeConfigError } from 'hls-gate/node';

const app = new Hono<CloudFrontGateEnv>();
app.use('/private/*', cloudFrontGate({ publicKeys: { K2JCJMDEHXQW5F: '-----BEGIN PUBLIC KEY-----' }, mediaBaseUrl: 'https://example.com' }));
app.get('/private/file', (c) => c.text(c.var.cloudFrontGrant.resource));
const grants = accessGrants({ keyPairId: 'K2JCJMDEHXQW5F', privateKey: 'pem', mediaBaseUrl: 'https://example.com/media' });
app.post('/watch/:id', async (c) => c.json(await grants.grant(c, c.req.param('id'))));
export async function f(): Promise<Verdict> {
  const cookies: SignedCookies = await signCookies({ resource: 'https://m/*', expires: new Date() }, { keyPairId: 'K', privateKey: null as never });
  void cookies;
  app.route('/media', await createGateway({ settings: {}, storage: createFsStorage('media') }));
  void startNodeGateway;
  return createVerifier({ keys: new Map() }).verify({ url: 'https://m/a' });
}
export function why(err: unknown): string {
  if (err instanceof ConfigError || err instanceof NodeConfigError) {
    const code: 'ERR_CONFIG' = err.code;
    return code;
  }
  if (err instanceof OptionsError) {
    const code: 'ERR_OPTIONS' = err.code;
    return code;
  }
  if (err instanceof CoreError) {
    const code: CoreErrorCode = err.code;
    return code;
  }
  return err instanceof HlsGateError ? err.name + err.code : 'a bug';
}
`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          types: [],
          skipLibCheck: false,
          noEmit: true,
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    // tsc prints its errors on stdout: they are the assertion's message when it fails.
    const checked = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.status).toBe(0);
    // ...and a wrong use is caught by the same declarations.
    writeFileSync(
      join(dir, 'wrong.ts'),
      `import { cloudFrontGate } from 'hls-gate/hono';\ncloudFrontGate({ publicKeys: 'K=pem' });\n`,
    );
    writeFileSync(
      join(dir, 'tsconfig.wrong.json'),
      JSON.stringify({ extends: './tsconfig.json', files: ['wrong.ts'] }),
    );
    let wrong = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', 'tsconfig.wrong.json'], { cwd: dir, encoding: 'utf8' });
    } catch (err) {
      wrong = String((err as { stdout?: string }).stdout);
    }
    expect(wrong).toMatch(
      /wrong\.ts\(2,\d+\): error TS2322: Type 'string' is not assignable to type 'Record<string, string>'/,
    );
  }, 60_000);

  it('`hls-gate/client` loads in a bundler-free ESM page from the installed package (an import map, no build)', async () => {
    const { createServer } = await import('node:http');
    const { readFile } = await import('node:fs/promises');
    const { launchBrowser } = await import('../e2e/browser.ts');
    const page = `<!doctype html><meta charset="utf-8">
<script type="importmap">{ "imports": { "hls-gate/client": "/node_modules/hls-gate/dist/client/index.js" } }</script>
<script type="module">
import { createGrantClient, hlsJsConfig, shakaSetup, videoJsSetup, playNatively, accessMessage } from 'hls-gate/client';
const client = createGrantClient({ videoId: 'abc', apiBase: '/media', getToken: () => 'token' });
window.loaded = [typeof hlsJsConfig, typeof shakaSetup, typeof videoJsSetup, typeof playNatively, client.videoId,
  accessMessage(404, 'unknown-video').title].join(',');
</script>`;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/') return void res.writeHead(200, { 'Content-Type': 'text/html' }).end(page);
      readFile(join(dir, path)).then(
        (b) => res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(b),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const browser = await launchBrowser();
    try {
      const tab = await browser.context.newPage();
      await tab.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
      await tab.waitForFunction(() => (window as unknown as { loaded?: string }).loaded, undefined, {
        timeout: 15_000,
      });
      expect(await tab.evaluate(() => (window as unknown as { loaded: string }).loaded)).toBe(
        'function,function,function,function,abc,Video not found',
      );
    } finally {
      await browser.close();
      await new Promise((r) => server.close(r));
    }
  }, 60_000);
});

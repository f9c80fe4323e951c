import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type Env, type GatewayConfig } from '../app/config.ts';
import { DEV_KEY_PAIR_ID, applyMode, type Mode } from '../app/mode.ts';
import { publishedKey } from '../app/layout.ts';
import { generateKeyPair } from '../core/index.ts';

// The Node-only part of configuration: reading key files, the media folder, and the zero-configuration demo.

/** The package's own folder (the checkout, or node_modules/hls-gate), found from this file in source or in dist/. */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}
export const REPO_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));

function readKeyFile(path: string, name: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`${name}: cannot read "${path}" (check the path and its permissions)`);
  }
}

async function devKeys(dir: string): Promise<{ privatePem: string }> {
  const privatePath = join(dir, 'private_key.pem');
  if (!existsSync(privatePath)) {
    mkdirSync(dir, { recursive: true });
    const pair = await generateKeyPair('rsa');
    writeFileSync(privatePath, pair.privateKeyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'public_key.pem'), pair.publicKeyPem);
  }
  return { privatePem: readFileSync(privatePath, 'utf8') };
}

/** Where the demo's development key pair is kept (git-ignored), relative to where the gateway is started. */
export const DEV_KEYS_DIR = resolve('.dev-keys');

export interface DevKey {
  keyPairId: string;
  privateKeyFile: string;
  publicKeyFile: string;
}

export interface NodeEnv {
  env: Env;
  /** The zero-configuration rule's answer, applied once (app/mode.ts): pass it to parseConfig. */
  mode: Mode;
  mediaDir: string;
  zeroConfig: boolean;
  /** Set when the demo's development key is in use: where it is, so the CLI can be pointed at it. */
  devKey?: DevKey;
}

/** Resolves files and defaults into a plain env for parseConfig, plus the media folder. */
export async function loadNodeEnv(input: Env): Promise<NodeEnv> {
  // The one zero-config rule (app/mode.ts): refuses half-configured deployments; the demo's development key is made
  // on first start and kept (git-ignored) for the next.
  const {
    env,
    mode,
    devKey: devKeyUsed,
  } = await applyMode(input, async () => (await devKeys(DEV_KEYS_DIR)).privatePem);
  const zeroConfig = mode.zeroConfig;
  const devKey: DevKey | undefined = devKeyUsed
    ? {
        keyPairId: DEV_KEY_PAIR_ID,
        privateKeyFile: join(DEV_KEYS_DIR, 'private_key.pem'),
        publicKeyFile: join(DEV_KEYS_DIR, 'public_key.pem'),
      }
    : undefined;

  if (env.CLOUDFRONT_PRIVATE_KEY_FILE) {
    if (env.CLOUDFRONT_PRIVATE_KEY)
      throw new ConfigError('set CLOUDFRONT_PRIVATE_KEY or CLOUDFRONT_PRIVATE_KEY_FILE, not both');
    env.CLOUDFRONT_PRIVATE_KEY = readKeyFile(env.CLOUDFRONT_PRIVATE_KEY_FILE, 'CLOUDFRONT_PRIVATE_KEY_FILE');
  }
  if (
    env.AUTH_JWT_PUBLIC_KEY &&
    !env.AUTH_JWT_PUBLIC_KEY.includes('-----BEGIN') &&
    existsSync(env.AUTH_JWT_PUBLIC_KEY)
  ) {
    env.AUTH_JWT_PUBLIC_KEY = readKeyFile(env.AUTH_JWT_PUBLIC_KEY, 'AUTH_JWT_PUBLIC_KEY');
  }

  // Relative to where the gateway is started: `npm start` in a checkout finds the demo media; an installed package
  // finds the caller's own ./media.
  const mediaDir = resolve(env.MEDIA_DIR || 'media');
  if (!existsSync(mediaDir) || !statSync(mediaDir).isDirectory()) {
    throw new ConfigError(
      `MEDIA_DIR="${mediaDir}" is not a folder; point it at the folder holding ${publishedKey('<videoId>')}`,
    );
  }
  return { env, mode, mediaDir, zeroConfig, ...(devKey ? { devKey } : {}) };
}

/** On Node a CLOUDFRONT_PUBLIC_KEYS value may be a file path instead of PEM text: read those files. */
export function readPublicKeyFiles(config: GatewayConfig): GatewayConfig {
  const publicKeys = config.publicKeys.map((k) =>
    k.pem.includes('-----BEGIN') ? k : { ...k, pem: readKeyFile(k.pem, `CLOUDFRONT_PUBLIC_KEYS (${k.keyPairId})`) },
  );
  return { ...config, publicKeys };
}

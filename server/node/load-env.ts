import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type Env, type GatewayConfig } from '../app/config.ts';
import { DEV_KEY_PAIR_ID, resolveMode } from '../app/mode.ts';
import { generateKeyPair } from '../core/index.ts';

// The Node-only part of configuration: reading key files, the media folder, and the zero-configuration demo.

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

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

export interface NodeEnv {
  env: Env;
  mediaDir: string;
  zeroConfig: boolean;
}

/** Resolves files and defaults into a plain env for parseConfig, plus the media folder. */
export async function loadNodeEnv(input: Env): Promise<NodeEnv> {
  const env: Env = { ...input };
  const mode = resolveMode(env); // the one zero-config rule (app/mode.ts); refuses half-configured deployments
  const zeroConfig = mode.zeroConfig;
  if (zeroConfig) env.DEMO = 'true';

  if (env.CLOUDFRONT_PRIVATE_KEY_FILE) {
    if (env.CLOUDFRONT_PRIVATE_KEY) throw new ConfigError('set CLOUDFRONT_PRIVATE_KEY or CLOUDFRONT_PRIVATE_KEY_FILE, not both');
    env.CLOUDFRONT_PRIVATE_KEY = readKeyFile(env.CLOUDFRONT_PRIVATE_KEY_FILE, 'CLOUDFRONT_PRIVATE_KEY_FILE');
  }
  if (!env.CLOUDFRONT_PRIVATE_KEY && !env.CLOUDFRONT_KEY_PAIR_ID && mode.demo) {
    // Demo only: a development key pair made on first start and kept (git-ignored) for the next.
    env.CLOUDFRONT_PRIVATE_KEY = (await devKeys(join(REPO_ROOT, '.dev-keys'))).privatePem;
    env.CLOUDFRONT_KEY_PAIR_ID = DEV_KEY_PAIR_ID;
  }
  if (env.AUTH_JWT_PUBLIC_KEY && !env.AUTH_JWT_PUBLIC_KEY.includes('-----BEGIN') && existsSync(env.AUTH_JWT_PUBLIC_KEY)) {
    env.AUTH_JWT_PUBLIC_KEY = readKeyFile(env.AUTH_JWT_PUBLIC_KEY, 'AUTH_JWT_PUBLIC_KEY');
  }

  const mediaDir = env.MEDIA_DIR ? (isAbsolute(env.MEDIA_DIR) ? env.MEDIA_DIR : resolve(env.MEDIA_DIR)) : join(REPO_ROOT, 'media');
  if (!existsSync(mediaDir) || !statSync(mediaDir).isDirectory()) {
    throw new ConfigError(`MEDIA_DIR="${mediaDir}" is not a folder; point it at the folder holding <videoId>/master.m3u8`);
  }
  return { env, mediaDir, zeroConfig };
}

/** On Node a CLOUDFRONT_PUBLIC_KEYS value may be a file path instead of PEM text: read those files. */
export function readPublicKeyFiles(config: GatewayConfig): GatewayConfig {
  const publicKeys = config.publicKeys.map((k) => (k.pem.includes('-----BEGIN') ? k : { ...k, pem: readKeyFile(k.pem, `CLOUDFRONT_PUBLIC_KEYS (${k.keyPairId})`) }));
  return { ...config, publicKeys };
}

import { ConfigError, type Env } from './config-error.ts';

// The zero-configuration rule, in one place for every runtime (Node's `npm start`, the Worker, tests):
// - nothing that decides who gets a grant is set, and DEMO is unset: the demo (a development key, public demo
//   tokens for every video, media on whatever host the viewer used);
// - DEMO=true: the demo, explicitly, beside other settings such as MEDIA_BASE_URL, but never with a real token
//   check: demo tokens open every video to anyone, so they must never be accepted by, or signed with, a real
//   deployment's secret;
// - anything else is a configured deployment, and every setting it needs must be there.

/** The key pair ID of the demo's development key (made on first start, never meant for a deployment). */
export const DEV_KEY_PAIR_ID = 'KDEVELOPMENTKEY';

/** Variables that decide who gets a grant and where it is valid. Setting any one means "a configured deployment". */
export const DEPLOYMENT_VARS = [
  'MEDIA_BASE_URL',
  'MEDIA_HOSTS',
  'COOKIE_DOMAIN',
  'ALLOWED_ORIGINS',
  'MEDIA_DIR',
  'CLOUDFRONT_KEY_PAIR_ID',
  'CLOUDFRONT_PRIVATE_KEY',
  'CLOUDFRONT_PRIVATE_KEY_FILE',
  'CLOUDFRONT_PUBLIC_KEYS',
  'AUTH_JWT_SECRET',
  'AUTH_JWT_PUBLIC_KEY',
  'AUTH_JWKS_URL',
  'AUTH_JWT_AUDIENCE',
  'AUTH_JWT_ISSUER',
  'SESSION_SECRET',
  'ADMIN_SECRET',
] as const;

const AUTH_VARS = ['AUTH_JWT_SECRET', 'AUTH_JWT_PUBLIC_KEY', 'AUTH_JWKS_URL'] as const;
const KEY_VARS = ['CLOUDFRONT_KEY_PAIR_ID', 'CLOUDFRONT_PRIVATE_KEY', 'CLOUDFRONT_PRIVATE_KEY_FILE'] as const;

/** What a deployment cannot run without, worded once for every refusal that names it. */
export const NEEDS = {
  signingKey:
    'set CLOUDFRONT_KEY_PAIR_ID and CLOUDFRONT_PRIVATE_KEY (or CLOUDFRONT_PRIVATE_KEY_FILE); make a pair with: npx hls-gate keys generate',
  tokenCheck: 'set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL to check viewer tokens',
  mediaOrigin:
    'set MEDIA_BASE_URL (the public media origin, e.g. https://media.example.com) or MEDIA_HOSTS (the host names the gateway answers for)',
} as const;

export interface Mode {
  demo: boolean;
  /** Nothing at all was configured: the development key may be made and used. */
  zeroConfig: boolean;
}

const isSet = (env: Env, name: string): boolean => (env[name]?.trim() ?? '') !== '';

export function parseBool(text: string | undefined, name: string): boolean | undefined {
  const v = text?.trim();
  if (v === undefined || v === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(`${name}="${v}" must be true or false`);
}

export function resolveMode(env: Env): Mode {
  const demoFlag = parseBool(env.DEMO, 'DEMO');
  const set = DEPLOYMENT_VARS.filter((v) => isSet(env, v));
  if (demoFlag === true) {
    const auth = AUTH_VARS.filter((v) => isSet(env, v));
    if (auth.length > 0) {
      throw new ConfigError(
        `DEMO=true cannot be combined with ${auth.join(', ')}: the demo gives anyone a token for every video, so it must never share a real deployment's token check. Unset DEMO for a real deployment, or unset ${auth.join(', ')} for a local trial`,
      );
    }
    return { demo: true, zeroConfig: false };
  }
  if (demoFlag === undefined && set.length === 0) return { demo: true, zeroConfig: true };

  const missing: string[] = [];
  if (!KEY_VARS.some((v) => isSet(env, v))) missing.push(NEEDS.signingKey);
  if (!AUTH_VARS.some((v) => isSet(env, v))) missing.push(NEEDS.tokenCheck);
  if (!isSet(env, 'MEDIA_BASE_URL') && !isSet(env, 'MEDIA_HOSTS')) missing.push(NEEDS.mediaOrigin);
  if (missing.length > 0) {
    const why = set.length > 0 ? `${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set` : 'DEMO=false is set';
    throw new ConfigError(
      `this is a configured deployment (${why}) but it is incomplete: ${missing.join('; ')}. For a local trial, set DEMO=true instead`,
    );
  }
  return { demo: false, zeroConfig: false };
}

/** The settings of a runtime entry once the rule is applied: what parseConfig(env, mode) reads. */
export interface AppliedMode {
  env: Env;
  mode: Mode;
  /** The development key was put in (the runtime made or loaded it). */
  devKey: boolean;
}

/**
 * The rule applied once, for every runtime entry: zero configuration becomes an explicit DEMO=true, and a demo given
 * no key at all signs with the development key the runtime provides (Node keeps one in .dev-keys/, a Worker isolate
 * makes one in memory; `makeDevKey` returns its PEM and is called only then).
 */
export async function applyMode(input: Env, makeDevKey: () => Promise<string>): Promise<AppliedMode> {
  const mode = resolveMode(input);
  const env: Env = { ...input };
  if (mode.zeroConfig) env.DEMO = 'true';
  const devKey = mode.demo && !KEY_VARS.some((v) => isSet(env, v));
  if (devKey) {
    env.CLOUDFRONT_PRIVATE_KEY = await makeDevKey();
    env.CLOUDFRONT_KEY_PAIR_ID = DEV_KEY_PAIR_ID;
  }
  return { env, mode, devKey };
}

import type { Hono } from 'hono';
import { ConfigError, parseConfig, type Env as ConfigEnv } from '../app/config.ts';
import { buildGateway } from '../app/build.ts';
import { problem } from '../app/responses.ts';
import { generateKeyPair } from '../core/index.ts';
import { applyMode } from '../app/mode.ts';
import { createR2Storage } from './r2-storage.ts';
import { createDurableObjectStore } from './session-do.ts';
import { createR2Uploads, type PackagerWebhook } from './r2-uploads.ts';

/** Where accepted uploads are handed for packaging (a Worker cannot run ffmpeg): UPLOAD_WEBHOOK_URL. */
function packagerWebhook(vars: ConfigEnv, adminSecret: string | undefined): PackagerWebhook | undefined {
  const url = vars.UPLOAD_WEBHOOK_URL?.trim();
  if (!url) return undefined;
  if (!/^https?:\/\//.test(url)) throw new ConfigError('UPLOAD_WEBHOOK_URL must be an http(s) URL');
  if (!adminSecret) throw new ConfigError('UPLOAD_WEBHOOK_URL needs ADMIN_SECRET: the hand-off is signed with it');
  return { url, secret: adminSecret };
}
import type { SessionStore } from '../app/session-store.ts';

// Durable Object classes must be exported by the Worker's main module.
export { SessionStoreDO } from './session-do.ts';

// The gateway on Cloudflare Workers: the same Hono app, media from R2, the player from Workers static assets.
// Configuration comes from vars and secrets (see server/worker/README.md).

export interface WorkerEnv {
  MEDIA: R2Bucket;
  ASSETS?: Fetcher;
  /** The session store (Durable Object class SessionStoreDO), for session control. */
  SESSIONS?: DurableObjectNamespace;
  [name: string]: unknown;
}

let app: Promise<Hono> | undefined;

function stringVars(env: WorkerEnv): ConfigEnv {
  const out: ConfigEnv = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') out[k] = v;
  return out;
}

async function gateway(env: WorkerEnv): Promise<Hono> {
  // Zero configuration = the local demo: a development key made in memory by this isolate. Each isolate has its
  // own key, which is fine for `npm run dev:worker` (one isolate) and never meant for a deployment.
  // The rule for what counts as configured is the same as on Node, applied once (app/mode.ts).
  const { env: vars, mode } = await applyMode(
    stringVars(env),
    async () => (await generateKeyPair('rsa')).privateKeyPem,
  );
  const config = parseConfig(vars, mode);
  let sessionStore: SessionStore | undefined;
  if (config.sessions) {
    // Leases and revocations need one writer shared by every isolate: the Durable Object (session-do.ts).
    if (config.sessions.store !== 'memory')
      throw new ConfigError(
        'SESSION_STORE=redis://... is for Node; on Workers session control uses the Durable Object bound as SESSIONS (leave SESSION_STORE unset)',
      );
    if (!env.SESSIONS)
      throw new ConfigError(
        'session control on Workers needs the Durable Object: bind SESSIONS to the class SessionStoreDO in wrangler.toml (see server/worker/README.md)',
      );
    sessionStore = createDurableObjectStore(env.SESSIONS);
  }
  if (config.demo)
    console.log(
      JSON.stringify({
        level: 'warn',
        msg: 'demo mode is on: anyone can get a viewer token from POST /api/demo/token',
      }),
    );
  const assets = env.ASSETS;
  return buildGateway(config, createR2Storage(env.MEDIA), {
    clientIp: (c) => c.req.header('CF-Connecting-IP') ?? null,
    compressesResponses: true,
    ...(sessionStore ? { sessionStore } : {}),
    ...(config.uploads ? { uploads: createR2Uploads(env.MEDIA, packagerWebhook(vars, config.adminSecret)) } : {}),
    warn: (message) => console.log(JSON.stringify({ level: 'warn', msg: message })),
    ...(assets
      ? {
          assets: async (_path: string, request: Request) => {
            const res = await assets.fetch(request);
            return res.status === 404 ? null : res;
          },
        }
      : {}),
  });
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    app ??= gateway(env);
    let instance: Hono;
    try {
      instance = await app;
    } catch (err) {
      app = undefined;
      // Misconfiguration: say what to fix, once per request, without any secret.
      const message = err instanceof ConfigError ? err.message : 'the gateway failed to start';
      console.error(JSON.stringify({ level: 'error', msg: 'configuration error', detail: message }));
      return problem('config', message);
    }
    return instance.fetch(request, env, ctx);
  },
};

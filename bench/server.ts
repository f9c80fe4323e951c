// A gateway process for the serving and memory benchmarks: `tsx bench/server.ts <mediaDir> [--ungated]`.
// --ungated is the same server with a verifier that grants everything: the baseline "gating off".
import { parseConfig } from '../server/app/config.ts';
import { buildGateway } from '../server/app/build.ts';
import { createApp } from '../server/app/create-app.ts';
import { createViewerAuth } from '../server/app/auth.ts';
import { createFsStorage } from '../server/node/fs-storage.ts';
import { importPrivateKey, type Verifier } from '../server/core/index.ts';
import { serve } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { REPO_ROOT } from '../server/node/load-env.ts';

const [mediaDir, flag] = process.argv.slice(2);
const pem = readFileSync(join(REPO_ROOT, 'test/fixtures/keys/rsa-pkcs8.pem'), 'utf8');
const config = parseConfig({ CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F', CLOUDFRONT_PRIVATE_KEY: pem, AUTH_JWT_SECRET: 'bench-secret-that-is-long-enough-for-hs256', MEDIA_HOSTS: '127.0.0.1' });
const storage = createFsStorage(mediaDir!);
const log = () => {};
const grantAll: Verifier = {
  verify: async () => ({ ok: true, grant: { resource: '*', expiresAt: 4_000_000_000, keyPairId: 'K2JCJMDEHXQW5F', source: 'cookie', hashAlgorithm: 'SHA1', policyKind: 'custom' } }),
  stats: () => ({ verifications: 0, cacheHits: 0 }),
};
const app =
  flag === '--ungated'
    ? createApp({ config, storage, signingKey: await importPrivateKey(pem), verifier: grantAll, auth: await createViewerAuth(config.auth, false), log })
    : await buildGateway(config, storage, { log });
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${info.port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

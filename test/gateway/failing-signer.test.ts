// A signer is an extension point (GatewayOptions.signer: a key service, an HSM). One that fails once must cost the
// grants that waited on that signature, nothing more: not the process (an unhandled rejection ends Node), and not
// the grant window (the failure is not kept: the next viewer signs afresh). Run in a child Node process, whose
// default unhandled-rejection mode is the one a deployment has.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { testEnv, viewerToken } from '../helpers/targets.ts';

describe('a signer that fails once', () => {
  it('refuses the grants waiting on it, keeps the process alive, and signs again for the next viewer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-signer-'));
    try {
      const script = `
import { createGateway } from ${JSON.stringify(join(REPO_ROOT, 'server/hono/index.ts'))};
import { createFsStorage, withNodeCrypto } from ${JSON.stringify(join(REPO_ROOT, 'server/node/index.ts'))};
let calls = 0;
const app = await createGateway({
  settings: JSON.parse(process.env.GW_ENV),
  storage: createFsStorage(${JSON.stringify(join(REPO_ROOT, 'media'))}),
  log: () => {},
  events: () => {},
  signer: (key, pem) => {
    const native = withNodeCrypto(key, pem);
    return {
      type: key.type, bits: key.bits, cryptoKey: (h) => key.cryptoKey(h), publicKey: () => key.publicKey(), publicKeyPem: () => key.publicKeyPem(),
      sign: async (data, hash) => {
        calls++;
        if (calls === 1) throw new Error('key service unavailable');
        return native.sign(data, hash);
      },
    };
  },
});
const req = () => app.request('http://localhost/api/videos/ladder/access', { method: 'POST', headers: { Authorization: 'Bearer ' + process.env.TOKEN } });
const first = await Promise.all([req(), req(), req()]);
await new Promise((r) => setTimeout(r, 200)); // an unhandled rejection would end the process here
const again = await req();
console.log(JSON.stringify({ first: first.map((r) => r.status), again: again.status, calls }));
`;
      writeFileSync(join(dir, 'run.mts'), script);
      const env = Object.fromEntries(
        Object.entries(testEnv()).filter((e): e is [string, string] => e[1] !== undefined),
      );
      const out = execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'run.mts')], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH!, GW_ENV: JSON.stringify(env), TOKEN: await viewerToken('*') },
        encoding: 'utf8',
      });
      const result = JSON.parse(out.trim().split('\n').pop()!) as { first: number[]; again: number; calls: number };
      // Whichever grant reached the signer first waited on the failing signature (as did any that joined it); the
      // others signed afresh. Which of the three that is depends on scheduling, so the test does not name it.
      expect(result.first).toContain(500);
      expect(result.first.every((s) => s === 500 || s === 200)).toBe(true);
      expect(result.again).toBe(200); // the window is not poisoned
      expect(result.calls).toBeGreaterThanOrEqual(2); // a fresh signature after the failure
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

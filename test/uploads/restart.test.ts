// A restart does not lose a packaging job: the gateway is stopped (SIGTERM: it hands the job back and exits 0 within
// SHUTDOWN_GRACE) or killed (SIGKILL) while an upload is being packaged, nothing is half-published, and once started
// again it packages the upload to the end.
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { JWT_SECRET, testEnv } from '../helpers/targets.ts';
import { waitForOutput } from '../helpers/process.ts';

const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

async function start(dir: string): Promise<{ url: string; metrics: string; child: ChildProcess }> {
  const env = Object.fromEntries(
    Object.entries(testEnv({ PORT: '0', MEDIA_DIR: dir, UPLOADS: 'true', METRICS_PORT: '0' })).filter(
      (e): e is [string, string] => e[1] !== undefined,
    ),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/node/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH!, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const { match } = await waitForOutput(
    child,
    /"msg":"listening","url":"([^"]+)"[^\n]*\n(?:.*\n)*?.*"msg":"metrics","url":"([^"]+)"/,
    'the gateway',
  );
  return { url: match[1]!, metrics: match[2]!, child };
}

describe('upload packaging across a restart', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'is resumed after %s midway, and never half-published',
    async (signal) => {
      const dir = mkdtempSync(join(tmpdir(), 'hls-gate-restart-'));
      try {
        cpSync(join(REPO_ROOT, 'media'), dir, { recursive: true });
        const src = join(tmpdir(), `hls-gate-restart-${process.pid}.mp4`);
        execFileSync('ffmpeg', [
          '-hide_banner',
          '-loglevel',
          'error',
          '-y',
          '-f',
          'lavfi',
          '-i',
          'testsrc2=duration=10:size=1280x720:rate=30',
          '-f',
          'lavfi',
          '-i',
          'sine=duration=10',
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-c:a',
          'aac',
          '-shortest',
          src,
        ]);
        const body = readFileSync(src);
        rmSync(src);
        const { SignJWT } = await import('jose');
        const token = await new SignJWT({ videos: '*', upload: true })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('editor')
          .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
          .sign(new TextEncoder().encode(JWT_SECRET));
        const first = await start(dir);
        const { uploadUrl } = (await (
          await fetch(`${first.url}/api/uploads`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
            body: '{"videoId":"survivor"}',
          })
        ).json()) as { uploadUrl: string };
        expect(
          (
            await fetch(uploadUrl, {
              method: 'PUT',
              body: new Uint8Array(body),
              headers: { 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') },
            })
          ).status,
        ).toBe(201);
        const status = async (base: string) =>
          (await (
            await fetch(`${base}/api/uploads/survivor`, { headers: { Authorization: `Bearer ${token}` } })
          ).json()) as { status: string; percent?: number };
        // Killed once ffmpeg is under way (its hidden build folder exists).
        for (let i = 0; i < 200 && !readdirSync(dir).some((f) => f.startsWith('.package-survivor-')); i++)
          await new Promise((r) => setTimeout(r, 50));
        expect((await status(first.url)).status).toBe('packaging');
        const stoppedAt = Date.now();
        first.child.kill(signal);
        const code = await new Promise((r) => first.child.once('exit', (c) => r(c)));
        if (signal === 'SIGTERM') {
          expect(code).toBe(0); // a clean exit, the job handed back
          expect(Date.now() - stoppedAt).toBeLessThan(10_000 + 2_000); // SHUTDOWN_GRACE (10 s) and a margin
        }
        expect(existsSync(join(dir, 'survivor'))).toBe(false); // nothing half-published
        // Killed, it leaves its build folder (removed by the next start); stopped, it cleans up after itself.
        expect(readdirSync(dir).some((f) => f.startsWith('.package-survivor-'))).toBe(signal === 'SIGKILL');

        const second = await start(dir);
        let s = await status(second.url);
        for (let i = 0; i < 600 && s.status !== 'ready' && s.status !== 'failed'; i++) {
          await new Promise((r) => setTimeout(r, 100));
          s = await status(second.url);
        }
        expect(s.status).toBe('ready');
        // The metrics saw the job end, and nothing is left queued or running.
        const metrics = await (await fetch(second.metrics)).text();
        expect(metrics).toMatch(/^hlsgate_upload_job_duration_seconds_count\{status="ready"\} 1$/m);
        expect(metrics).toMatch(/^hlsgate_upload_jobs\{state="running"\} 0$/m);
        expect(metrics).toMatch(/^hlsgate_upload_jobs\{state="queued"\} 0$/m);
        expect(existsSync(join(dir, 'survivor', 'master.m3u8'))).toBe(true);
        expect(readdirSync(dir).filter((f) => f.startsWith('.package-'))).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

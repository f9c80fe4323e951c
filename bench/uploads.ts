// 7: uploads. Throughput of a 200 MB upload through the gateway (signed URL, SHA-256 checked while streaming to
// disk) against copying the same bytes with `cp`, and the gateway's peak RSS during a 200 MB and a 50 MB upload:
// memory must not grow with the body.
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, cpSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { REPO_ROOT } from '../server/node/load-env.ts';
import { median, ratio, type Ratio } from './lib.ts';
import { testEnv, JWT_SECRET } from '../test/helpers/targets.ts';

const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** A file of `bytes` that starts like an MP4 (the upload guard checks the leading bytes) and is random after. */
function bigFile(path: string, bytes: number): string {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1 << 20);
  Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d]).copy(chunk);
  for (let written = 0; written < bytes; written += chunk.length)
    writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written));
  closeSync(fd);
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export async function uploads(quick: boolean): Promise<Record<string, Ratio>> {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-bench-up-'));
  const media = join(dir, 'media');
  cpSync(join(REPO_ROOT, 'media'), media, { recursive: true });
  const big = join(dir, 'big.mp4');
  const small = join(dir, 'small.mp4');
  const sizes = { big: quick ? 100e6 : 200e6, small: 50e6 };
  const bigSha = bigFile(big, sizes.big);
  const smallSha = bigFile(small, sizes.small);
  const env = Object.fromEntries(
    Object.entries(testEnv({ PORT: '0', MEDIA_DIR: media, UPLOADS: 'true', UPLOAD_MAX_BYTES: String(300e6) })).filter(
      (e): e is [string, string] => e[1] !== undefined,
    ),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/node/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH!, ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const url = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"msg":"listening","url":"([^"]+)"/.exec(out);
        if (m) resolve(m[1]!);
      });
    });
    child.stdout.resume();
    const token = await new SignJWT({ videos: '*', upload: true })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const upload = async (file: string, sha: string, bytes: number) => {
      const { uploadUrl } = (await (
        await fetch(`${url}/api/uploads`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } })
      ).json()) as { uploadUrl: string };
      const idle = rss(child.pid!);
      let peak = idle;
      const sampler = setInterval(() => (peak = Math.max(peak, rss(child.pid!))), 20);
      const t = performance.now();
      const res = await fetch(uploadUrl, {
        method: 'PUT',
        body: Readable.toWeb(createReadStream(file)) as ReadableStream,
        duplex: 'half',
        headers: { 'x-amz-content-sha256': sha, 'Content-Length': String(bytes) },
      } as RequestInit);
      await res.arrayBuffer();
      const seconds = (performance.now() - t) / 1000;
      clearInterval(sampler);
      if (res.status !== 201) throw new Error(`upload answered ${res.status}`);
      return { seconds, growth: peak - idle };
    };
    const cp = () => {
      const t = performance.now();
      execFileSync('cp', [big, join(dir, 'copy.mp4')]);
      rmSync(join(dir, 'copy.mp4'));
      return (performance.now() - t) / 1000;
    };
    await upload(small, smallSha, sizes.small); // warm-up: JIT, buffers, the packager's first run
    const runs = quick ? 2 : 3;
    const up: number[] = [];
    const cps: number[] = [];
    const bigGrowth: number[] = [];
    const smallGrowth: number[] = [];
    for (let i = 0; i < runs; i++) {
      cps.push(cp());
      const r = await upload(big, bigSha, sizes.big);
      up.push(r.seconds);
      bigGrowth.push(r.growth);
      smallGrowth.push((await upload(small, smallSha, sizes.small)).growth);
    }
    const mb = sizes.big / 1e6;
    const bigMb = median(bigGrowth) / 1e6;
    const smallMb = median(smallGrowth) / 1e6;
    const budget = 64;
    return {
      'uploads.throughput_vs_cp': ratio(
        mb / median(up),
        mb / median(cps),
        'MB/s',
        undefined,
        `${mb} MB through the gateway (signed URL, SHA-256 while streaming to disk, over loopback HTTP) vs cp of the same file`,
      ),
      'uploads.peak_rss_growth_vs_budget': ratio(
        budget,
        Math.max(bigMb, 0.1),
        'MB',
        1,
        `median peak RSS growth ${bigMb.toFixed(1)} MB during a ${mb} MB upload and ${smallMb.toFixed(1)} MB during a 50 MB one, against a ${budget} MB budget: memory does not grow with the body`,
      ),
    };
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

// 8: packaging (issue 22). (a) The packaging library (`packageVideo`: probe, transcode, measure, master playlist,
// poster, walk check, publish) against the same ffmpeg transcode run by hand with the exact arguments the packager
// builds, interleaved (hand, package, hand, package, ...), neither pinned. (b) The gateway's rate for a 200 KB segment
// (the "gateway alone" measurement of serving.ts: wrk, 16 connections, a valid grant cookie) while an upload is being
// packaged inside it, against the same gateway idle: idle rounds, then an upload and busy rounds while its ffmpeg
// transcodes (checked through GET /api/uploads/<id>), idle rounds once it is ready, another upload, and so on. The
// gateway runs with its default job placement (nice 10, `UPLOAD_JOB_CPUS` = every CPU but the first).
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { importPrivateKey, signCookies } from '../server/core/index.ts';
import { REPO_ROOT } from '../server/node/load-env.ts';
import { packageVideo } from '../packager/index.ts';
import { ffmpegInput, findTools, probe } from '../packager/ffmpeg.ts';
import { chooseLadder, ffmpegArgs } from '../packager/ladder.ts';
import { JWT_SECRET, testEnv } from '../test/helpers/targets.ts';
import { RSA_KEY_PAIR_ID, fixtureKey } from '../test/helpers/fixtures.ts';
import { freePort } from '../test/helpers/ports.ts';
import { median, ratio, ratioOf, type Ratio } from './lib.ts';
import { childPids, LOAD_CPU } from './procs.ts';
import { wrk } from './wrk.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const s1 = (x: number) => x.toFixed(1);

/** A 1080p30 source with a 440 Hz tone (x264 ultrafast, as a camera or screen recorder might hand it over). */
function makeSource(file: string, seconds: number): void {
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=duration=${seconds}:size=1920x1080:rate=30`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${seconds}:sample_rate=48000`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-crf',
    '18',
    '-c:a',
    'aac',
    '-shortest',
    file,
  ]);
}

/** Runs a command the way the packager runs its tools (own process group, no stdin); resolves on exit 0. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${err}`))));
  });
}

/** (a) packageVideo vs ffmpeg by hand with the packager's own arguments; speeds in source seconds per wall second. */
async function libraryVsHand(
  dir: string,
  src: string,
  sourceSeconds: number,
  count: number,
): Promise<Record<string, Ratio>> {
  const tools = findTools(process.env);
  const probed = await probe(tools, src, { confined: false });
  const { renditions } = chooseLadder(probed);
  const handOut = join(dir, 'byhand');
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    ...ffmpegArgs(ffmpegInput(src, { confined: false }), handOut, probed, renditions, {
      format: 'ts',
      segmentSeconds: 4,
      preset: 'veryfast',
    }),
  ];
  const media = join(dir, 'library-media');
  mkdirSync(media, { recursive: true });
  const hand: number[] = [];
  const lib: number[] = [];
  const libFfmpeg: number[] = [];
  for (let r = 0; r < count; r++) {
    rmSync(handOut, { recursive: true, force: true });
    mkdirSync(handOut);
    let t = performance.now();
    await run(tools.ffmpeg, args);
    hand.push((performance.now() - t) / 1000);
    rmSync(handOut, { recursive: true, force: true });
    t = performance.now();
    const report = await packageVideo(src, {
      id: `bench-${r}`,
      publish: { to: 'local', mediaDir: media },
      format: 'ts',
      segmentSeconds: 4,
      preset: 'veryfast',
      env: process.env,
    });
    lib.push((performance.now() - t) / 1000);
    libFfmpeg.push(report.ffmpegSeconds);
    rmSync(join(media, `bench-${r}`), { recursive: true, force: true });
    console.error(
      `bench: packaging round ${r + 1}: ffmpeg by hand ${s1(hand[r]!)} s, packageVideo ${s1(lib[r]!)} s (its ffmpeg ${s1(libFfmpeg[r]!)} s)`,
    );
  }
  const speed = (xs: number[]) => xs.map((x) => sourceSeconds / x);
  const ladder = renditions.map((r) => r.name).join(', ');
  return {
    'packaging.package_video_vs_ffmpeg_by_hand': ratioOf(
      speed(lib),
      speed(hand),
      'x real time (source seconds per wall second)',
      0.9,
      `a ${sourceSeconds} s 1080p30 source (testsrc2 + sine) into the default ladder (${ladder}; TS, 4 s segments, x264 veryfast), published locally into a temporary media folder, vs the same transcode run by hand with the arguments the packager builds (ffmpegArgs), interleaved, medians of ${count}; neither pinned nor niced, both on both CPUs. Rounds (s): by hand ${hand.map(s1).join(', ')}; packageVideo ${lib.map(s1).join(', ')} (its ffmpeg ${libFfmpeg.map(s1).join(', ')})`,
    ),
  };
}

interface Upload {
  status: string;
  percent?: number;
  code?: string;
}

/** Where a process is allowed to run and at what priority, from /proc (Linux). */
function placementOf(pid: number): string {
  try {
    const cpus = /Cpus_allowed_list:\s+(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const nice = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16];
    let group = '';
    try {
      group = readFileSync(`/proc/${pid}/autogroup`, 'utf8').trim();
    } catch {
      /* no autogroup */
    }
    return `CPUs ${cpus}, nice ${nice}${group ? `, ${group}` : ''}`;
  } catch {
    return 'gone';
  }
}

/** From /proc/<pid>/stat: the CPU the main thread last ran on, and the CPU time of all threads (seconds). */
function procStat(pid: number): { cpu: number; seconds: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { cpu: Number(f[36]), seconds: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = 100; // USER_HZ, 100 on every Linux architecture that matters here

/** (b) The gateway's 200 KB segment rate while it packages an upload, against idle. */
async function servingDuringPackaging(dir: string, src: string, quick: boolean): Promise<Record<string, Ratio>> {
  const seconds = quick ? 2 : 4;
  const jobs = quick ? 1 : 2;
  const idlePerBlock = 2;
  const maxBusyPerJob = quick ? 4 : 6;
  const media = join(dir, 'media');
  cpSync(join(REPO_ROOT, 'media'), media, { recursive: true });
  mkdirSync(join(media, 'bench'));
  writeFileSync(join(media, 'bench/seg200k.ts'), randomBytes(200_000));
  const source = readFileSync(src);
  const sha = createHash('sha256').update(source).digest('hex');
  const port = await freePort();
  const env = Object.fromEntries(
    Object.entries(testEnv({ PORT: String(port), MEDIA_DIR: media, UPLOADS: 'true' })).filter(
      (e): e is [string, string] => e[1] !== undefined,
    ),
  );
  // The request log goes to a file, as in serving.ts (a pipe read by this process would cost this process CPU).
  const log = openSync(join(dir, 'gateway.log'), 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/node/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH!, ...env },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null || i > 400)
        throw new Error(`the gateway did not start: ${readFileSync(join(dir, 'gateway.log'), 'utf8').slice(-500)}`);
      if (
        await fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await sleep(50);
    }
    const key = await importPrivateKey(fixtureKey('rsa-pkcs8.pem'));
    const cookie = Object.entries(
      await signCookies(
        { resource: `${url}/videos/bench/*`, expires: Math.floor(Date.now() / 1000) + 7200 },
        { keyPairId: RSA_KEY_PAIR_ID, privateKey: key },
      ),
    )
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
    const token = await new SignJWT({ videos: '*', upload: true })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bench-uploader')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const auth = { Authorization: `Bearer ${token}` };
    const segment = `${url}/videos/bench/seg200k.ts`;
    // While wrk runs: which CPU the gateway's main thread is on (sampled), and how much CPU the gateway and wrk
    // used (share of one CPU over the round; wrk's from its last sample, so slightly low), to tell which side a
    // slower round was limited by.
    const onCpu0 = { idle: [0, 0], busy: [0, 0] };
    const cpuUse = {
      idle: { gateway: [] as number[], wrk: [] as number[] },
      busy: { gateway: [] as number[], wrk: [] as number[] },
    };
    const rps = async (kind: 'idle' | 'busy', secs = seconds) => {
      const gw0 = procStat(child.pid!)?.seconds ?? 0;
      let wrkPid: number | undefined;
      let wrkSeconds = 0;
      const t0 = performance.now();
      const sampler = setInterval(() => {
        const gw = procStat(child.pid!);
        if (gw) {
          onCpu0[kind][1]!++;
          if (gw.cpu === 0) onCpu0[kind][0]!++;
        }
        wrkPid ??= childPids(process.pid).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'wrk');
        if (wrkPid) wrkSeconds = procStat(wrkPid)?.seconds ?? wrkSeconds;
      }, 100);
      try {
        const r = await wrk(segment, { seconds: secs, connections: 16, headers: { Cookie: cookie } });
        if (r.non2xx > 0 || r.errors > 0)
          throw new Error(`${segment}: ${r.non2xx} non-2xx responses, ${r.errors} socket errors (check the setup)`);
        const wall = (performance.now() - t0) / 1000;
        cpuUse[kind].gateway.push(((procStat(child.pid!)?.seconds ?? gw0) - gw0) / wall);
        cpuUse[kind].wrk.push(wrkSeconds / wall);
        return r.requestsPerSec;
      } finally {
        clearInterval(sampler);
      }
    };
    const status = async (id: string) => {
      const res = await fetch(`${url}/api/uploads/${id}`, { headers: auth });
      if (!res.ok) throw new Error(`GET /api/uploads/${id} answered ${res.status}`);
      return (await res.json()) as Upload;
    };
    const upload = async () => {
      const res = await fetch(`${url}/api/uploads`, { method: 'POST', headers: auth });
      if (res.status !== 201) throw new Error(`POST /api/uploads answered ${res.status}: ${await res.text()}`);
      const { videoId, uploadUrl } = (await res.json()) as { videoId: string; uploadUrl: string };
      const put = await fetch(uploadUrl, { method: 'PUT', body: source, headers: { 'x-amz-content-sha256': sha } });
      if (put.status !== 201) throw new Error(`the upload answered ${put.status}: ${await put.text()}`);
      return videoId;
    };

    await rps('idle'); // warm-up: the first requests compile the serving path (through tsx)
    onCpu0.idle = [0, 0];
    cpuUse.idle = { gateway: [], wrk: [] };
    const idle: number[] = [];
    const busy: number[] = [];
    const idleRounds = async () => {
      for (let i = 0; i < idlePerBlock; i++) idle.push(await rps('idle'));
    };
    let discarded = 0;
    let jobPlacement = '';
    const packagingSeconds: number[] = [];
    await idleRounds();
    for (let j = 0; j < jobs; j++) {
      const id = await upload();
      const uploaded = performance.now();
      // The transcode has started once the job reports progress.
      let state = await status(id);
      for (let i = 0; !(state.status === 'packaging' && (state.percent ?? 0) > 0); i++) {
        if (state.status === 'failed' || state.status === 'ready' || i > 1200)
          throw new Error(`upload ${id} did not start packaging: ${JSON.stringify(state)}`);
        await sleep(50);
        state = await status(id);
      }
      const t0 = performance.now();
      const p0 = state.percent!;
      for (let b = 0; b < maxBusyPerJob; b++) {
        state = await status(id);
        if (state.status !== 'packaging' || state.percent! >= 99) break;
        // Start a round only if the transcode is expected to outlast it (from its progress so far).
        const elapsed = (performance.now() - t0) / 1000;
        const perSecond = elapsed > 1 && state.percent! > p0 ? (state.percent! - p0) / elapsed : undefined;
        if (perSecond && (99 - state.percent!) / perSecond < seconds + 1) break;
        const ffmpeg = childPids(child.pid!).find(
          (pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'ffmpeg',
        );
        if (ffmpeg && !jobPlacement) jobPlacement = placementOf(ffmpeg);
        const r = await rps('busy');
        // Counted only if ffmpeg was still transcoding when the round ended.
        const after = await status(id);
        if (after.status === 'packaging' && after.percent! < 99) busy.push(r);
        else {
          discarded++;
          cpuUse.busy.gateway.pop();
          cpuUse.busy.wrk.pop();
        }
      }
      for (let i = 0; state.status !== 'ready'; i++) {
        if (state.status === 'failed' || i > 6000)
          throw new Error(`upload ${id} was not packaged: ${JSON.stringify(state)}`);
        await sleep(100);
        state = await status(id);
      }
      packagingSeconds.push((performance.now() - uploaded) / 1000);
      await idleRounds();
    }
    if (busy.length === 0) throw new Error('no busy round fitted inside a transcode: make the source longer');
    const idleMedian = median(idle);
    const perRound = busy.map((b) => b / idleMedian);
    const share = (k: 'idle' | 'busy') => `${Math.round((100 * onCpu0[k][0]!) / Math.max(1, onCpu0[k][1]!))}%`;
    const pct = (xs: number[]) => xs.map((x) => Math.round(100 * x)).join('/');
    console.error(
      `bench: packaging: idle ${idle.map(Math.round).join(', ')} req/s; busy ${busy.map(Math.round).join(', ')} req/s`,
    );
    const r = ratio(
      median(busy),
      idleMedian,
      'req/s',
      0.8,
      [
        `the gateway (node --import tsx server/node/main.ts, UPLOADS=true, not pinned, request log to a file) serving a 200 KB segment with a grant cookie, wrk 16 connections x ${seconds} s pinned to CPU ${LOAD_CPU} (as in serving.ts),`,
        `while it packages an uploaded ${Math.round(Number(probeSeconds(src)))} s 1080p30 source (default ladder) vs idle; idle rounds before each upload and after it is ready, busy rounds only while GET /api/uploads/<id> said packaging below 99% before and after (${discarded} discarded);`,
        `the job's ffmpeg as the gateway places it by default (UPLOAD_JOB_CPUS unset on this ${cpus().length}-CPU machine: every CPU but the first, nice 10), read from /proc: ${jobPlacement || 'not seen'};`,
        `gateway main thread sampled on CPU 0 ${share('idle')} of the time idle, ${share('busy')} busy; CPU used per round (% of one CPU), gateway: idle ${pct(cpuUse.idle.gateway)}, busy ${pct(cpuUse.busy.gateway)}; wrk: idle ${pct(cpuUse.idle.wrk)}, busy ${pct(cpuUse.busy.wrk)};`,
        `each upload packaged in ${packagingSeconds.map(s1).join(', ')} s (upload to ready);`,
        `rounds (req/s): idle ${idle.map((x) => Math.round(x)).join(', ')}; busy ${busy.map((x) => Math.round(x)).join(', ')}; spread = each busy round / the idle median`,
      ].join(' '),
    );
    return {
      'packaging.gateway_seg200k_during_packaging_vs_idle': {
        ...r,
        spread: `${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}`,
      },
    };
  } finally {
    // SIGTERM closes the upload queue, which kills a running job's process group.
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

function probeSeconds(file: string): string {
  return execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  }).trim();
}

export async function packaging(quick: boolean): Promise<Record<string, Ratio>> {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-bench-pkg-'));
  try {
    const sourceSeconds = quick ? 8 : 16;
    const src = join(dir, 'src1080.mp4');
    makeSource(src, sourceSeconds);
    return {
      ...(await libraryVsHand(dir, src, sourceSeconds, quick ? 2 : 3)),
      ...(await servingDuringPackaging(dir, src, quick)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

import { availableParallelism } from 'node:os';
import { ConfigError, parseDuration, type Env } from '../app/config.ts';

// Where and how uploads are packaged on Node (read only with UPLOADS=true): the limits a stranger's source must stay
// within, how many jobs run at once and on which CPUs, the free-space floor, and how long leftovers are kept.

export interface UploadJobConfig {
  maxSeconds: number;
  maxWidth: number;
  maxHeight: number;
  wallBaseSeconds: number;
  wallFactor: number;
  jobs: number;
  /** `taskset -c` list, or undefined for no pinning. */
  cpus?: string;
  minFreeBytes: number;
  retentionSeconds: number;
}

const NODE_UPLOAD_VARS = ['UPLOAD_MAX_SECONDS', 'UPLOAD_JOBS', 'UPLOAD_JOB_CPUS', 'UPLOAD_MIN_FREE_BYTES', 'UPLOAD_RETENTION'];

/** A frame no larger than 4096 on either side (4K DCI): larger sources are refused before transcoding. */
const MAX_SIDE = 4096;

export function uploadJobConfig(env: Env, uploads: boolean): UploadJobConfig | undefined {
  const get = (name: string) => env[name]?.trim() || undefined;
  if (!uploads) {
    const stray = NODE_UPLOAD_VARS.find((n) => get(n) !== undefined);
    if (stray) throw new ConfigError(`${stray} needs UPLOADS=true`);
    return undefined;
  }
  const maxSeconds = parseDuration(get('UPLOAD_MAX_SECONDS') ?? '3h', 'UPLOAD_MAX_SECONDS');
  if (maxSeconds < 1 || maxSeconds > 86400) throw new ConfigError('UPLOAD_MAX_SECONDS must be between 1 second and 1 day (e.g. 3h)');
  const jobs = Number(get('UPLOAD_JOBS') ?? '1');
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new ConfigError('UPLOAD_JOBS must be a whole number from 1 to 64 (packaging jobs at once)');
  // By default the jobs keep off the first CPU (the gateway's event loop is scheduled there freely) when there are two
  // or more; `all` leaves them unpinned.
  const cpuCount = availableParallelism();
  const cpuSetting = get('UPLOAD_JOB_CPUS') ?? (cpuCount >= 2 ? `1-${cpuCount - 1}` : 'all');
  if (cpuSetting !== 'all' && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(cpuSetting)) throw new ConfigError('UPLOAD_JOB_CPUS must be a CPU list such as 1 or 2-3 or 1,3, or all');
  const minFree = Number(get('UPLOAD_MIN_FREE_BYTES') ?? String(1024 ** 3));
  if (!Number.isInteger(minFree) || minFree < 0) throw new ConfigError('UPLOAD_MIN_FREE_BYTES must be a whole number of bytes (0 turns the floor off)');
  const retentionSeconds = parseDuration(get('UPLOAD_RETENTION') ?? '1d', 'UPLOAD_RETENTION');
  if (retentionSeconds < 1 || retentionSeconds > 30 * 86400) throw new ConfigError('UPLOAD_RETENTION must be between 1 second and 30 days');
  return {
    maxSeconds,
    maxWidth: MAX_SIDE,
    maxHeight: MAX_SIDE,
    wallBaseSeconds: 120,
    wallFactor: 10,
    jobs,
    ...(cpuSetting !== 'all' ? { cpus: cpuSetting } : {}),
    minFreeBytes: minFree,
    retentionSeconds,
  };
}

import { UsageError } from './io.ts';

/** T = epoch seconds, ISO 8601, or relative to now: +90s, +30m, +2h, +1d. Returns epoch seconds. */
export function parseTime(text: string, nowMs: number, flag: string): number {
  const rel = /^\+(\d+)([smhd])$/.exec(text);
  if (rel)
    return (
      Math.floor(nowMs / 1000) + Number(rel[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[rel[2] as 's' | 'm' | 'h' | 'd']
    );
  if (/^\d{9,10}$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  throw new UsageError(
    `${flag} "${text}" is not a time: use epoch seconds, ISO 8601 (2026-12-01T00:00:00Z) or +30m, +2h, +1d`,
  );
}

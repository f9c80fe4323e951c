// Shared helpers: timed loops, interleaved rounds, medians, and the result shape written to bench/results.json.

export interface Ratio {
  ratio: number;
  target?: number;
  value: number;
  baseline: number;
  unit: string;
  /** Spread of the ratio over the rounds (min-max), so a reader sees whether runs agree. */
  spread?: string;
  note?: string;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Runs `op` back to back (awaiting each) for `ms` and returns operations per second. */
export async function rate(op: (i: number) => unknown, ms: number): Promise<number> {
  let i = 0;
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    for (let k = 0; k < 8; k++) await op(i++);
  }
  return i / ((performance.now() - start) / 1000);
}

/**
 * Measures several contenders in interleaved rounds (A B C, A B C, ...) so machine noise hits all of them, and
 * returns each one's median rate.
 */
export async function compare(
  contenders: Record<string, (i: number) => unknown>,
  rounds: number,
  ms: number,
): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (const op of Object.values(contenders)) await rate(op, Math.min(200, ms)); // warm-up
  for (let r = 0; r < rounds; r++)
    for (const [name, op] of Object.entries(contenders)) samples[name]!.push(await rate(op, ms));
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

/** Interleaved rounds of measurements that each return a rate: every sample, per contender. */
export async function rounds(
  contenders: Record<string, () => Promise<number>>,
  count: number,
): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let r = 0; r < count; r++)
    for (const [name, run] of Object.entries(contenders)) samples[name]!.push(await run());
  return samples;
}

/** value / baseline from the medians of interleaved samples, with the spread of the per-round ratios. */
export function ratioOf(value: number[], baseline: number[], unit: string, target?: number, note?: string): Ratio {
  const perRound = value.map((v, i) => v / baseline[i]!);
  const spread = `${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}`;
  return { ...ratio(median(value), median(baseline), unit, target, note), spread };
}

export function ratio(value: number, baseline: number, unit: string, target?: number, note?: string): Ratio {
  return {
    ratio: Math.round((value / baseline) * 1000) / 1000,
    ...(target !== undefined ? { target } : {}),
    value: Math.round(value * 100) / 100,
    baseline: Math.round(baseline * 100) / 100,
    unit,
    ...(note ? { note } : {}),
  };
}

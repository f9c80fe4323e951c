// A progress bar on stderr, only when stderr is a terminal (never in logs or CI output).
export function progressBar(write: (t: string) => void, enabled: boolean) {
  let last = 0;
  return {
    update(done: number, total: number): void {
      if (!enabled || Date.now() - last < 80) return;
      last = Date.now();
      const width = 30;
      const filled = Math.round((done / Math.max(total, 1)) * width);
      write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    },
    done(): void {
      if (enabled) write('\r\x1b[K');
    },
  };
}

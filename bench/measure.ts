// Timing and statistics shared by the benchmarks: a monotonic clock, medians, percentiles, and
// the progress line a long benchmark keeps on stderr.

/** Nanoseconds of a monotonic clock, as a number (exact up to 104 days). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Microseconds per operation of `operations` operations that took `elapsedNs`. */
export function microsPerOp(elapsedNs: number, operations: number): number {
  return elapsedNs / operations / 1000;
}

/** The median: the middle of several repetitions is robust to one disturbed by the machine. */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100) of an unsorted list; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** What every progress line of this process starts with: a child process says which one it is. */
let progressPrefix = "";

export function setProgressPrefix(prefix: string): void {
  progressPrefix = prefix;
}

/** One line on stderr, overwritten in place: a long run shows it is alive without filling the terminal. */
export function progress(message: string): void {
  if (!process.stderr.isTTY) return;
  process.stderr.write(`\r\x1b[K${progressPrefix}${message}`);
}

/** Clears the progress line before the table is printed. */
export function clearProgress(): void {
  if (!process.stderr.isTTY) return;
  process.stderr.write("\r\x1b[K");
}

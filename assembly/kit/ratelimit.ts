// A warning that would repeat on every connection, logged as Envoy logs such warnings with
// ENVOY_LOG_EVERY_POW_2 (source/common/common/logger.h): the 1st time, the 2nd, the 4th, the 8th
// and so on, counting only the times its level is shown. Envoy keeps one count per line of code;
// a filter keeps one per thing warned about (a cluster, say), and says in each warning how many
// were left out since the last.

/** Says yes the 1st, 2nd, 4th, 8th... time: for a warning that would repeat on every connection. */
export class EveryPowerOfTwo {
  /** occurrences so far */
  private count: u64 = 0;

  /** Counts one occurrence; true when it is to be logged: the 1st, 2nd, 4th, 8th... */
  next(): bool {
    this.count++;
    return (this.count & (this.count - 1)) == 0;
  }

  /** Whether the next occurrence is to be logged, without counting it. */
  get nextIsLogged(): bool {
    const next = this.count + 1;
    return (next & (next - 1)) == 0;
  }

  /** Occurrences not logged between the one logged before and the last one (logged by next()). */
  get suppressed(): u64 {
    return this.count <= 1 ? 0 : (this.count >> 1) - 1;
  }

  /** Starts again: the next occurrence is the first. */
  reset(): void {
    this.count = 0;
  }
}

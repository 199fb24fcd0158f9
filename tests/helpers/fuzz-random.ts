// A seeded PRNG for fuzz tests (mulberry32): the same seed gives the same run, so a failure
// printed with its seed can be replayed with FUZZ_SEED=<seed>.

export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /** One of the keys, chosen with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    let roll = this.next() * entries.reduce((sum, [, weight]) => sum + weight, 0);
    for (const [key, weight] of entries) {
      roll -= weight;
      if (roll < 0) return key;
    }
    return entries[entries.length - 1][0];
  }

  /** A new generator whose sequence does not overlap this one's in practice. */
  fork(): Random {
    return new Random(Math.floor(this.next() * 4294967296));
  }
}

export interface FuzzSettings {
  seed: number;
  /** random connection scripts per run */
  count: number;
}

/** FUZZ_SEED (decimal or 0x hex) and FUZZ_COUNT override the fixed defaults. */
export function fuzzSettings(defaults: FuzzSettings): FuzzSettings {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : defaults.seed;
  const count = process.env.FUZZ_COUNT ? Number(process.env.FUZZ_COUNT) : defaults.count;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`FUZZ_SEED must be a 32-bit unsigned integer, not ${process.env.FUZZ_SEED}`);
  if (!Number.isInteger(count) || count < 1) throw new Error(`FUZZ_COUNT must be a positive integer, not ${process.env.FUZZ_COUNT}`);
  return { seed, count };
}

/**
 * Seeded pseudo-random numbers (mulberry32: 32-bit state, fast, good enough for sampling and shuffling).
 * Every stochastic choice in slicewise takes one of these, so the same seed gives the same result.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    // Mix the seed once so nearby seeds give unrelated streams.
    this.state = hash32(seed >>> 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** k distinct items, in the order drawn. */
  sample<T>(items: readonly T[], k: number): T[] {
    return this.shuffle(items).slice(0, k);
  }

  /** The generator's whole state, to continue the same stream elsewhere (another thread). */
  snapshot(): number {
    return this.state;
  }

  /** A generator that continues the stream a `snapshot()` was taken from. */
  static restore(snapshot: number): Random {
    const random = new Random(0);
    random.state = snapshot | 0;
    return random;
  }

  /** A child generator whose stream depends on this seed and a label (e.g. a case id). */
  fork(label: string | number): Random {
    return new Random(hash32(this.state ^ hashString(String(label))));
  }
}

/** A 32-bit integer hash (murmur3 finalizer). */
export function hash32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

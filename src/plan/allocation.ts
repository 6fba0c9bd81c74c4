/**
 * Budget → slices per volume. Volumes come in a selection order (seeded random, or diverse first); every
 * rule walks that order, so the same seed picks the same volumes. Every rule spends the budget exactly
 * and never gives a volume more slices than it has; when it cannot, it is a user error naming the option.
 */
import { UserError } from '../io/errors.js';
import type { Random } from '../util/random.js';
import { kCenterGreedy } from './strategies/ual-coreset.js';

export type AllocationRule =
  /** The study's first finding: as many volumes as possible, ⌊B/N⌋ or ⌈B/N⌉ slices each. */
  | { kind: 'spread' }
  /** s volumes, B/s slices each (remainder spread). */
  | { kind: 'volumes'; volumes: number }
  /** ⌊B/k⌋ volumes with k slices each; a remainder r = B mod k goes to one more volume. */
  | { kind: 'slices-per-volume'; slicesPerVolume: number }
  /** Each chosen volume gets round(ρ · its slice count) (at least 1) until the budget is spent. */
  | { kind: 'density'; density: number };

export type VolumeSelection = 'random' | 'diverse';

/** The option each rule comes from, for error messages. */
export function ruleOption(rule: AllocationRule): string {
  return rule.kind === 'spread' ? '--budget' : `--${rule.kind}`;
}

/** Checks that need no data: budget a positive integer, rule values in range. */
export function validateRule(budget: number, rule: AllocationRule): void {
  if (!Number.isSafeInteger(budget) || budget <= 0) throw new UserError(`must be a positive integer, got ${budget}`, '--budget');
  if (rule.kind === 'volumes' && (!Number.isSafeInteger(rule.volumes) || rule.volumes <= 0)) {
    throw new UserError(`must be a positive integer, got ${rule.volumes}`, '--volumes');
  }
  if (rule.kind === 'slices-per-volume' && (!Number.isSafeInteger(rule.slicesPerVolume) || rule.slicesPerVolume <= 0)) {
    throw new UserError(`must be a positive integer, got ${rule.slicesPerVolume}`, '--slices-per-volume');
  }
  if (rule.kind === 'density' && !(rule.density > 0 && rule.density <= 1)) {
    throw new UserError(`must be in (0, 1], got ${rule.density}`, '--density');
  }
}

/**
 * The order volumes are chosen in: a seeded shuffle, or (diverse) a farthest-first traversal of the
 * volume-level features from a seeded start, so any prefix covers the pool (k-center greedy).
 */
export function volumeOrder(count: number, selection: VolumeSelection, random: Random, features?: Float32Array, dim = 0): number[] {
  const indices = Array.from({ length: count }, (_, i) => i);
  if (selection === 'random' || count === 0) return random.shuffle(indices);
  if (!features) throw new Error('diverse volume selection needs volume features');
  return kCenterGreedy(features, count, dim, count, random.int(count));
}

/** Round-robin over `positions`, one slice per volume per round, skipping full volumes. */
function spreadOver(capacities: number[], positions: number, budget: number, counts: number[]): number {
  let remaining = budget;
  while (remaining > 0) {
    let given = 0;
    for (let p = 0; p < positions && remaining > 0; p++) {
      if (counts[p] < capacities[p]) {
        counts[p]++;
        remaining--;
        given++;
      }
    }
    if (given === 0) break;
  }
  return remaining;
}

/**
 * Slices per volume, for volumes listed in selection order by their slice counts (capacities). Returns
 * counts in the same order; zeros for volumes not chosen.
 */
export function allocate(capacities: number[], budget: number, rule: AllocationRule): number[] {
  validateRule(budget, rule);
  const n = capacities.length;
  const total = capacities.reduce((a, b) => a + b, 0);
  if (budget > total) throw new UserError(`${budget} is more than the ${total} slices of the ${n} readable volumes`, '--budget');
  const counts = new Array<number>(n).fill(0);
  switch (rule.kind) {
    case 'spread': {
      // B ≤ N gives the first B volumes one slice each; otherwise every volume ⌊B/N⌋ or ⌈B/N⌉.
      spreadOver(capacities, n, budget, counts);
      return counts;
    }
    case 'volumes': {
      if (rule.volumes > n) throw new UserError(`${rule.volumes} volumes asked for, the dataset has ${n} readable volumes`, '--volumes');
      const left = spreadOver(capacities, rule.volumes, budget, counts);
      if (left > 0) {
        throw new UserError(`the ${rule.volumes} chosen volumes have only ${budget - left} slices, fewer than the budget of ${budget}`, '--volumes');
      }
      return counts;
    }
    case 'slices-per-volume': {
      const k = rule.slicesPerVolume;
      const needed = Math.ceil(budget / k);
      if (needed > n) throw new UserError(`${k} slices per volume needs ${needed} volumes for a budget of ${budget}, the dataset has ${n}`, '--slices-per-volume');
      return fillInOrder(capacities, budget, () => k, '--slices-per-volume');
    }
    case 'density':
      return fillInOrder(capacities, budget, (capacity) => Math.max(1, Math.round(rule.density * capacity)), '--density');
  }
}

/** Each volume in order gets min(want, capacity, remaining) until the budget is spent. */
function fillInOrder(capacities: number[], budget: number, want: (capacity: number) => number, option: string): number[] {
  const counts = new Array<number>(capacities.length).fill(0);
  let remaining = budget;
  for (let p = 0; p < capacities.length && remaining > 0; p++) {
    counts[p] = Math.min(want(capacities[p]), capacities[p], remaining);
    remaining -= counts[p];
  }
  if (remaining > 0) {
    throw new UserError(`all ${capacities.length} volumes together give only ${budget - remaining} slices under this rule, fewer than the budget of ${budget}`, option);
  }
  return counts;
}

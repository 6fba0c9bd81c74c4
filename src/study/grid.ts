/**
 * Config → cells. Budgets given as fractions and relative allocations are resolved against the training
 * split, allocations are put in one canonical form, and cells that are identical by design (the same
 * resolved config reached from two blocks, "spread" equal to "s volumes", interpolation with one slice per
 * volume, which has nothing to fill) collapse into one. A cell's id is the sha256 of its canonical JSON,
 * so re-expanding the same config on the same split gives the same ids in the same order.
 */
import { createHash } from 'node:crypto';
import type { AllocationChoice, StudyConfig } from './config.js';
import type { CellAllocation, CellConfig, CellSpec } from './types.js';

/** What the grid needs to know about the training split: slices per training volume. */
export interface TrainingSummary {
  sliceCounts: number[];
}

export interface SkippedCombination {
  experiment: string;
  budget: number | string;
  allocation: string;
  reason: string;
}

export interface Grid {
  cells: CellSpec[];
  /** Cell id → names of the experiments that asked for it (several after deduplication). */
  experimentsOf: Map<string, string[]>;
  /** Combinations that cannot be run on this split (e.g. more volumes than training cases). */
  skipped: SkippedCombination[];
}

/** JSON with object keys sorted at every level and no whitespace: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`cannot hash non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function cellId(config: CellConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}

export function describeAllocation(a: AllocationChoice): string {
  if (a === 'spread') return 'spread';
  if ('volumes' in a) return `${a.volumes} volumes`;
  if ('volumesFraction' in a) return `${a.volumesFraction} of volumes`;
  return `${a.slicesPerVolume} slices/volume`;
}

/** Budget in slices: integers as given, fractions of all training slices rounded (at least 1). */
export function resolveBudget(budget: number, totalSlices: number): number {
  return budget <= 1 ? Math.max(1, Math.round(budget * totalSlices)) : budget;
}

type Resolved = { allocation: CellAllocation; volumes: number } | { reason: string };

/** One allocation choice at budget B on N training volumes, in canonical form, or why it cannot run. */
export function resolveAllocation(choice: AllocationChoice, budget: number, sliceCounts: number[]): Resolved {
  const n = sliceCounts.length;
  let volumes: number;
  if (choice === 'spread') volumes = Math.min(budget, n);
  else if ('volumes' in choice) volumes = choice.volumes;
  else if ('volumesFraction' in choice) volumes = Math.max(1, Math.round(choice.volumesFraction * n));
  else {
    const k = choice.slicesPerVolume;
    volumes = Math.ceil(budget / k);
    if (volumes > n) return { reason: `${k} slices per volume needs ${volumes} volumes, the training split has ${n}` };
    // k dividing B is the same plan as B/k volumes; otherwise the last volume gets the remainder.
    if (budget % k !== 0 && volumes > 1) {
      if (k > Math.max(...sliceCounts)) return { reason: `${k} slices per volume is more than any training volume has` };
      return { allocation: { kind: 'slices-per-volume', slicesPerVolume: k }, volumes };
    }
  }
  if (volumes > n) return { reason: `${volumes} volumes asked for, the training split has ${n}` };
  if (volumes > budget) return { reason: `${volumes} volumes need at least ${volumes} slices, the budget is ${budget}` };
  const largest = [...sliceCounts].sort((a, b) => b - a).slice(0, volumes).reduce((a, b) => a + b, 0);
  if (budget > largest) return { reason: `${volumes} volumes hold at most ${largest} slices, fewer than the budget of ${budget}` };
  return { allocation: { kind: 'volumes', volumes }, volumes };
}

export function expandGrid(config: StudyConfig, summary: TrainingSummary): Grid {
  const totalSlices = summary.sliceCounts.reduce((a, b) => a + b, 0);
  const cells: CellSpec[] = [];
  const experimentsOf = new Map<string, string[]>();
  const skipped: SkippedCombination[] = [];
  for (const experiment of config.experiments) {
    for (const rawBudget of experiment.budgets) {
      const budget = resolveBudget(rawBudget, totalSlices);
      for (const choice of experiment.allocations) {
        const resolved = budget > totalSlices
          ? { reason: `budget ${budget} is more than the ${totalSlices} training slices` }
          : resolveAllocation(choice, budget, summary.sliceCounts);
        if ('reason' in resolved) {
          skipped.push({ experiment: experiment.name, budget: rawBudget, allocation: describeAllocation(choice), reason: resolved.reason });
          continue;
        }
        for (const model of experiment.models) {
          for (const strategy of experiment.strategies) {
            for (const requested of experiment.interpolations) {
              // One slice in every volume leaves no gap to fill: interpolation is the same cell as none.
              const interpolation = Math.ceil(budget / resolved.volumes) <= 1 ? 'none' : requested;
              for (const seed of config.seeds) {
                const cellConfig: CellConfig = { budget, allocation: resolved.allocation, strategy, interpolation, model, seed, training: config.training };
                const id = cellId(cellConfig);
                const owners = experimentsOf.get(id);
                if (owners) {
                  if (!owners.includes(experiment.name)) owners.push(experiment.name);
                  continue;
                }
                experimentsOf.set(id, [experiment.name]);
                cells.push({ id, config: cellConfig, volumes: resolved.volumes, slicesPerVolume: budget / resolved.volumes });
              }
            }
          }
        }
      }
    }
  }
  return { cells, experimentsOf, skipped };
}

/** What the planner's worker threads are asked to do, and what they answer. */
import type { StrategyOptions, VolumeSlices } from '../strategies/types.js';

/** One volume's per-volume selection: `strategy.select(volume, k, Random.restore(random), options)`. */
export interface SelectTask {
  kind: 'select';
  strategy: string;
  volume: VolumeSlices;
  k: number;
  random: number;
  options: StrategyOptions;
}

/** The k-means step alone (what `npm run bench -- plan` compares with scikit-learn). */
export interface KMeansTask {
  kind: 'kmeans';
  points: Float32Array;
  n: number;
  d: number;
  k: number;
  random: number;
  maxIterations?: number;
  tolerance?: number;
}

export type PlanTask = SelectTask | KMeansTask;

export type PlanTaskResult =
  | { kind: 'select'; slices: number[] }
  | { kind: 'kmeans'; inertia: number; iterations: number };

export interface TaskMessage { id: number; task: PlanTask }
export type ReplyMessage = { id: number; result: PlanTaskResult } | { id: number; error: string };

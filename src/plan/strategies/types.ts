/**
 * The contract every slice-selection strategy meets. A strategy sees images only (features and the body
 * range are computed from the image; labels are never read).
 */
import type { Random } from '../../util/random.js';

/** What a strategy knows about one volume. */
export interface VolumeSlices {
  caseId: string;
  sliceCount: number;
  /** First and last slice (inclusive) that contain the body. */
  bodyRange: [number, number];
  /** sliceCount × featureDim per-slice features (see features.ts); present when the strategy needs them. */
  features?: Float32Array;
  featureDim: number;
}

export interface StrategyOptions {
  /** 'body': fixed-interval bins span the body slices only; 'full': every slice. */
  range: 'body' | 'full';
}

interface StrategyBase {
  name: string;
  description: string;
  /** Whether per-slice features must be computed for it. */
  needsFeatures: boolean;
}

/** Picks `k` distinct slices inside one volume; the allocation decides k. */
export interface PerVolumeStrategy extends StrategyBase {
  kind: 'per-volume';
  select(volume: VolumeSlices, k: number, random: Random, options: StrategyOptions): number[];
}

/** Picks `total` slices over all given volumes together; per-volume counts come out of the selection. */
export interface PooledStrategy extends StrategyBase {
  kind: 'pooled';
  selectPooled(volumes: VolumeSlices[], total: number, random: Random, options: StrategyOptions): number[][];
}

export type Strategy = PerVolumeStrategy | PooledStrategy;

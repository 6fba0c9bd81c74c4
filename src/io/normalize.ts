/**
 * Per-volume intensity normalization as pure functions over voxel arrays; each returns a new Float32Array.
 */
import type { VoxelArray } from './volume.js';

export function intensityRange(data: VoxelArray): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

export interface ZScoreOptions {
  /** 'nonzero': statistics over voxels ≠ 0 (the body, after cropping), falling back to all voxels when
   * fewer than 10% are nonzero; 'all': every voxel. */
  region?: 'nonzero' | 'all';
}

/** (x − mean) / sd over the chosen region; background voxels are normalized with the same statistics. */
export function zScore(data: VoxelArray, options: ZScoreOptions = {}): Float32Array {
  const region = options.region ?? 'nonzero';
  let n = 0, sum = 0, sumSq = 0;
  const accumulate = (useAll: boolean) => {
    n = 0; sum = 0; sumSq = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!useAll && v === 0) continue;
      n++; sum += v; sumSq += v * v;
    }
  };
  accumulate(region === 'all');
  if (region === 'nonzero' && n < 0.1 * data.length) accumulate(true);
  const mean = n > 0 ? sum / n : 0;
  const sd = n > 1 ? Math.sqrt(Math.max(0, sumSq / n - mean * mean)) : 0;
  const scale = sd > 1e-12 ? 1 / sd : 1;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] - mean) * scale;
  return out;
}

/** The p-th percentile (0..100) by linear interpolation between order statistics, as numpy's default. */
export function percentile(data: VoxelArray, p: number): number {
  const sorted = Float64Array.from(data).sort();
  if (sorted.length === 0) return NaN;
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Clip to the [low, high] percentiles (nnU-Net clips CT at 0.5 and 99.5). */
export function percentileClip(data: VoxelArray, low = 0.5, high = 99.5): Float32Array {
  const lo = percentile(data, low);
  const hi = percentile(data, high);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.min(hi, Math.max(lo, data[i]));
  return out;
}

/** CT window: Hounsfield units in [level − width/2, level + width/2] mapped to [0, 1]. */
export function ctWindow(data: VoxelArray, level: number, width: number): Float32Array {
  const lo = level - width / 2;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.min(1, Math.max(0, (data[i] - lo) / width));
  return out;
}

/** The default used for training and features: percentile clip then z-score (MRI), or a window (CT). */
export function normalizeForModel(data: VoxelArray): Float32Array {
  return zScore(percentileClip(data, 0.5, 99.5));
}

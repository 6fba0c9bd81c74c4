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

/**
 * The p-th percentiles (0..100) by linear interpolation between order statistics, as numpy's default.
 * Order statistics come from in-place selection on one copy, O(n) each instead of a full sort: this runs
 * on every volume that is planned, exported or trained on.
 */
export function percentiles(data: ArrayLike<number>, ps: readonly number[]): number[] {
  const n = data.length;
  if (n === 0) return ps.map(() => NaN);
  const values = Float64Array.from(data);
  const positions = ps.map((p) => (Math.min(100, Math.max(0, p)) / 100) * (n - 1));
  const needed = [...new Set(positions.flatMap((pos) => [Math.floor(pos), Math.min(n - 1, Math.floor(pos) + 1)]))].sort((a, b) => a - b);
  const orderStatistic = new Map<number, number>();
  let from = 0;
  for (const k of needed) {
    // Everything after the previous selected index is ≥ it, so each selection continues from there.
    selectInPlace(values, k, from, n - 1);
    orderStatistic.set(k, values[k]);
    from = k;
  }
  return positions.map((pos) => {
    const lo = Math.floor(pos);
    const a = orderStatistic.get(lo)!, b = orderStatistic.get(Math.min(n - 1, lo + 1))!;
    return a + (b - a) * (pos - lo);
  });
}

/** The p-th percentile (0..100), numpy's default interpolation. */
export function percentile(data: ArrayLike<number>, p: number): number {
  return percentiles(data, [p])[0];
}

/** Rearranges a[lo..hi] so that a[k] holds the value it would have if sorted, smaller ones before it and
 * larger ones after (Hoare partitioning, median-of-three pivot). */
function selectInPlace(a: Float64Array, k: number, lo: number, hi: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) { swap(a, i, j); i++; j--; }
    }
    // Now a[lo..j] ≤ pivot ≤ a[i..hi], and anything strictly between j and i equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]; a[i] = a[j]; a[j] = t;
}

/** Clip to the [low, high] percentiles (nnU-Net clips CT at 0.5 and 99.5). */
export function percentileClip(data: VoxelArray, low = 0.5, high = 99.5): Float32Array {
  const [lo, hi] = percentiles(data, [low, high]);
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

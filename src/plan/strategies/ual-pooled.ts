import { kmeans, nearestDistinctPoints } from '../kmeans.js';
import type { PooledStrategy } from './types.js';

/**
 * UAL over the pool: one k-means with k = total over the slices of all chosen volumes together, the slice
 * nearest each centroid. Volumes receive unequal numbers of slices (some none): the caveat under the
 * study's second finding. The total is exactly `total`. The pool is large (k = budget), so seeding uses
 * plain k-means++ (one candidate per step) rather than the greedy variant: ~8× cheaper, Lloyd refines.
 */
export const ualPooledStrategy: PooledStrategy = {
  name: 'ual-pooled',
  description: 'one k-means over all slices of all chosen volumes; unequal slices per volume, total exactly the budget',
  kind: 'pooled',
  needsFeatures: true,
  selectPooled(volumes, total, random) {
    const d = volumes[0]?.featureDim ?? 0;
    const offsets: number[] = [];
    let n = 0;
    for (const v of volumes) {
      if (!v.features) throw new Error(`ual-pooled: no features for case ${v.caseId}`);
      offsets.push(n);
      n += v.sliceCount;
    }
    const pool = new Float32Array(n * d);
    volumes.forEach((v, i) => pool.set(v.features!.subarray(0, v.sliceCount * d), offsets[i] * d));
    const picks = total === n
      ? Array.from({ length: n }, (_, i) => i)
      : nearestDistinctPoints(pool, n, d, kmeans(pool, n, d, total, { random, localTrials: 1 }).centroids, total);
    const perVolume: number[][] = volumes.map(() => []);
    for (const p of picks) {
      // Map the pooled row back to (volume, slice): offsets ascend, so binary search.
      let lo = 0, hi = volumes.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (offsets[mid] <= p) lo = mid; else hi = mid - 1;
      }
      perVolume[lo].push(p - offsets[lo]);
    }
    return perVolume.map((s) => s.sort((a, b) => a - b));
  },
};

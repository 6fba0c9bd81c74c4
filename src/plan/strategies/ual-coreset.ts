import type { PerVolumeStrategy } from './types.js';

/** Squared Euclidean distance between rows a and b of a flat feature array. */
function distance(features: Float32Array, a: number, b: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = features[a * d + j] - features[b * d + j];
    s += t * t;
  }
  return s;
}

/**
 * k-center greedy over rows of `features` (diversity / core-set): a seeded random first point, then
 * repeatedly the point farthest from everything chosen so far. Returns the points in the order chosen.
 */
export function kCenterGreedy(features: Float32Array, n: number, d: number, k: number, first: number): number[] {
  const nearest = new Float64Array(n).fill(Infinity);
  const picks: number[] = [];
  let next = first;
  for (let c = 0; c < k; c++) {
    picks.push(next);
    nearest[next] = -1;
    let far = -1;
    for (let i = 0; i < n; i++) {
      if (nearest[i] < 0) continue;
      const dist = distance(features, i, next, d);
      if (dist < nearest[i]) nearest[i] = dist;
      if (far < 0 || nearest[i] > nearest[far]) far = i;
    }
    if (far < 0) break;
    next = far;
  }
  return picks;
}

export const ualCoresetStrategy: PerVolumeStrategy = {
  name: 'ual-coreset',
  description: 'diverse slices: k-center greedy on slice features (seeded first slice)',
  kind: 'per-volume',
  needsFeatures: true,
  select(volume, k, random) {
    if (k === 0) return [];
    const { features, sliceCount: n, featureDim: d } = volume;
    if (!features) throw new Error(`ual-coreset: no features for case ${volume.caseId}`);
    return kCenterGreedy(features, n, d, k, random.int(n)).sort((a, b) => a - b);
  },
};

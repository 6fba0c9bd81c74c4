import type { PerVolumeStrategy } from './types.js';

/**
 * The centres of k equal bins over the range [lo, hi]: bin i spans [i·n/k, (i+1)·n/k) slices from lo
 * (n = hi − lo + 1), its centre falls in slice lo + ⌊(i + ½)·n/k⌋. Distinct whenever k ≤ n.
 */
export function binCentres(lo: number, hi: number, k: number): number[] {
  const n = hi - lo + 1;
  return Array.from({ length: k }, (_, i) => lo + Math.floor(((i + 0.5) * n) / k));
}

export const fixedIntervalStrategy: PerVolumeStrategy = {
  name: 'fixed-interval',
  description: 'centres of k equal bins over the body slices (--range body) or all slices (--range full)',
  kind: 'per-volume',
  needsFeatures: false,
  select(volume, k, _random, options) {
    let [lo, hi] = options.range === 'body' ? volume.bodyRange : [0, volume.sliceCount - 1];
    // More slices wanted than the body spans: use the whole volume rather than repeat slices.
    if (hi - lo + 1 < k) [lo, hi] = [0, volume.sliceCount - 1];
    return binCentres(lo, hi, k);
  },
};

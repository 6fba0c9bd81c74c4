import { kmeans, nearestDistinctPoints } from '../kmeans.js';
import type { PerVolumeStrategy } from './types.js';

/**
 * Unsupervised active learning by representativeness: k-means (k-means++ start, seeded) with k clusters
 * over the volume's slice features, then the slice nearest each centroid (distinct).
 */
export const ualStrategy: PerVolumeStrategy = {
  name: 'ual',
  description: 'representative slices: k-means on slice features, the slice nearest each centroid',
  kind: 'per-volume',
  needsFeatures: true,
  select(volume, k, random) {
    if (k === 0) return [];
    const { features, sliceCount: n, featureDim: d } = volume;
    if (!features) throw new Error(`ual: no features for case ${volume.caseId}`);
    if (k === n) return Array.from({ length: n }, (_, i) => i);
    const result = kmeans(features, n, d, k, { random });
    return nearestDistinctPoints(features, n, d, result.centroids, k).sort((a, b) => a - b);
  },
};

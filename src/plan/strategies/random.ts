import type { PerVolumeStrategy } from './types.js';

/** k distinct slices drawn uniformly (seeded), returned ascending. */
export const randomStrategy: PerVolumeStrategy = {
  name: 'random',
  description: 'k distinct slices drawn uniformly at random (seeded)',
  kind: 'per-volume',
  needsFeatures: false,
  select(volume, k, random) {
    const all = Array.from({ length: volume.sliceCount }, (_, i) => i);
    return random.sample(all, k).sort((a, b) => a - b);
  },
};

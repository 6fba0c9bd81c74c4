/**
 * Built-in study designs. Budgets are fractions of all training slices and allocations are relative, so a
 * preset fits any dataset; on msd-hippocampus (208 training cases, about 7,500 training slices) budget 0.02
 * is about 150 slices and 0.06 about 450.
 *
 * Sizing uses the expected cell times of the study training schedule on the 2-core machine (about 1 min
 * per 2D cell, 3 min per 3D cell), summed as if cells ran one after another:
 * - quick: 15 2D cells ≈ 15 min serially; CI runs them on 2 workers (12 cells took about 9 min, so about
 *   11 min on hippocampus, under the 15-minute limit).
 * - findings: 90 cells (45 2D + 45 3D) ≈ 180 min: one small block per finding, 3 seeds, 2D and 3D.
 * - paper: the full factorial (every budget × allocation × strategy × interpolation × model).
 */
import { parseStudyConfig, type StudyConfig } from './config.js';

export const PRESET_NAMES = ['quick', 'findings', 'paper'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** Expected minutes per cell, for sizing presets and for the runner's first ETA. */
export const EXPECTED_CELL_MINUTES = { '2d': 1, '3d': 3 } as const;

const SEEDS = [0, 1, 2];
/** The executor maps this to its study-sized schedule (issue 6: ≤ 2 min per 2D cell, ≤ 5 min per 3D cell). */
const STUDY_TRAINING = { schedule: 'study' };

const RAW_PRESETS: Record<PresetName, unknown> = {
  quick: {
    seeds: SEEDS,
    training: STUDY_TRAINING,
    experiments: [
      // Finding 1: all volumes with about one slice each vs few volumes with 15 slices each.
      { name: 'allocation', budgets: [0.02], allocations: ['spread', { slicesPerVolume: 15 }], strategies: ['random'], interpolations: ['none'], models: ['2d'] },
      // Finding 2: ual vs random and fixed-interval at the same equal allocation (random is shared with the block above).
      { name: 'strategy', budgets: [0.02], allocations: [{ slicesPerVolume: 15 }], strategies: ['random', 'fixed-interval', 'ual'], interpolations: ['none'], models: ['2d'] },
      // Finding 3: mci interpolation between fixed-interval slices vs none (none is shared with the block above).
      { name: 'interpolation', budgets: [0.02], allocations: [{ slicesPerVolume: 15 }], strategies: ['fixed-interval'], interpolations: ['none', 'mci'], models: ['2d'] },
    ],
  },
  findings: {
    seeds: SEEDS,
    training: STUDY_TRAINING,
    experiments: [
      { name: 'allocation', budgets: [0.02, 0.06], allocations: ['spread', { slicesPerVolume: 5 }, { slicesPerVolume: 15 }], strategies: ['random'], interpolations: ['none'], models: ['2d', '3d'] },
      { name: 'strategy', budgets: [0.02], allocations: [{ slicesPerVolume: 5 }], strategies: ['random', 'fixed-interval', 'ual', 'ual-coreset', 'ual-pooled'], interpolations: ['none'], models: ['2d', '3d'] },
      // Two densities: 5 and 15 slices per chosen volume (about 1/7 and 2/5 of a hippocampus volume).
      { name: 'interpolation', budgets: [0.02], allocations: [{ slicesPerVolume: 5 }, { slicesPerVolume: 15 }], strategies: ['fixed-interval'], interpolations: ['none', 'mci', 'sdf'], models: ['2d', '3d'] },
    ],
  },
  paper: {
    seeds: SEEDS,
    training: STUDY_TRAINING,
    budgets: [0.01, 0.02, 0.05, 0.1],
    allocations: ['spread', { slicesPerVolume: 2 }, { slicesPerVolume: 5 }, { slicesPerVolume: 10 }, { slicesPerVolume: 20 }],
    strategies: ['random', 'fixed-interval', 'ual', 'ual-coreset', 'ual-pooled'],
    interpolations: ['none', 'mci', 'sdf'],
    models: ['2d', '3d'],
  },
};

/** Expected minutes of a grid run one cell after another (the sizing rule above). */
export function expectedSerialMinutes(cells: ReadonlyArray<{ config: { model: keyof typeof EXPECTED_CELL_MINUTES } }>): number {
  return cells.reduce((sum, cell) => sum + EXPECTED_CELL_MINUTES[cell.config.model], 0);
}

export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}

export function presetConfig(name: PresetName): StudyConfig {
  return parseStudyConfig(structuredClone(RAW_PRESETS[name]), `preset ${name}`);
}

/**
 * A finished (or partly finished) study read back from its store, shaped for analysis: every cell, and
 * for each done cell its score per test case (Dice averaged over the foreground labels). An "arm" is the
 * set of cells that differ only by seed; arms are what the report compares.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../io/errors.js';
import type { StudyConfig } from '../study/config.js';
import { canonicalJson, type SkippedCombination } from '../study/grid.js';
import { SPLIT_FILE, STORE_FILE } from '../study/runner.js';
import { StudyStore, type CaseResultRow, type StoredCell } from '../study/store.js';
import type { CellConfig } from '../study/types.js';

export interface Arm {
  key: string;
  config: Omit<CellConfig, 'seed'>;
  volumes: number;
  slicesPerVolume: number;
  /** Done cells by seed. */
  cells: Map<number, StoredCell>;
}

export interface StudyData {
  dir: string;
  config: StudyConfig | undefined;
  dataset: { root: string; name: string; labels: Record<string, number> | null } | undefined;
  skipped: SkippedCombination[];
  cells: StoredCell[];
  rows: CaseResultRow[];
  /** Cell id → case id → Dice averaged over labels. */
  caseDice: Map<string, Map<string, number>>;
  arms: Arm[];
}

export function armKeyOf(config: CellConfig): string {
  const { seed: _seed, ...rest } = config;
  return canonicalJson(rest);
}

export function loadStudy(dir: string): StudyData {
  const storePath = join(dir, STORE_FILE);
  if (!existsSync(storePath)) throw new UserError(`holds no study (no ${STORE_FILE}; run slicewise study first)`, dir);
  const store = new StudyStore(storePath, { readonly: true });
  try {
    const cells = store.cells();
    const rows = store.caseResults();
    const sums = new Map<string, Map<string, { sum: number; n: number }>>();
    for (const r of rows) {
      let byCase = sums.get(r.cellId);
      if (!byCase) sums.set(r.cellId, (byCase = new Map()));
      const s = byCase.get(r.caseId) ?? { sum: 0, n: 0 };
      s.sum += r.dice;
      s.n++;
      byCase.set(r.caseId, s);
    }
    const caseDice = new Map([...sums].map(([id, m]) => [id, new Map([...m].map(([c, s]) => [c, s.sum / s.n]))]));
    const arms = new Map<string, Arm>();
    for (const cell of cells) {
      const key = armKeyOf(cell.spec.config);
      let arm = arms.get(key);
      if (!arm) {
        const { seed: _seed, ...config } = cell.spec.config;
        arms.set(key, (arm = { key, config, volumes: cell.spec.volumes, slicesPerVolume: cell.spec.slicesPerVolume, cells: new Map() }));
      }
      if (cell.status === 'done') arm.cells.set(cell.spec.config.seed, cell);
    }
    return {
      dir, config: store.getMeta<StudyConfig>('config'), dataset: store.getMeta('dataset'),
      skipped: store.getMeta<{ skipped: SkippedCombination[] }>('grid')?.skipped ?? [],
      cells, rows, caseDice, arms: [...arms.values()],
    };
  } finally {
    store.close();
  }
}

export const SPLIT_PATH = (dir: string) => join(dir, SPLIT_FILE);

/** Scores of an arm per (seed, case) unit, keyed "seed/case". */
export function armUnits(data: StudyData, arm: Arm): Map<string, number> {
  const units = new Map<string, number>();
  for (const [seed, cell] of arm.cells) {
    for (const [caseId, dice] of data.caseDice.get(cell.spec.id) ?? []) units.set(`${seed}/${caseId}`, dice);
  }
  return units;
}

/** Matched (seed, case) scores of two arms. */
export function pairedUnits(data: StudyData, a: Arm, b: Arm): { x: number[]; y: number[] } {
  const ua = armUnits(data, a), ub = armUnits(data, b);
  const x: number[] = [], y: number[] = [];
  for (const [unit, v] of [...ua].sort(([p], [q]) => (p < q ? -1 : 1))) {
    const w = ub.get(unit);
    if (w !== undefined) { x.push(v); y.push(w); }
  }
  return { x, y };
}

export function describeArm(arm: Arm, omit: Array<'model' | 'budget' | 'allocation' | 'strategy' | 'interpolation'> = []): string {
  const c = arm.config;
  const k = Number.isInteger(arm.slicesPerVolume) ? String(arm.slicesPerVolume) : arm.slicesPerVolume.toFixed(1);
  const parts: string[] = [];
  if (!omit.includes('model')) parts.push(c.model.toUpperCase());
  if (!omit.includes('budget')) parts.push(`B=${c.budget}`);
  if (!omit.includes('allocation')) parts.push(`${arm.volumes} vol × ${k}`);
  if (!omit.includes('strategy')) parts.push(c.strategy);
  if (!omit.includes('interpolation')) parts.push(c.interpolation === 'none' ? 'no interpolation' : c.interpolation);
  return parts.join(', ');
}

/**
 * The report's figures from study data: each point is an arm's mean Dice over its (seed, test case) units
 * with a seeded 95% bootstrap CI.
 */
import { bootstrapMeanCI, type Interval } from '../study/stats.js';
import type { ModelKind } from '../study/types.js';
import { armUnits, describeArm, type Arm, type StudyData } from './data.js';
import { groupsVarying } from './findings.js';
import { intervalChart, lineChart, type Series } from './svg.js';

export interface Figure {
  section: 'allocation' | 'strategy' | 'interpolation' | 'budget';
  svg: string;
}

export function armInterval(data: StudyData, arm: Arm): Interval | null {
  const values = [...armUnits(data, arm).values()];
  return values.length ? bootstrapMeanCI(values, { seed: 0 }) : null;
}

/** One colour per strategy and per interpolation method, the same in every chart. */
const COLORS: Record<string, string> = {
  random: '#d62728', 'fixed-interval': '#1f77b4', ual: '#2ca02c', 'ual-coreset': '#9467bd', 'ual-pooled': '#ff7f0e',
  none: '#444444', mci: '#17becf', sdf: '#e377c2',
};

const withResults = (data: StudyData) => data.arms.filter((a) => a.cells.size > 0);
const models = (arms: Arm[]) => [...new Set(arms.map((a) => a.config.model))].sort() as ModelKind[];

function seriesBy(data: StudyData, arms: Arm[], name: (a: Arm) => string, x: (a: Arm) => number): Series[] {
  const byName = new Map<string, Series>();
  for (const arm of arms) {
    const ci = armInterval(data, arm);
    if (!ci) continue;
    const key = name(arm);
    const s = byName.get(key) ?? { name: key, points: [], color: COLORS[key] };
    s.points.push({ x: x(arm), y: ci.estimate, low: ci.low, high: ci.high });
    byName.set(key, s);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Dice vs number of volumes, one chart per budget and model, one line per strategy (no interpolation). */
export function allocationFigures(data: StudyData): Figure[] {
  const arms = withResults(data).filter((a) => a.config.interpolation === 'none');
  const budgets = [...new Set(arms.map((a) => a.config.budget))].sort((a, b) => a - b);
  const figures: Figure[] = [];
  for (const budget of budgets) {
    for (const model of models(arms)) {
      const subset = arms.filter((a) => a.config.budget === budget && a.config.model === model);
      if (new Set(subset.map((a) => a.volumes)).size < 2) continue;
      figures.push({
        section: 'allocation',
        svg: lineChart({
          title: `${model.toUpperCase()}: budget ${budget} slices`, xLabel: 'volumes annotated (log scale)', yLabel: 'mean Dice', logX: true,
          series: seriesBy(data, subset, (a) => a.config.strategy, (a) => a.volumes),
        }),
      });
    }
  }
  return figures;
}

/** Strategies with 95% bootstrap CIs, one chart per budget, allocation and model with two or more strategies. */
export function strategyFigures(data: StudyData): Figure[] {
  return groupsVarying(data, 'strategy').map((group) => {
    const rows = group.map((arm) => ({ arm, ci: armInterval(data, arm)! })).filter((r) => r.ci)
      .sort((p, q) => (p.arm.config.strategy < q.arm.config.strategy ? -1 : 1));
    return {
      section: 'strategy' as const,
      svg: intervalChart({
        title: describeArm(group[0], ['strategy']), xLabel: 'mean Dice (95% bootstrap CI)',
        rows: rows.map(({ arm, ci }) => ({ label: arm.config.strategy, color: COLORS[arm.config.strategy], estimate: ci.estimate, low: ci.low, high: ci.high })),
      }),
    };
  });
}

/** Dice vs annotation density (slices per chosen volume), one line per interpolation, per model and strategy. */
export function interpolationFigures(data: StudyData): Figure[] {
  const arms = withResults(data);
  const figures: Figure[] = [];
  const keys = new Set(groupsVarying(data, 'interpolation').flat().map((a) => `${a.config.model}|${a.config.budget}|${a.config.strategy}`));
  for (const key of [...keys].sort()) {
    const [model, budget, strategy] = key.split('|');
    const subset = arms.filter((a) => a.config.model === model && String(a.config.budget) === budget && a.config.strategy === strategy);
    figures.push({
      section: 'interpolation',
      svg: lineChart({
        title: `${model.toUpperCase()}: budget ${budget}, ${strategy}`, xLabel: 'annotated slices per chosen volume', yLabel: 'mean Dice',
        series: seriesBy(data, subset, (a) => a.config.interpolation, (a) => a.slicesPerVolume),
      }),
    });
  }
  return figures;
}

/** Dice vs budget per model: at each budget the arm with the most volumes, one line per strategy. */
export function budgetFigures(data: StudyData): Figure[] {
  const arms = withResults(data).filter((a) => a.config.interpolation === 'none');
  const figures: Figure[] = [];
  for (const model of models(arms)) {
    const best = new Map<string, Arm>();
    for (const arm of arms.filter((a) => a.config.model === model)) {
      const key = `${arm.config.strategy}|${arm.config.budget}`;
      const current = best.get(key);
      if (!current || arm.volumes > current.volumes) best.set(key, arm);
    }
    const chosen = [...best.values()];
    // A line needs two budgets: one budget is one point, already in the allocation charts.
    if (new Set(chosen.map((a) => a.config.budget)).size < 2) continue;
    figures.push({
      section: 'budget',
      svg: lineChart({
        title: `${model.toUpperCase()}: Dice vs budget (most volumes per budget)`, xLabel: 'budget (annotated slices)', yLabel: 'mean Dice',
        series: seriesBy(data, chosen, (a) => a.config.strategy, (a) => a.config.budget),
      }),
    });
  }
  return figures;
}

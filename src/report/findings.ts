/**
 * The study's three findings (Zhang, Kramer & Mazurowski, MIDL 2025), tested on this dataset with paired
 * comparisons of arms over matched (seed, test case) units: Wilcoxon signed-rank p-values, Holm-corrected
 * within each finding, mean Dice difference with a bootstrap CI and Cohen's d_z.
 * 1. At a fixed budget, more volumes with fewer slices each beats fewer volumes with more slices (judged
 *    without interpolation).
 * 2. Unsupervised active learning (ual, ual-coreset) is not better than random or fixed-interval selection
 *    when every volume gets the same number of slices (ual-pooled, unequal allocation, is shown apart).
 * 3. Interpolating masks between annotated slices rarely improves the model.
 */
import { holmAdjust, mean, pairedEffect, wilcoxonSignedRank, type Interval } from '../study/stats.js';
import { describeArm, pairedUnits, type Arm, type StudyData } from './data.js';

export const ALPHA = 0.05;

export interface Comparison {
  /** What is tested, e.g. "2D, B=150: 150 vol × 1 vs 10 vol × 15". */
  label: string;
  a: Arm;
  b: Arm;
  n: number;
  meanA: number;
  meanB: number;
  /** Mean of a − b over matched units, with its bootstrap CI. */
  difference: Interval;
  cohensDz: number;
  p: number;
  pHolm: number;
  /** Significant after Holm (p < 0.05); the sign of `difference` says which way. */
  significant: boolean;
}

export type Verdict = 'holds' | 'does not hold' | 'partly holds' | 'inconclusive' | 'not tested';

export interface FindingResult {
  number: 1 | 2 | 3;
  claim: string;
  verdict: Verdict;
  /** Plain-language summary with the numbers. */
  summary: string;
  comparisons: Comparison[];
  /** Shown beside the finding, not counted in its verdict (ual-pooled). */
  caveats: Comparison[];
}

type Factor = 'budget' | 'allocation' | 'strategy' | 'interpolation' | 'model';

function groupKey(arm: Arm, except: Factor): string {
  const c = arm.config;
  const parts: Record<Factor, string> = {
    budget: String(c.budget), allocation: JSON.stringify(c.allocation), strategy: c.strategy, interpolation: c.interpolation, model: c.model,
  };
  return (Object.keys(parts) as Factor[]).filter((f) => f !== except).map((f) => parts[f]).join('|');
}

/** Arms with results, grouped so that members differ only in `factor`. */
export function groupsVarying(data: StudyData, factor: Factor): Arm[][] {
  const groups = new Map<string, Arm[]>();
  for (const arm of data.arms) {
    if (arm.cells.size === 0) continue;
    const key = groupKey(arm, factor);
    groups.set(key, [...(groups.get(key) ?? []), arm]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

function compare(data: StudyData, a: Arm, b: Arm, label: string, seed: number): Omit<Comparison, 'pHolm' | 'significant'> | null {
  const { x, y } = pairedUnits(data, a, b);
  if (x.length < 2) return null;
  const effect = pairedEffect(x, y, seed);
  return { label, a, b, n: x.length, meanA: mean(x), meanB: mean(y), difference: effect.ci, cohensDz: effect.cohensDz, p: wilcoxonSignedRank(x, y).p };
}

function withHolm(raw: Array<Omit<Comparison, 'pHolm' | 'significant'>>): Comparison[] {
  const adjusted = holmAdjust(raw.map((c) => c.p));
  return raw.map((c, i) => ({ ...c, pHolm: adjusted[i], significant: adjusted[i] < ALPHA }));
}

/** Paired comparisons of several pairs of arms, Holm-corrected together; pairs without enough matched units are left out. */
export function compareArms(data: StudyData, pairs: Array<{ a: Arm; b: Arm; label: string }>): Comparison[] {
  const raw: Array<Omit<Comparison, 'pHolm' | 'significant'>> = [];
  for (const { a, b, label } of pairs) {
    const c = compare(data, a, b, label, raw.length);
    if (c) raw.push(c);
  }
  return withHolm(raw);
}

const pct = (v: number) => `${(v * 100).toFixed(1)}`;
export const describeComparison = (c: Comparison) =>
  `${c.label}: Dice ${pct(c.meanA)} vs ${pct(c.meanB)} % (difference ${c.difference.estimate >= 0 ? '+' : ''}${pct(c.difference.estimate)} points, 95% CI ${pct(c.difference.low)} to ${pct(c.difference.high)}; d_z ${c.cohensDz.toFixed(2)}; n ${c.n}; Holm p ${formatP(c.pHolm)})`;

export function formatP(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

export function findingAllocation(data: StudyData): FindingResult {
  const raw: Array<Omit<Comparison, 'pHolm' | 'significant'>> = [];
  // Allocation is judged on plain annotations; how interpolation changes it is finding 3's question.
  for (const group of groupsVarying(data, 'allocation').filter((g) => g[0].config.interpolation === 'none')) {
    const byVolumes = [...group].sort((p, q) => q.volumes - p.volumes);
    const most = byVolumes[0];
    for (const other of byVolumes.slice(1)) {
      if (other.volumes === most.volumes) continue;
      const c = compare(data, most, other, `${describeArm(most, ['allocation'])}: ${describeArm(most, ['model', 'budget', 'strategy', 'interpolation'])} vs ${describeArm(other, ['model', 'budget', 'strategy', 'interpolation'])}`, raw.length);
      if (c) raw.push(c);
    }
  }
  const comparisons = withHolm(raw);
  const more = comparisons.filter((c) => c.significant && c.difference.estimate > 0).length;
  const fewer = comparisons.filter((c) => c.significant && c.difference.estimate < 0).length;
  const verdict: Verdict = comparisons.length === 0 ? 'not tested' : fewer > more ? 'does not hold' : more > 0 && fewer === 0 ? 'holds' : more > 0 ? 'partly holds' : 'inconclusive';
  const better = comparisons.filter((c) => c.difference.estimate > 0).length;
  return {
    number: 1, claim: 'At a fixed budget, annotating more volumes with fewer slices each beats fewer volumes with more slices.', verdict,
    summary: comparisons.length === 0 ? 'No budget had two allocations with results.'
      : `The allocation with the most volumes had the higher mean Dice in ${better} of ${comparisons.length} comparisons; significantly better in ${more}, significantly worse in ${fewer} (Wilcoxon signed-rank, Holm-corrected, α = ${ALPHA}).`,
    comparisons, caveats: [],
  };
}

const UAL_EQUAL = ['ual', 'ual-coreset'];
const BASELINES = ['random', 'fixed-interval'];

export function findingStrategy(data: StudyData): FindingResult {
  const raw: Array<Omit<Comparison, 'pHolm' | 'significant'>> = [];
  const caveatRaw: Array<Omit<Comparison, 'pHolm' | 'significant'>> = [];
  for (const group of groupsVarying(data, 'strategy')) {
    const baselines = group.filter((a) => BASELINES.includes(a.config.strategy));
    for (const arm of group) {
      const target = UAL_EQUAL.includes(arm.config.strategy) ? raw : arm.config.strategy === 'ual-pooled' ? caveatRaw : null;
      if (!target) continue;
      for (const base of baselines) {
        const c = compare(data, arm, base, `${describeArm(arm, ['strategy'])}: ${arm.config.strategy} vs ${base.config.strategy}`, raw.length + caveatRaw.length);
        if (c) target.push(c);
      }
    }
  }
  const comparisons = withHolm(raw);
  const caveats = withHolm(caveatRaw);
  const ualBetter = comparisons.filter((c) => c.significant && c.difference.estimate > 0).length;
  const ualWorse = comparisons.filter((c) => c.significant && c.difference.estimate < 0).length;
  const verdict: Verdict = comparisons.length === 0 ? 'not tested' : ualBetter === 0 ? 'holds' : ualBetter * 2 <= comparisons.length ? 'partly holds' : 'does not hold';
  return {
    number: 2, claim: 'Unsupervised active learning (ual, ual-coreset) is not better than random or fixed-interval selection when every volume gets the same number of slices.', verdict,
    summary: comparisons.length === 0 ? 'No allocation had both a UAL strategy and random or fixed-interval selection with results.'
      : `UAL was significantly better than a simple strategy in ${ualBetter} of ${comparisons.length} comparisons and significantly worse in ${ualWorse}.`,
    comparisons, caveats,
  };
}

export function findingInterpolation(data: StudyData): FindingResult {
  const raw: Array<Omit<Comparison, 'pHolm' | 'significant'>> = [];
  for (const group of groupsVarying(data, 'interpolation')) {
    const none = group.find((a) => a.config.interpolation === 'none');
    if (!none) continue;
    for (const arm of group) {
      if (arm === none) continue;
      const c = compare(data, arm, none, `${describeArm(arm, ['interpolation'])}: ${arm.config.interpolation} vs none`, raw.length);
      if (c) raw.push(c);
    }
  }
  const comparisons = withHolm(raw);
  const improved = comparisons.filter((c) => c.significant && c.difference.estimate > 0);
  const share = comparisons.length ? improved.length / comparisons.length : 0;
  const verdict: Verdict = comparisons.length === 0 ? 'not tested' : share <= 0.25 ? 'holds' : share > 0.5 ? 'does not hold' : 'partly holds';
  return {
    number: 3, claim: 'Interpolating masks between annotated slices rarely improves the model.', verdict,
    summary: comparisons.length === 0 ? 'No configuration had results both with and without interpolation.'
      : `Interpolation significantly improved Dice in ${improved.length} of ${comparisons.length} comparisons${improved.length ? ` (${improved.map((c) => c.label.split(':')[0] + ' ' + c.a.config.interpolation).join('; ')})` : ''} and significantly lowered it in ${comparisons.filter((c) => c.significant && c.difference.estimate < 0).length}.`,
    comparisons, caveats: [],
  };
}

export function analyseFindings(data: StudyData): FindingResult[] {
  return [findingAllocation(data), findingStrategy(data), findingInterpolation(data)];
}

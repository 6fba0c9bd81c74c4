/**
 * Plain-language advice for this dataset: which allocation, strategy and interpolation to use, per model,
 * read off the arms' mean Dice and the findings' paired tests.
 */
import { describeArm, type Arm, type StudyData } from './data.js';
import { groupsVarying, type FindingResult } from './findings.js';
import { armInterval } from './plots.js';

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function bestArm(data: StudyData, arms: Arm[]): { arm: Arm; dice: number } | null {
  let best: { arm: Arm; dice: number } | null = null;
  for (const arm of arms) {
    const ci = armInterval(data, arm);
    if (ci && (!best || ci.estimate > best.dice)) best = { arm, dice: ci.estimate };
  }
  return best;
}

export function recommendations(data: StudyData, findings: FindingResult[]): string[] {
  const out: string[] = [];
  const [allocation, strategy, interpolation] = findings;

  // Allocation: the best allocation in each (budget, model) group.
  const allocationGroups = groupsVarying(data, 'allocation').filter((g) => g[0].config.interpolation === 'none');
  if (allocationGroups.length) {
    const winners = allocationGroups.map((g) => ({ group: g, best: bestArm(data, g)! })).filter((w) => w.best);
    const mostWins = winners.filter((w) => w.best.arm.volumes === Math.max(...w.group.map((a) => a.volumes))).length;
    const details = winners.map((w) => `${describeArm(w.best.arm, ['interpolation'])} (Dice ${pct(w.best.dice)})`).join('; ');
    out.push(mostWins * 2 > winners.length
      ? `Allocation: spread the budget over as many volumes as it allows (one or a few slices per volume): the allocation with the most volumes was best in ${mostWins} of ${winners.length} settings (${details}). Finding 1 ${allocation.verdict}.`
      : `Allocation: the allocation with the most volumes was best in only ${mostWins} of ${winners.length} settings; best here: ${details}. Finding 1 ${allocation.verdict}.`);
  } else {
    out.push('Allocation: this study did not compare allocations at a fixed budget.');
  }

  // Strategy: prefer fixed-interval (simple, no features) unless another strategy is significantly better.
  const strategyGroups = groupsVarying(data, 'strategy');
  if (strategyGroups.length) {
    const significantUal = strategy.comparisons.filter((c) => c.significant && c.difference.estimate > 0);
    const pooledBetter = strategy.caveats.filter((c) => c.significant && c.difference.estimate > 0);
    const bests = strategyGroups.map((g) => bestArm(data, g)).filter((b): b is { arm: Arm; dice: number } => b !== null);
    const bestNames = bests.map((b) => `${b.arm.config.strategy} for ${describeArm(b.arm, ['strategy', 'interpolation'])} (Dice ${pct(b.dice)})`).join('; ');
    out.push(significantUal.length === 0 && pooledBetter.length === 0
      ? `Strategy: use fixed-interval selection (or random): no active-learning strategy was significantly better. Highest mean Dice: ${bestNames}. Finding 2 ${strategy.verdict}.`
      : `Strategy: ${[...significantUal, ...pooledBetter].map((c) => `${c.a.config.strategy} beat ${c.b.config.strategy} (${c.label.split(':')[0]})`).join('; ')} significantly; highest mean Dice: ${bestNames}. Finding 2 ${strategy.verdict}.`);
  } else {
    out.push('Strategy: this study did not compare selection strategies.');
  }

  // Interpolation: none, unless it significantly helped somewhere.
  if (interpolation.comparisons.length) {
    const helped = interpolation.comparisons.filter((c) => c.significant && c.difference.estimate > 0);
    out.push(helped.length === 0
      ? `Interpolation: train on the annotated slices alone; interpolating masks did not significantly improve Dice in any of ${interpolation.comparisons.length} comparisons. Finding 3 ${interpolation.verdict}.`
      : `Interpolation: helps only where the tests show it: ${helped.map((c) => `${c.a.config.interpolation} for ${c.label.split(':')[0]} (+${(c.difference.estimate * 100).toFixed(1)} points)`).join('; ')}; elsewhere train on the annotated slices alone. Finding 3 ${interpolation.verdict}.`);
  } else {
    out.push('Interpolation: this study did not compare interpolation methods.');
  }
  return out;
}

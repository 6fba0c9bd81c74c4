/**
 * Plain-language advice for this dataset: which allocation, strategy and interpolation to use, per model,
 * read off the arms' mean Dice and paired tests (the findings', or the strategies' against the best one).
 */
import { describeArm, type Arm, type StudyData } from './data.js';
import { compareArms, groupsVarying, type FindingResult } from './findings.js';
import { armInterval } from './plots.js';

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

type Ranked = { arm: Arm; dice: number };

/** Arms with results, highest mean Dice first. */
function rankArms(data: StudyData, arms: Arm[]): Ranked[] {
  return arms.map((arm) => ({ arm, dice: armInterval(data, arm)?.estimate }))
    .filter((r): r is Ranked => r.dice !== undefined)
    .sort((p, q) => q.dice - p.dice);
}

const bestArm = (data: StudyData, arms: Arm[]): Ranked | null => rankArms(data, arms)[0] ?? null;

/**
 * The advice for arms that differ only in strategy: the one with the highest mean Dice, or "either" it or
 * any strategy not significantly below it (paired tests against the best, Holm-corrected).
 */
function strategyChoice(data: StudyData, group: Arm[]): string | null {
  const ranked = rankArms(data, group);
  if (ranked.length === 0) return null;
  const [best, ...rest] = ranked;
  const tests = compareArms(data, rest.map((r) => ({ a: best.arm, b: r.arm, label: `${best.arm.config.strategy} vs ${r.arm.config.strategy}` })));
  const below = new Set(tests.filter((c) => c.significant && c.difference.estimate > 0).map((c) => c.b));
  const named = (r: Ranked) => `${r.arm.config.strategy} (Dice ${pct(r.dice)})`;
  const tied = ranked.filter((r) => !below.has(r.arm));
  const worse = ranked.filter((r) => below.has(r.arm));
  const names = tied.map(named);
  const choice = tied.length === 1 ? `use ${names[0]}`
    : `${tied.length === 2 ? 'either' : 'any of'} ${names.slice(0, -1).join(', ')} or ${names.at(-1)}: not significantly different`;
  return `${describeArm(best.arm, ['strategy'])}: ${choice}${worse.length ? `; significantly worse: ${worse.map(named).join(', ')}` : ''}.`;
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

  // Strategy: what the paired tests measured in each setting, not a fixed preference.
  const choices = groupsVarying(data, 'strategy').map((g) => strategyChoice(data, g)).filter((c): c is string => c !== null);
  out.push(choices.length
    ? `Strategy: ${choices.join(' ')} Finding 2 ${strategy.verdict}.`
    : 'Strategy: this study did not compare selection strategies.');

  // Interpolation: none, unless it significantly helped somewhere.
  if (interpolation.comparisons.length) {
    const helped = interpolation.comparisons.filter((c) => c.significant && c.difference.estimate > 0);
    const gains = helped.map((c) => `${c.a.config.interpolation} for ${c.label.split(':')[0]} (+${(c.difference.estimate * 100).toFixed(1)} points)`).join('; ');
    out.push(helped.length === 0
      ? `Interpolation: train on the annotated slices alone; interpolating masks did not significantly improve Dice in any of ${interpolation.comparisons.length} comparisons. Finding 3 ${interpolation.verdict}.`
      : helped.length === interpolation.comparisons.length
        ? `Interpolation: interpolate the masks; it significantly improved Dice in every comparison: ${gains}. Finding 3 ${interpolation.verdict}.`
        : `Interpolation: helps only where the tests show it: ${gains}; elsewhere train on the annotated slices alone. Finding 3 ${interpolation.verdict}.`);
  } else {
    out.push('Interpolation: this study did not compare interpolation methods.');
  }
  return out;
}

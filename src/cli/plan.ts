import type { Command } from 'commander';
import { readAnnotatedSlices } from '../annotate/import/common.js';
import { resolve } from 'node:path';
import { UserError } from '../io/errors.js';
import { parseAxisChoice } from '../io/geometry.js';
import type { AllocationRule, VolumeSelection } from '../plan/allocation.js';
import { PLAN_DEFAULTS, makePlan, summarizePlan, writePlan } from '../plan/plan.js';
import { STRATEGY_NAMES, getStrategy } from '../plan/strategies/registry.js';
import type { Plan } from '../plan/types.js';
import { progressReporter } from './common.js';

interface PlanCliOptions {
  budget?: string;
  hours?: string;
  secondsPerSlice?: string;
  volumes?: string;
  slicesPerVolume?: string;
  density?: string;
  strategy: string;
  volumeSelection: string;
  range: string;
  seed: string;
  axis: string;
  out?: string;
  strict: boolean;
  progress: boolean;
  excludeAnnotated?: string;
}

function integer(value: string, option: string): number {
  const n = Number(value);
  if (!/^\s*[-+]?\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new UserError(`must be an integer, got "${value}"`, option);
  return n;
}

function positiveInteger(value: string, option: string): number {
  const n = integer(value, option);
  if (n <= 0) throw new UserError(`must be a positive integer, got ${n}`, option);
  return n;
}

function positiveNumber(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UserError(`must be a positive number, got "${value}"`, option);
  return n;
}

/** The budget from --budget, or from --hours × 3600 / --seconds-per-slice (rounded down). */
function resolveBudget(opts: PlanCliOptions): { budget: number; secondsPerSlice?: number } {
  const secondsPerSlice = opts.secondsPerSlice !== undefined ? positiveNumber(opts.secondsPerSlice, '--seconds-per-slice') : undefined;
  if (opts.budget !== undefined && opts.hours !== undefined) throw new UserError('give either --budget or --hours, not both', '--hours');
  if (opts.hours !== undefined) {
    const hours = positiveNumber(opts.hours, '--hours');
    if (secondsPerSlice === undefined) throw new UserError('needs --seconds-per-slice to turn hours into slices', '--hours');
    const budget = Math.floor((hours * 3600) / secondsPerSlice);
    if (budget <= 0) throw new UserError(`${hours} h at ${secondsPerSlice} s per slice is less than one slice`, '--hours');
    return { budget, secondsPerSlice };
  }
  if (opts.budget === undefined) throw new UserError('required (or --hours with --seconds-per-slice)', '--budget');
  return { budget: positiveInteger(opts.budget, '--budget'), secondsPerSlice };
}

function resolveAllocation(opts: PlanCliOptions): AllocationRule {
  const given = [
    opts.volumes !== undefined && '--volumes',
    opts.slicesPerVolume !== undefined && '--slices-per-volume',
    opts.density !== undefined && '--density',
  ].filter((x): x is string => Boolean(x));
  if (given.length > 1) throw new UserError(`give at most one allocation option, got ${given.join(' and ')}`, given[1]);
  if (opts.volumes !== undefined) return { kind: 'volumes', volumes: positiveInteger(opts.volumes, '--volumes') };
  if (opts.slicesPerVolume !== undefined) return { kind: 'slices-per-volume', slicesPerVolume: positiveInteger(opts.slicesPerVolume, '--slices-per-volume') };
  if (opts.density !== undefined) {
    const density = Number(opts.density);
    if (opts.density.trim() === '' || !(density > 0 && density <= 1)) throw new UserError(`must be a number in (0, 1], got "${opts.density}"`, '--density');
    return { kind: 'density', density };
  }
  return { kind: 'spread' };
}

function timestamp(date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

export function formatSummary(plan: Plan, secondsPerSlice?: number): string {
  const s = summarizePlan(plan, secondsPerSlice);
  const options = plan.options as { strategy: string; allocation: AllocationRule };
  const lines = [
    `plan: ${s.volumes} volumes, ${s.slices} slices, mean density ${(100 * s.meanDensity).toFixed(1)}% of each planned volume's slices`,
    `      strategy ${options.strategy}, allocation ${options.allocation.kind}, seed ${plan.seed}`,
  ];
  if (s.estimatedHours !== undefined) lines.push(`estimated annotation time: ${s.estimatedHours.toFixed(1)} h at ${secondsPerSlice} s per slice`);
  if (s.skipped > 0) lines.push(`left out ${s.skipped} unreadable case(s): ${plan.skipped!.map((c) => c.id).join(', ')}`);
  return lines.join('\n');
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('choose which slices of which volumes to annotate for a budget; writes plan.json and plan.csv')
    .argument('<dataset>', 'dataset folder (imagesTr/, images/, volume files) or one volume')
    .option('--budget <slices>', 'slices to annotate in total (or give --hours with --seconds-per-slice)')
    .option('--hours <h>', 'annotation time instead of --budget: budget = ⌊h × 3600 / seconds-per-slice⌋')
    .option('--seconds-per-slice <t>', 'annotation time per slice; enables the hours estimate in the summary')
    .option('--volumes <s>', 'allocation: s volumes, budget/s slices each (default: spread over all volumes)')
    .option('--slices-per-volume <k>', 'allocation: ⌊budget/k⌋ volumes with k slices each (remainder to one more)')
    .option('--density <rho>', 'allocation: round(ρ × slice count) per volume, volumes added until the budget is spent; ρ in (0, 1]')
    .option('--strategy <name>', `slice selection: ${STRATEGY_NAMES.join(', ')}`, PLAN_DEFAULTS.strategy)
    .option('--volume-selection <how>', 'which volumes: random (seeded) or diverse (k-center on volume features)', PLAN_DEFAULTS.volumeSelection)
    .option('--range <range>', 'fixed-interval range: body (slices with non-background intensity) or full', PLAN_DEFAULTS.range)
    .option('--seed <n>', 'random seed', String(PLAN_DEFAULTS.seed))
    .option('--axis <axis>', 'slicing axis: axial, coronal, sagittal, 0, 1 or 2', String(PLAN_DEFAULTS.axis))
    .option('--out <dir>', 'output folder (default: ./plan-<timestamp>)')
    .option('--exclude-annotated <sparse-dataset>', 'sparse dataset (e.g. from slicewise import) whose annotated slices are never selected again; the budget goes to the rest')
    .option('--strict', 'stop at the first unreadable case instead of leaving it out', false)
    .option('--no-progress', 'no progress lines on stderr')
    .action(async (datasetPath: string, opts: PlanCliOptions) => {
      // Every option is checked before anything is read or written.
      const { budget, secondsPerSlice } = resolveBudget(opts);
      const allocation = resolveAllocation(opts);
      const strategy = getStrategy(opts.strategy).name;
      if (opts.range !== 'body' && opts.range !== 'full') throw new UserError(`must be body or full, got "${opts.range}"`, '--range');
      if (opts.volumeSelection !== 'random' && opts.volumeSelection !== 'diverse') {
        throw new UserError(`must be random or diverse, got "${opts.volumeSelection}"`, '--volume-selection');
      }
      const plan = await makePlan(datasetPath, {
        budget, allocation, strategy, secondsPerSlice,
        seed: integer(opts.seed, '--seed'),
        axis: parseAxisChoice(opts.axis),
        range: opts.range,
        volumeSelection: opts.volumeSelection as VolumeSelection,
        strict: opts.strict,
        excludeAnnotated: opts.excludeAnnotated !== undefined ? await readAnnotatedSlices(opts.excludeAnnotated, parseAxisChoice(opts.axis)) : undefined,
        onWarning: (message) => process.stderr.write(`slicewise: warning: ${message}\n`),
        onProgress: opts.progress ? progressReporter('reading') : undefined,
      });
      const outDir = resolve(opts.out ?? `plan-${timestamp()}`);
      const written = await writePlan(plan, outDir);
      process.stdout.write(`${formatSummary(plan, secondsPerSlice)}\nwrote ${written.json}\n      ${written.csv}\n`);
    });
}

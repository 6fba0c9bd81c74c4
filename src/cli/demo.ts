import type { Command } from 'commander';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { overlapOnSlices } from '../annotate/interpolation-quality.js';
import { interpolateSparse } from '../annotate/interpolate.js';
import type { InterpolationMethodName } from '../annotate/interpolation/registry.js';
import { foregroundLabels, sparseFromPlan } from '../annotate/sparse.js';
import { discoverDataset, loadCase } from '../io/dataset.js';
import { UserError } from '../io/errors.js';
import { generatePhantomDataset } from '../io/phantom.js';
import { PLAN_DEFAULTS, makePlan, writePlan } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { formatSummary } from './plan.js';

const DEMO_CASES = 6;
const SLICES_PER_VOLUME = 5;
const DEMO_METHODS: InterpolationMethodName[] = ['nearest', 'sdf', 'mci'];

/**
 * The phantom knows its full labels, so the demo can "annotate" the planned slices (keep only them, as a
 * study does) and show how well each interpolation method fills the slices in between.
 */
async function interpolationDice(datasetDir: string, plan: Plan): Promise<Map<InterpolationMethodName, { dice: number; slices: number }>> {
  const dataset = await discoverDataset(datasetDir);
  const labelMap = dataset.labels!;
  const labels = foregroundLabels(labelMap);
  const totals = new Map(DEMO_METHODS.map((m) => [m, { intersection: 0, sum: 0, slices: 0 }]));
  for (const planned of plan.cases) {
    const { label } = await loadCase(dataset, dataset.cases.find((c) => c.id === planned.id)!);
    const sparse = sparseFromPlan(label!, planned, { labelMap });
    for (const method of DEMO_METHODS) {
      const filled = await interpolateSparse(sparse, { method });
      const total = totals.get(method)!;
      total.slices += filled.interpolatedSlices.length;
      for (const o of overlapOnSlices(filled.sparse.labels, label!, planned.axis, filled.interpolatedSlices, labels).values()) {
        total.intersection += o.intersection;
        total.sum += o.predicted + o.truth;
      }
    }
  }
  return new Map(DEMO_METHODS.map((m) => {
    const t = totals.get(m)!;
    return [m, { dice: t.sum === 0 ? Number.NaN : (2 * t.intersection) / t.sum, slices: t.slices }];
  }));
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job on SYNTHETIC data: generate a small phantom dataset and plan its annotation')
    .option('--out <dir>', 'folder for the phantom dataset and the plan (default: a new temporary folder)')
    .option('--seed <n>', 'seed for the phantom and the plan', '0')
    .action(async (opts: { out?: string; seed: string }) => {
      if (!/^\d+$/.test(opts.seed)) throw new UserError(`must be a non-negative integer, got "${opts.seed}"`, '--seed');
      const seed = Number(opts.seed);
      const out = opts.out ? resolve(opts.out) : await mkdtemp(join(tmpdir(), 'slicewise-demo-'));
      const say = (line = '') => process.stdout.write(line + '\n');
      const datasetDir = join(out, 'phantom-dataset');
      const planDir = join(out, 'plan');
      say('slicewise demo: SYNTHETIC data only (a generated phantom, not patient scans).');
      say();
      const phantom = await generatePhantomDataset(datasetDir, { seed, cases: DEMO_CASES });
      say(`1. Generated a synthetic phantom dataset: ${phantom.caseIds.length} volumes (48×48×28–44 voxels, 1.5×1.5×3 mm),`);
      say('   ellipsoid "organs" with soft edges, intensity bias and noise; labels background=0, organ_a=1, organ_b=2.');
      say(`   ${datasetDir}`);
      const budget = DEMO_CASES * SLICES_PER_VOLUME;
      const strategy = PLAN_DEFAULTS.strategy;
      const plan = await makePlan(datasetDir, { budget, strategy, seed, secondsPerSlice: 60 });
      const written = await writePlan(plan, planDir);
      say();
      say(`2. Planned the annotation: slicewise plan ${datasetDir} --budget ${budget} --strategy ${strategy} --seconds-per-slice 60 --seed ${seed} --out ${planDir}`);
      for (const line of formatSummary(plan, 60).split('\n')) say(`   ${line}`);
      for (const c of plan.cases) say(`   ${c.id}: annotate slices ${c.slices.map((s) => s + 1).join(', ')} of ${c.sliceCount} (1-based, axis ${c.axis})`);
      say();
      say('3. Simulated the annotation (kept only the planned slices of the phantom\'s labels) and filled the slices');
      say('   between them; Dice against the phantom\'s full labels on the filled slices, both organs pooled:');
      for (const [method, r] of await interpolationDice(datasetDir, plan)) {
        say(`   ${method.padEnd(8)} Dice ${r.dice.toFixed(3)} over ${r.slices} filled slices`);
      }
      say('   On your data: slicewise import <dataset> --from plan --plan plan.json, then slicewise interpolate.');
      say();
      say('Files:');
      say(`   plan:    ${written.json}`);
      say(`            ${written.csv}`);
      say(`   dataset: ${datasetDir} (SYNTHETIC)`);
      say();
      say(`Next: try another strategy, e.g. slicewise plan ${datasetDir} --budget ${budget} --strategy ual --out ${join(out, 'plan-ual')}`);
    });
}

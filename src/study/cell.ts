/**
 * The real cell executor: plan on the training split → simulated annotation (keep only the planned slices
 * of the dense labels) → optional interpolation → train → predict the test split → evaluate against the
 * dense labels. Runs in a child process or a queue processor, never in the coordinator.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { discoverDataset, loadCase } from '../io/dataset.js';
import { UserError } from '../io/errors.js';
import { caseMetrics } from '../evaluate/metrics.js';
import { makePlan } from '../plan/plan.js';
import type { AllocationRule } from '../plan/allocation.js';
import { readChannels } from '../train/channels.js';
import { loadRun, predictVolume } from '../train/predict.js';
import { train, type TrainOptions } from '../train/train.js';
import type { CaseResult, CellExecutor } from './types.js';

/**
 * Study-sized training schedules (issue 6: at most 2 min per 2D cell and 5 min per 3D cell on hippocampus
 * on 2 cores). `training: { schedule: 'study' }` selects them; explicit fields override.
 */
export const STUDY_SCHEDULES: Record<'2d' | '3d', Partial<TrainOptions>> = {
  '2d': { steps: 250, batchSize: 16, validationFraction: 0 },
  '3d': { steps: 150, batchSize: 2, validationFraction: 0 },
};

function scheduleOf(model: '2d' | '3d', training: Record<string, unknown>): Partial<TrainOptions> {
  const base = training.schedule === 'study' || training.schedule === undefined ? STUDY_SCHEDULES[model] : {};
  const { schedule: _schedule, ...overrides } = training;
  return { ...base, ...(overrides as Partial<TrainOptions>) };
}

export const executeCell: CellExecutor = async (cell, context) => {
  const timings: Record<string, number> = {};
  const time = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      timings[phase] = Number(((performance.now() - t0) / 1000).toFixed(3));
    }
  };
  const { config } = cell;
  const allocation: AllocationRule = config.allocation;
  context.onProgress(0, 'planning');
  const plan = await time('plan', () => makePlan(context.datasetRoot, {
    budget: config.budget, allocation, strategy: config.strategy, seed: config.seed, axis: context.axis, caseIds: context.split.train,
  }));
  const runDir = join(context.studyDir, 'cells', cell.id, 'run');
  const schedule = scheduleOf(config.model, config.training);
  const trained = await time('train', () => train(context.datasetRoot, runDir, {
    ...schedule,
    model: config.model, plan, interpolation: config.interpolation, seed: config.seed, threads: context.threads,
    caseIds: context.split.train, axis: context.axis,
    onProgress: (p) => {
      if (p.phase === 'training' && (p.step % 10 === 0 || p.step === p.steps)) {
        context.onProgress(0.05 + 0.8 * (p.step / p.steps), `step ${p.step}/${p.steps} loss ${p.loss?.toFixed(3)}`);
      }
    },
  }));
  const dataset = await discoverDataset(context.datasetRoot);
  const run = await loadRun(runDir);
  const labels = run.config.labelValues.filter((v) => v !== 0);
  const cases: CaseResult[] = [];
  let predictSeconds = 0, evaluateSeconds = 0;
  const byId = new Map(dataset.cases.map((c) => [c.id, c]));
  for (const [i, id] of context.split.test.entries()) {
    const c = byId.get(id);
    if (!c?.labelPath) throw new UserError(`test case ${id} has no label`, context.datasetRoot);
    const { image, label } = await loadCase(dataset, c);
    const channels = await readChannels(c, image);
    const t0 = performance.now();
    const prediction = await predictVolume(run, channels);
    const t1 = performance.now();
    const metrics = caseMetrics({ data: prediction.data, shape: prediction.shape, spacing: prediction.spacing }, { data: label!.data }, labels, { ignoreValue: dataset.ignoreValue });
    evaluateSeconds += (performance.now() - t1) / 1000;
    predictSeconds += (t1 - t0) / 1000;
    cases.push({ caseId: id, labels: Object.fromEntries(metrics.map((m) => [String(m.label), { dice: m.dice, iou: m.iou, hd95: m.hd95 }])) });
    context.onProgress(0.85 + 0.15 * ((i + 1) / context.split.test.length), `predicted ${i + 1}/${context.split.test.length}`);
  }
  timings.predict = Number(predictSeconds.toFixed(3));
  timings.evaluate = Number(evaluateSeconds.toFixed(3));
  // The trained weights are not kept: a study keeps plans, configurations and results.
  await rm(join(context.studyDir, 'cells', cell.id), { recursive: true, force: true });
  return {
    plan, timings, cases,
    extra: { steps: trained.steps, finalLoss: trained.finalLoss, trainSeconds: trained.seconds, annotatedSlices: plan.cases.reduce((n, pc) => n + pc.slices.length, 0) },
  };
};

/**
 * Training orchestration (TypeScript side): cases → batches → engine steps, validation Dice on held-out
 * annotated training cases, the best checkpoint kept, optional early stop, progress and a run folder:
 *   config.json   everything needed to rebuild the model and repeat the run
 *   train.log     one line per validation
 *   model.pt      the best checkpoint (weights, configuration, optimizer state)
 *   metrics.json  steps, wall time, the best validation step and its Dice, validation and loss curves
 * The run is written to `<run>.partial-<pid>` and renamed when complete; a failed run leaves nothing.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { discoverDataset } from '../io/dataset.js';
import { UserError } from '../io/errors.js';
import { removeOnInterrupt } from '../io/interrupt.js';
import type { AxisChoice } from '../io/geometry.js';
import type { Plan } from '../plan/types.js';
import { Random } from '../util/random.js';
import { VERSION } from '../version.js';
import { DEFAULT_AUGMENT, IGNORE } from './augment.js';
import { buildTrainingCases, checkPlanCases, type InterpolationChoice } from './cases.js';
import { TRAIN_DEFAULTS, type TrainConfig } from './config.js';
import { UNetModel, checkDevice, setThreads } from './engine.js';
import { plan2DCanvas, plan3DPatch, sample2DBatch, sample3DBatch, type TrainingCase } from './samples.js';
import { predictTrainingCase } from './predict.js';

export interface TrainOptions {
  model: '2d' | '3d';
  /** Replace a run folder that exists and is not empty (only once the new run is complete). */
  overwrite?: boolean;
  /** Cases to train on (default: every labelled case of the dataset). */
  caseIds?: string[];
  plan?: Plan | null;
  /** The plan's file, named in errors about the plan. */
  planPath?: string | null;
  interpolation?: InterpolationChoice;
  interpolatedWeight?: number;
  steps?: number;
  /** Instead of `steps`: passes over the training slices (2D; annotated plus used interpolated) or cases (3D). */
  epochs?: number;
  batchSize?: number;
  seed?: number;
  optimizer?: 'sgd' | 'adam';
  learningRate?: number;
  depth?: number;
  baseWidth?: number;
  augment?: boolean;
  /** Fraction of training cases held out for validation (0 disables; default 0.1 when ≥ 10 cases). */
  validationFraction?: number;
  validateEvery?: number;
  /** Stop after this many validations without improvement (0: never). */
  earlyStopPatience?: number;
  threads?: number;
  device?: 'cpu' | 'cuda';
  /** Slicing axis without a plan (default axial); with a plan the plan's axis is used and this must agree. */
  axis?: AxisChoice;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainProgress {
  phase: 'loading' | 'training';
  step: number;
  steps: number;
  loss: number | null;
  validationDice: number | null;
  etaSeconds: number | null;
}

export interface TrainResult {
  runDir: string;
  config: TrainConfig;
  steps: number;
  seconds: number;
  /** Step of the kept checkpoint: the best validation, or the last validation without validation cases. */
  bestStep: number;
  bestValidationDice: number | null;
  finalLoss: number;
}

/** Mean foreground Dice of class predictions against labels, over supervised voxels only. */
export function meanForegroundDice(pred: Uint8Array, labels: Uint8Array, classes: number): number {
  const inter = new Float64Array(classes), sp = new Float64Array(classes), sl = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === IGNORE) continue;
    const p = pred[i];
    sp[p]++; sl[l]++;
    if (p === l) inter[l]++;
  }
  let sum = 0, n = 0;
  for (let k = 1; k < classes; k++) {
    if (sp[k] + sl[k] === 0) continue;
    sum += (2 * inter[k]) / (sp[k] + sl[k]);
    n++;
  }
  return n === 0 ? 1 : sum / n;
}

function splitValidation(ids: string[], fraction: number, rng: Random): { train: string[]; validation: string[] } {
  if (fraction <= 0 || ids.length < 4) return { train: ids, validation: [] };
  const n = Math.max(1, Math.round(ids.length * fraction));
  const shuffled = rng.shuffle(ids);
  return { train: shuffled.slice(n).sort(), validation: shuffled.slice(0, n).sort() };
}

/** The slicing axis a plan was made along: its recorded option, else (a hand-written plan) its cases' shared voxel axis. */
export function planAxis(plan: Plan, planPath?: string | null): AxisChoice {
  const recorded = plan.options.axis;
  if (recorded === 'axial' || recorded === 'coronal' || recorded === 'sagittal' || recorded === 0 || recorded === 1 || recorded === 2) return recorded;
  const voxelAxes = new Set(plan.cases.map((c) => c.axis));
  if (voxelAxes.size === 1) return [...voxelAxes][0];
  throw new UserError('records no slicing axis (options.axis) and its cases use different voxel axes', planPath ?? 'plan');
}

/** With a plan its axis wins (prediction must slice as training did); an explicit axis that disagrees is an error. */
function trainingAxis(plan: Plan | null, requested: AxisChoice | undefined, planPath: string | null | undefined): AxisChoice {
  if (!plan) return requested ?? 'axial';
  const axis = planAxis(plan, planPath);
  if (requested !== undefined && String(requested) !== String(axis)) {
    throw new UserError(`${requested} disagrees with the plan's slicing axis ${axis} (${planPath ?? 'plan'}); leave --axis out to train along the plan's axis`, '--axis');
  }
  return axis;
}

/** Steps for `epochs` passes over what batches are drawn from: supervised slices (2D) or cases (3D). */
export function stepsForEpochs(model: '2d' | '3d', cases: readonly TrainingCase[], epochs: number, batchSize: number): number {
  const units = model === '2d' ? cases.reduce((n, c) => n + c.supervisedSlices.length, 0) : cases.length;
  return Math.max(1, Math.ceil((epochs * units) / batchSize));
}

export async function train(datasetPath: string, runDir: string, options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  if (options.steps !== undefined && options.epochs !== undefined) throw new UserError('give --steps or --epochs, not both', '--epochs');
  const device = options.device ?? 'cpu';
  checkDevice(device);
  if (!options.overwrite && (await readdir(runDir).catch(() => [])).length > 0) {
    throw new UserError('already exists and is not empty; pass --overwrite to replace it (only once the new run is complete)', resolve(runDir));
  }
  const dataset = await discoverDataset(datasetPath);
  const defaults = TRAIN_DEFAULTS[options.model];
  const seed = options.seed ?? 0;
  const rng = new Random(seed);
  const plan = options.plan ?? null;
  // Plan errors first, naming the plan file, before anything is filtered or loaded.
  if (plan) checkPlanCases(plan, dataset, options.planPath);
  const axis = trainingAxis(plan, options.axis, options.planPath);
  const labelled = dataset.cases.filter((c) => c.labelPath).map((c) => c.id);
  const requested = options.caseIds ?? labelled;
  for (const id of requested) if (!labelled.includes(id)) throw new UserError(`case ${id} has no label in ${dataset.root}`);
  const planned = plan ? requested.filter((id) => plan.cases.some((c) => c.id === id)) : requested;
  if (planned.length === 0) {
    throw plan
      ? new UserError(`the training set is empty: none of the plan's ${plan.cases.length} cases is among the ${requested.length} training cases`, options.planPath ?? 'plan')
      : new UserError('the training set is empty: no labelled case', dataset.root);
  }
  const validationFraction = options.validationFraction ?? (planned.length >= 10 ? 0.1 : 0);
  const { train: trainIds, validation: validationIds } = splitValidation(planned, validationFraction, rng.fork('validation'));

  const progress = (p: Partial<TrainProgress>) => options.onProgress?.({ phase: 'training', step: 0, steps: 0, loss: null, validationDice: null, etaSeconds: null, ...p });
  const source = await buildTrainingCases(dataset, [...trainIds, ...validationIds], {
    plan, planPath: options.planPath, interpolation: options.interpolation ?? 'none', interpolatedWeight: options.interpolatedWeight ?? 1, axis,
    onProgress: (done, total) => progress({ phase: 'loading', step: done, steps: total }),
  });
  const trainCases = source.cases.filter((c) => trainIds.includes(c.id));
  const validationCases = source.cases.filter((c) => validationIds.includes(c.id));
  if (trainCases.every((c) => c.supervisedSlices.length === 0)) throw new UserError('the training set has no annotated slice');
  const classes = source.labelValues.length;
  if (classes < 2) throw new UserError(`the labels hold ${classes} value; segmentation needs background and at least one structure`);

  const depth = options.depth ?? defaults.depth;
  const divisor = 2 ** (depth - 1);
  const inputSize = options.model === '2d'
    ? plan2DCanvas(source.cases, divisor)
    : plan3DPatch(source.cases.map((c) => c.shape), divisor);
  const batchSize = options.batchSize ?? defaults.batchSize;
  const steps = options.steps ?? (options.epochs !== undefined ? stepsForEpochs(options.model, trainCases, options.epochs, batchSize) : defaults.steps);
  const threads = options.threads ?? 2;
  const config: TrainConfig = {
    format: 'slicewise-run', version: 1, slicewiseVersion: VERSION, model: options.model,
    dataset: dataset.root, plan: options.planPath ? resolve(options.planPath) : null,
    interpolation: options.interpolation ?? 'none', interpolatedWeight: options.interpolatedWeight ?? 1,
    seed, steps, batchSize,
    optimizer: options.optimizer ?? defaults.optimizer, learningRate: options.learningRate ?? defaults.learningRate,
    augment: options.augment ?? true,
    trainingCases: trainCases.map((c) => c.id), validationCases: validationCases.map((c) => c.id),
    validateEvery: options.validateEvery ?? Math.max(25, Math.round(steps / 8)),
    earlyStopPatience: options.earlyStopPatience ?? 0,
    threads, device,
    network: { depth, baseWidth: options.baseWidth ?? defaults.baseWidth, instanceNorm: true, deepSupervision: false },
    inChannels: source.inChannels, inputSize, labelValues: source.labelValues, labelMap: source.labelMap, axis,
  };

  setThreads(threads);
  const model = UNetModel.create(
    { dims: options.model === '2d' ? 2 : 3, inChannels: source.inChannels, classes, depth, baseWidth: config.network.baseWidth, norm: 'instance' },
    { seed, device: config.device, training: { optimizer: config.optimizer, learningRate: config.learningRate, totalSteps: steps, ignoreIndex: IGNORE } },
  );

  // Write into a temporary folder, renamed when complete: an interrupted or failed run leaves no half run
  // folder (after the rename the `finally` finds nothing left to remove).
  const finalDir = resolve(runDir);
  const workDir = `${finalDir}.partial-${process.pid}`;
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const release = removeOnInterrupt(workDir);
  try {
    const outcome = await runSteps(model, trainCases, validationCases, config, classes, rng.fork('batches'), workDir, progress);
    const seconds = (performance.now() - started) / 1000;
    await writeFile(join(workDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    await writeFile(join(workDir, 'train.log'), outcome.log.join('\n') + '\n');
    await writeFile(join(workDir, 'metrics.json'), JSON.stringify({
      steps: outcome.steps, seconds: Number(seconds.toFixed(2)), bestStep: outcome.bestStep, bestValidationDice: outcome.bestDice,
      finalLoss: outcome.lossAverage, supervision: source.supervision, validations: outcome.validations, losses: outcome.losses,
    }, null, 2) + '\n');
    await rm(finalDir, { recursive: true, force: true });
    await rename(workDir, finalDir);
    return {
      runDir: finalDir, config, steps: outcome.steps, seconds, bestStep: outcome.bestStep, bestValidationDice: outcome.bestDice, finalLoss: outcome.lossAverage,
    };
  } finally {
    release();
    await rm(workDir, { recursive: true, force: true });
  }
}

interface StepsOutcome {
  steps: number;
  bestStep: number;
  bestDice: number | null;
  lossAverage: number;
  log: string[];
  /** [step, mean validation Dice] per validation (empty without validation cases). */
  validations: Array<[number, number]>;
  /** [step, running loss average] every 10 steps. */
  losses: Array<[number, number]>;
}

/** The training loop: batches, engine steps, validations; the best checkpoint is saved to `workDir/model.pt`. */
async function runSteps(
  model: UNetModel, trainCases: TrainingCase[], validationCases: TrainingCase[], config: TrainConfig, classes: number,
  sampleRng: Random, workDir: string, progress: (p: Partial<TrainProgress>) => void,
): Promise<StepsOutcome> {
  const { steps, batchSize } = config;
  const log: string[] = [];
  const losses: Array<[number, number]> = [];
  const validations: Array<[number, number]> = [];
  let bestDice: number | null = null;
  let bestStep = 0;
  let sinceBest = 0;
  let lossAverage = NaN;
  let validationDice: number | null = null;
  const augment = config.augment ? DEFAULT_AUGMENT : null;
  const loopStart = performance.now();
  let step = 0;
  for (step = 1; step <= steps; step++) {
    const batch = config.model === '2d'
      ? sample2DBatch(trainCases, config.inputSize as [number, number], batchSize, sampleRng, augment)
      : sample3DBatch(trainCases, config.inputSize as [number, number, number], batchSize, sampleRng, augment);
    const result = await model.trainStep({ images: batch.images, labels: batch.labels, weights: batch.weights, shape: batch.shape });
    if (!Number.isFinite(result.loss)) {
      throw new UserError(`the loss diverged at step ${step} (${result.loss}); train with a lower --learning-rate than ${config.learningRate}`);
    }
    lossAverage = Number.isNaN(lossAverage) ? result.loss : 0.9 * lossAverage + 0.1 * result.loss;
    if (step % 10 === 0 || step === steps) losses.push([step, Number(lossAverage.toFixed(5))]);
    if (step % config.validateEvery === 0 || step === steps) {
      if (validationCases.length > 0) {
        let sum = 0;
        for (const c of validationCases) sum += await validationDiceOf(model, c, config, classes);
        validationDice = sum / validationCases.length;
        validations.push([step, validationDice]);
      }
      // Without validation cases every validation point is "best": the last checkpoint is kept.
      const improved = validationDice === null || bestDice === null || validationDice > bestDice;
      if (improved) {
        bestDice = validationDice;
        bestStep = step;
        sinceBest = 0;
        model.save(join(workDir, 'model.pt'));
      } else sinceBest++;
      log.push(`step ${step} loss ${lossAverage.toFixed(4)} validation_dice ${validationDice === null ? 'n/a' : validationDice.toFixed(4)}${improved ? ' (best)' : ''}`);
    }
    const elapsed = (performance.now() - loopStart) / 1000;
    progress({ step, steps, loss: lossAverage, validationDice, etaSeconds: (elapsed / step) * (steps - step) });
    if (config.earlyStopPatience > 0 && sinceBest >= config.earlyStopPatience) {
      log.push(`early stop at step ${step}: no improvement in ${sinceBest} validations`);
      break;
    }
  }
  return { steps: Math.min(step, steps), bestStep, bestDice, lossAverage, log, validations, losses };
}

async function validationDiceOf(model: UNetModel, c: TrainingCase, config: TrainConfig, classes: number): Promise<number> {
  const pred = await predictTrainingCase(model, c, config);
  return meanForegroundDice(pred, c.labels, classes);
}


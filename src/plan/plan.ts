/**
 * `makePlan`: dataset + budget + options → Plan. Reads images only (never labels), a few cases in
 * flight; unreadable cases are listed and left out (or stop the plan with `strict`). The result depends
 * only on the inputs and the seed, so `writePlan` gives byte-identical plan.json files for them.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { discoverDataset, type Case } from '../io/dataset.js';
import { UserError, fileSystemError, isUserError } from '../io/errors.js';
import { axisVector, resolveAxis, type AxisChoice } from '../io/geometry.js';
import { normalizeForModel } from '../io/normalize.js';
import { readVolume, writeFileAtomic } from '../io/read.js';
import type { Volume } from '../io/volume.js';
import { Random } from '../util/random.js';
import { VERSION } from '../version.js';
import { allocate, ruleOption, validateRule, volumeOrder, type AllocationRule, type VolumeSelection } from './allocation.js';
import { SLICE_FEATURE_DIM, VOLUME_FEATURE_DIM, bodySliceRange, sliceFeatures, volumeFeatures } from './features.js';
import { remainingView, type AnnotatedSlices } from './exclude.js';
import type { SelectTask } from './parallel/messages.js';
import { defaultPlanThreads, runPlanTasks } from './parallel/pool.js';
import { getStrategy } from './strategies/registry.js';
import type { Strategy, VolumeSlices } from './strategies/types.js';
import { PLAN_FORMAT_VERSION, planSchema, type Plan, type PlannedCase } from './types.js';

export interface PlanOptions {
  budget: number;
  allocation?: AllocationRule;
  strategy?: string;
  seed?: number;
  axis?: AxisChoice;
  range?: 'body' | 'full';
  volumeSelection?: VolumeSelection;
  /** Stop at the first unreadable case instead of leaving it out. */
  strict?: boolean;
  /** Recorded in the plan's options (annotation-time estimates); does not change the selection. */
  secondsPerSlice?: number;
  /** Slices already annotated, per case: never selected again; the budget is spent on the rest. */
  excludeAnnotated?: AnnotatedSlices;
  /** Plan over these cases only (e.g. a study's training split); default every case of the dataset. */
  caseIds?: readonly string[];
  /** Cases read at once (decompression runs on libuv's pool). */
  concurrency?: number;
  /** Worker threads for the per-volume feature selections (ual, ual-coreset); default: the cores. The plan
   * does not depend on it. */
  threads?: number;
  onWarning?: (message: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export const PLAN_DEFAULTS = { strategy: 'fixed-interval', seed: 0, axis: 'axial' as AxisChoice, range: 'body' as const, volumeSelection: 'random' as VolumeSelection };

/** What the planner keeps of a case once read: no voxels. */
interface CaseInfo extends VolumeSlices {
  case: Case;
  axis: 0 | 1 | 2;
  /** Position (mm) of slice 0 and the step per slice along the axis. */
  firstPositionMm: number;
  stepMm: number;
  volumeFeatures?: Float32Array;
}

function describeCase(c: Case, volume: Volume, axisChoice: AxisChoice, needs: { features: boolean; body: boolean; volumeFeatures: boolean }): CaseInfo {
  const axis = resolveAxis(axisChoice, volume.direction);
  const normalized = needs.features || needs.volumeFeatures ? normalizeForModel(volume.data) : undefined;
  const unit = axisVector(volume.direction, axis);
  // Signed distance of the slice plane from the LPS origin along the slice normal (the S coordinate of
  // an axial slice, as viewers show it).
  const firstPositionMm = volume.origin[0] * unit[0] + volume.origin[1] * unit[1] + volume.origin[2] * unit[2];
  return {
    case: c, caseId: c.id, axis, sliceCount: volume.shape[axis],
    bodyRange: needs.body ? bodySliceRange(volume, axis) : [0, volume.shape[axis] - 1],
    features: needs.features ? sliceFeatures(volume, axis, normalized) : undefined,
    featureDim: SLICE_FEATURE_DIM,
    volumeFeatures: needs.volumeFeatures ? volumeFeatures(volume, normalized) : undefined,
    firstPositionMm, stepMm: volume.spacing[axis],
  };
}

/** The fields a strategy sees, without the rest of a CaseInfo (what is sent to a worker thread). */
function volumeSlicesOnly(v: VolumeSlices): VolumeSlices {
  return { caseId: v.caseId, sliceCount: v.sliceCount, bodyRange: v.bodyRange, features: v.features, featureDim: v.featureDim };
}

/** mm with at most 4 decimals, so plan files do not carry float noise. */
function roundMm(x: number): number {
  const r = Math.round(x * 1e4) / 1e4;
  return r === 0 ? 0 : r;
}

export async function makePlan(datasetPath: string, options: PlanOptions): Promise<Plan> {
  const rule: AllocationRule = options.allocation ?? { kind: 'spread' };
  const strategy: Strategy = getStrategy(options.strategy ?? PLAN_DEFAULTS.strategy);
  const seed = options.seed ?? PLAN_DEFAULTS.seed;
  const axisChoice = options.axis ?? PLAN_DEFAULTS.axis;
  const range = options.range ?? PLAN_DEFAULTS.range;
  const volumeSelection = options.volumeSelection ?? PLAN_DEFAULTS.volumeSelection;
  validateRule(options.budget, rule);
  if (!Number.isSafeInteger(seed)) throw new UserError(`must be an integer, got ${seed}`, '--seed');
  if (range !== 'body' && range !== 'full') throw new UserError(`must be body or full, got "${String(range)}"`, '--range');
  if (volumeSelection !== 'random' && volumeSelection !== 'diverse') {
    throw new UserError(`must be random or diverse, got "${String(volumeSelection)}"`, '--volume-selection');
  }
  const dataset = await discoverDataset(datasetPath);
  if (options.caseIds) {
    const wanted = new Set(options.caseIds);
    const missing = [...wanted].filter((id) => !dataset.cases.some((c) => c.id === id));
    if (missing.length > 0) throw new UserError(`case ${missing[0]} is not in the dataset`, datasetPath);
    dataset.cases = dataset.cases.filter((c) => wanted.has(c.id));
  }
  if (rule.kind === 'volumes' && rule.volumes > dataset.cases.length) {
    throw new UserError(`${rule.volumes} volumes asked for, the dataset has ${dataset.cases.length}`, '--volumes');
  }
  const needs = {
    features: strategy.needsFeatures,
    body: strategy.name === 'fixed-interval' && range === 'body',
    volumeFeatures: volumeSelection === 'diverse',
  };

  const infos: CaseInfo[] = [];
  const skipped: Array<{ id: string; error: string }> = [];
  const queue = [...dataset.cases];
  let done = 0;
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      try {
        infos.push(describeCase(c, await readVolume(c.imagePaths[0]), axisChoice, needs));
      } catch (err) {
        if (!isUserError(err) || options.strict) throw err;
        skipped.push({ id: c.id, error: err.message });
        options.onWarning?.(`left out unreadable case ${c.id}: ${err.message}`);
      }
      options.onProgress?.(++done, dataset.cases.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  if (infos.length === 0) throw new UserError('no readable cases', datasetPath);
  const byId = (a: { id: string } | CaseInfo, b: { id: string } | CaseInfo) => {
    const x = 'caseId' in a ? a.caseId : a.id, y = 'caseId' in b ? b.caseId : b.id;
    return x < y ? -1 : x > y ? 1 : 0;
  };
  infos.sort(byId);
  skipped.sort(byId);

  const random = new Random(seed);
  const volumeFeatureRows = needs.volumeFeatures ? new Float32Array(infos.length * VOLUME_FEATURE_DIM) : undefined;
  infos.forEach((info, i) => volumeFeatureRows?.set(info.volumeFeatures!, i * VOLUME_FEATURE_DIM));
  const order = volumeOrder(infos.length, volumeSelection, random.fork('volumes'), volumeFeatureRows, VOLUME_FEATURE_DIM);
  const remaining = infos.map((info) => remainingView(info, info.axis, options.excludeAnnotated));
  const counts = allocate(order.map((i) => remaining[i].view.sliceCount), options.budget, rule);

  const chosen: Array<{ info: CaseInfo; count: number; left: (typeof remaining)[number] }> = [];
  order.forEach((index, position) => { if (counts[position] > 0) chosen.push({ info: infos[index], count: counts[position], left: remaining[index] }); });
  chosen.sort((a, b) => byId(a.info, b.info));
  const strategyOptions = { range };
  let selections: number[][];
  if (strategy.kind === 'pooled') {
    selections = strategy.selectPooled(chosen.map((c) => c.left.view), options.budget, random.fork('pooled'), strategyOptions);
  } else if (strategy.needsFeatures && (options.threads ?? defaultPlanThreads()) > 1 && chosen.length > 1) {
    // Clustering slice features is the planner's heavy part: one volume per task on worker threads.
    const tasks: SelectTask[] = chosen.map(({ info, count, left }) => ({
      kind: 'select', strategy: strategy.name, volume: volumeSlicesOnly(left.view), k: count, random: random.fork(info.caseId).snapshot(), options: strategyOptions,
    }));
    selections = (await runPlanTasks(tasks, options.threads ?? defaultPlanThreads())).map((r) => r.slices);
  } else {
    selections = chosen.map(({ info, count, left }) => strategy.select(left.view, count, random.fork(info.caseId), strategyOptions));
  }
  // Back from the remaining slices' numbering to real slice indices (the identity without exclusions).
  selections = selections.map((picked, i) => picked.map((v) => chosen[i].left.realIndex[v]).sort((a, b) => a - b));

  const cases: PlannedCase[] = [];
  chosen.forEach(({ info }, i) => {
    const slices = selections[i];
    if (slices.length === 0) return;
    cases.push({
      id: info.caseId,
      imagePath: info.case.imagePaths[0],
      ...(info.case.labelPath ? { labelPath: info.case.labelPath } : {}),
      axis: info.axis,
      sliceCount: info.sliceCount,
      slices,
      positionsMm: slices.map((s) => roundMm(info.firstPositionMm + s * info.stepMm)),
    });
  });
  const total = cases.reduce((n, c) => n + c.slices.length, 0);
  if (total !== options.budget) throw new Error(`plan has ${total} slices for a budget of ${options.budget} (${ruleOption(rule)})`);

  const recorded: Record<string, unknown> = {
    strategy: strategy.name,
    allocation: rule,
    volumeSelection,
    axis: axisChoice,
    range,
  };
  if (options.secondsPerSlice !== undefined) recorded.secondsPerSlice = options.secondsPerSlice;
  if (options.excludeAnnotated) recorded.excludedAnnotatedSlices = [...options.excludeAnnotated.values()].reduce((n, c) => n + c.slices.length, 0);
  return planSchema.parse({
    format: 'slicewise-plan',
    version: PLAN_FORMAT_VERSION,
    slicewiseVersion: VERSION,
    dataset: dataset.root,
    seed,
    budget: options.budget,
    options: recorded,
    cases,
    ...(skipped.length > 0 ? { skipped } : {}),
  });
}

export interface PlanSummary {
  volumes: number;
  slices: number;
  /** Mean over planned volumes of (selected slices / slice count). */
  meanDensity: number;
  skipped: number;
  estimatedHours?: number;
}

export function summarizePlan(plan: Plan, secondsPerSlice?: number): PlanSummary {
  const slices = plan.cases.reduce((n, c) => n + c.slices.length, 0);
  const meanDensity = plan.cases.length === 0 ? 0 : plan.cases.reduce((s, c) => s + c.slices.length / c.sliceCount, 0) / plan.cases.length;
  const summary: PlanSummary = { volumes: plan.cases.length, slices, meanDensity, skipped: plan.skipped?.length ?? 0 };
  if (secondsPerSlice !== undefined) summary.estimatedHours = (slices * secondsPerSlice) / 3600;
  return summary;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function planToCsv(plan: Plan): string {
  const rows = ['case,slice_index_0based,slice_index_1based,position_mm'];
  for (const c of plan.cases) {
    c.slices.forEach((s, i) => rows.push(`${csvField(c.id)},${s},${s + 1},${c.positionsMm[i]}`));
  }
  return rows.join('\n') + '\n';
}

/** Writes plan.json and plan.csv into `outDir` (created if needed), each atomically. */
export async function writePlan(plan: Plan, outDir: string): Promise<{ json: string; csv: string }> {
  const checked = planSchema.parse(plan);
  try {
    await mkdir(outDir, { recursive: true });
  } catch (err) {
    throw fileSystemError(err, outDir);
  }
  const json = join(outDir, 'plan.json');
  const csv = join(outDir, 'plan.csv');
  await writeFileAtomic(json, JSON.stringify(checked, null, 2) + '\n');
  await writeFileAtomic(csv, planToCsv(checked));
  return { json, csv };
}

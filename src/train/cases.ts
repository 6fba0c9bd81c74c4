/**
 * From a dataset (+ optional plan + optional interpolation) to training cases: normalized images, labels as
 * class indices with IGNORE where nothing is known, per-voxel weights for interpolated (derived) slices.
 * Without a plan every slice of the label volume counts as annotated (full supervision).
 */
import { loadCase, type Dataset } from '../io/dataset.js';
import { UserError, isUserError } from '../io/errors.js';
import { resolveAxis, type Axis, type AxisChoice } from '../io/geometry.js';
import { interpolateSparse } from '../annotate/interpolate.js';
import type { InterpolationMethodName } from '../annotate/interpolation/registry.js';
import { forEachVoxelOfSlice, inferLabelMap, sparseFromPlan, type LabelMap, type SparseLabels } from '../annotate/sparse.js';
import type { Volume } from '../io/volume.js';
import type { Plan } from '../plan/types.js';
import { IGNORE } from './augment.js';
import { modelInput, readChannels, sharedChannelCount } from './channels.js';
import type { TrainingCase } from './samples.js';

export type InterpolationChoice = 'none' | InterpolationMethodName;

export interface CaseSourceOptions {
  plan?: Plan | null;
  /** The plan's file, named in errors about the plan (default "plan"). */
  planPath?: string | null;
  interpolation?: InterpolationChoice;
  /** Loss weight of interpolated voxels (1 = as annotated, 0 = excluded). */
  interpolatedWeight?: number;
  axis?: AxisChoice;
  onProgress?: (done: number, total: number) => void;
}

/** The dataset's label values (ignore excluded), sorted: class index k stands for value labelValues[k]. */
export function labelValuesOf(labelMap: LabelMap): number[] {
  return [...new Set(Object.entries(labelMap).filter(([name]) => name !== 'ignore').map(([, v]) => v))].sort((a, b) => a - b);
}

/** Map label values to class indices; the ignore value (and anything unsupervised) to IGNORE. */
function toClassIndices(labels: Volume, values: number[], ignoreValue: number | null, caseId: string): Uint8Array {
  const lookup = new Map(values.map((v, k) => [v, k]));
  const out = new Uint8Array(labels.data.length);
  const data = labels.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v === ignoreValue) { out[i] = IGNORE; continue; }
    const k = lookup.get(v);
    if (k === undefined) throw new UserError(`label value ${v} is not one of the dataset's labels (${values.join(', ')})`, `case ${caseId}`);
    out[i] = k;
  }
  return out;
}

function slicesWithSupervision(labels: Uint8Array, shape: readonly number[], axis: Axis): number[] {
  const known = new Uint8Array(shape[axis]);
  const [nx, ny] = shape;
  let i = 0;
  for (let z = 0; z < shape[2]; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) if (labels[i] !== IGNORE) known[axis === 0 ? x : axis === 1 ? y : z] = 1;
    }
  }
  return [...known.keys()].filter((k) => known[k] === 1);
}

export interface TrainingCasesResult {
  cases: TrainingCase[];
  /** Image channels per case (the model's input channels). */
  inChannels: number;
  labelMap: LabelMap;
  labelValues: number[];
  /** Per case: annotated and interpolated slice counts (for logs and metrics). */
  supervision: Array<{ id: string; annotated: number; interpolated: number; slices: number }>;
}

/** Every case a plan names must be in the dataset: the error names the plan file and the first unknown case. */
export function checkPlanCases(plan: Plan, dataset: Pick<Dataset, 'root' | 'cases'>, planPath?: string | null): void {
  const known = new Set(dataset.cases.map((c) => c.id));
  const unknown = plan.cases.filter((pc) => !known.has(pc.id));
  if (unknown.length === 0) return;
  const more = unknown.length > 1 ? ` (${unknown.length} of its ${plan.cases.length} cases are unknown)` : '';
  throw new UserError(`the plan names case ${unknown[0].id}, which the dataset does not have${more}; was it made for ${dataset.root}?`, planPath ?? 'plan');
}

/** Errors about a planned case (slice out of range, slice count) also name the plan file. */
function naming<T>(planPath: string | null | undefined, work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (isUserError(err)) throw new UserError(err.message, planPath ?? 'plan');
    throw err;
  }
}

/** Resolve the label map: dataset.json's, or inferred from the first labelled cases. */
export async function datasetLabelMap(dataset: Dataset, caseIds: string[]): Promise<LabelMap> {
  if (dataset.labels) {
    const { ignore: _ignore, ...rest } = dataset.labels;
    return rest;
  }
  const sample = dataset.cases.filter((c) => caseIds.includes(c.id) && c.labelPath).slice(0, 8);
  const volumes: Volume[] = [];
  for (const c of sample) {
    const { label } = await loadCase(dataset, c);
    if (label) volumes.push(label);
  }
  return inferLabelMap(volumes);
}

export async function buildTrainingCases(dataset: Dataset, caseIds: string[], options: CaseSourceOptions = {}): Promise<TrainingCasesResult> {
  const plan = options.plan ?? null;
  const interpolation = options.interpolation ?? 'none';
  if (interpolation !== 'none' && !plan) throw new UserError('interpolation needs a plan (--plan): without one every slice is annotated', '--interpolation');
  const weightOfDerived = options.interpolatedWeight ?? 1;
  const labelMap = await datasetLabelMap(dataset, caseIds);
  const labelValues = labelValuesOf(labelMap);
  if (labelValues.length > 254) throw new UserError(`${labelValues.length} labels: slicewise trains at most 254 classes`);
  const byId = new Map(dataset.cases.map((c) => [c.id, c]));
  const plannedById = new Map(plan?.cases.map((c) => [c.id, c]) ?? []);
  if (plan) checkPlanCases(plan, dataset, options.planPath);
  // With a plan, only planned cases are trained on; without one, every requested case.
  const ids = plan ? caseIds.filter((id) => plannedById.has(id)) : caseIds;
  for (const id of ids) if (!byId.has(id)) throw new UserError(`case ${id} is not in the dataset`, dataset.root);
  const inChannels = sharedChannelCount(dataset, ids.map((id) => byId.get(id)!));
  const cases: TrainingCase[] = [];
  const supervision: TrainingCasesResult['supervision'] = [];
  let done = 0;
  for (const id of ids) {
    const c = byId.get(id)!;
    if (!c.labelPath) throw new UserError(`case ${id} has no label file`, c.imagePaths[0]);
    const { image, label } = await loadCase(dataset, c);
    const channels = await readChannels(c, image);
    const planned = plannedById.get(id);
    const axis: Axis = planned ? planned.axis : resolveAxis(options.axis, image.direction);
    let sparse: SparseLabels | null = null;
    if (planned) {
      sparse = naming(options.planPath, () => sparseFromPlan(label!, planned, { labelMap }));
      if (interpolation !== 'none') sparse = (await interpolateSparse(sparse, { method: interpolation })).sparse;
    }
    const labels = sparse ? toClassIndices(sparse.labels, labelValues, sparse.ignoreValue, id) : toClassIndices(label!, labelValues, dataset.ignoreValue, id);
    let weights: Float32Array | null = null;
    if (sparse && sparse.interpolatedSlices.length > 0 && weightOfDerived !== 1) {
      weights = new Float32Array(labels.length).fill(1);
      for (const k of sparse.interpolatedSlices) forEachVoxelOfSlice(image.shape, axis, k, (o) => { weights![o] = weightOfDerived; });
    }
    // Without a plan, a label volume may still be sparse (an imported ignore-label dataset): slices that
    // hold no known voxel are left out of sampling.
    const supervisedSlices = sparse
      ? [...sparse.annotatedSlices, ...(weightOfDerived > 0 ? sparse.interpolatedSlices : [])].sort((a, b) => a - b)
      : slicesWithSupervision(labels, image.shape, axis);
    cases.push({
      id, shape: [...image.shape] as [number, number, number], image: modelInput(channels), channels: channels.length, labels, weights, axis, supervisedSlices,
    });
    supervision.push({ id, annotated: sparse ? sparse.annotatedSlices.length : supervisedSlices.length, interpolated: sparse ? sparse.interpolatedSlices.length : 0, slices: image.shape[axis] });
    options.onProgress?.(++done, ids.length);
  }
  if (cases.length === 0) throw new UserError('the training set is empty (no labelled case to train on)');
  return { cases, inChannels, labelMap, labelValues, supervision };
}

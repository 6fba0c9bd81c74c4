/**
 * Sparse annotations: a label volume in which only some slices along one axis were drawn. Following
 * nnU-Net's convention, every voxel outside those slices carries the `ignore` value (the highest label
 * value), so "not annotated" is never confused with background. Slices filled later by interpolation are
 * recorded separately (`interpolatedSlices`): they are derived, never annotated.
 */
import type { Axis } from '../io/geometry.js';
import { UserError } from '../io/errors.js';
import { Volume, type VoxelArray } from '../io/volume.js';
import type { PlannedCase } from '../plan/types.js';

export interface SparseLabels {
  caseId: string;
  /** Label values on annotated (and interpolated) slices, `ignoreValue` everywhere else. Integer voxels. */
  labels: Volume;
  ignoreValue: number;
  /** Voxel axis the slices are taken along. */
  axis: Axis;
  /** Slices drawn by an annotator, ascending. */
  annotatedSlices: number[];
  /** Slices filled by interpolation (derived), ascending, disjoint from `annotatedSlices`. */
  interpolatedSlices: number[];
}

/** Label names → values, without `ignore` (e.g. {background: 0, anterior: 1, posterior: 2}). */
export type LabelMap = Record<string, number>;

/** Foreground label values (everything but 0 and ignore), ascending. */
export function foregroundLabels(labelMap: LabelMap): number[] {
  return [...new Set(Object.entries(labelMap).filter(([name, v]) => name !== 'ignore' && v !== 0).map(([, v]) => v))].sort((a, b) => a - b);
}

/** The nnU-Net ignore value for a label map: one above the highest declared label. */
export function ignoreValueFor(labelMap: LabelMap): number {
  const values = Object.entries(labelMap).filter(([name]) => name !== 'ignore').map(([, v]) => v);
  return Math.max(0, ...values) + 1;
}

/** A label map inferred from the values present in one or more label volumes ({background: 0, label_1: 1, ...}). */
export function inferLabelMap(volumes: Volume[]): LabelMap {
  const values = new Set<number>([0]);
  for (const v of volumes) for (const x of distinctValues(v.data)) values.add(x);
  const map: LabelMap = {};
  for (const value of [...values].sort((a, b) => a - b)) map[value === 0 ? 'background' : `label_${value}`] = value;
  return map;
}

function distinctValues(data: VoxelArray): Set<number> {
  const seen = new Set<number>();
  for (let i = 0; i < data.length; i++) seen.add(data[i]);
  return seen;
}

/** Integer label voxels in the smallest unsigned type that holds `maxValue`; refuses non-integer values. */
export function toLabelArray(data: VoxelArray, maxValue: number, subject: string): Uint8Array | Uint16Array | Uint32Array {
  const out = maxValue < 256 ? new Uint8Array(data.length) : maxValue < 65536 ? new Uint16Array(data.length) : new Uint32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < 0 || v > maxValue) {
      throw new UserError(`voxel ${i} has label value ${v}, expected an integer in 0..${maxValue}`, subject);
    }
    out[i] = v;
  }
  return out;
}

/** Per slice along `axis`: how many voxels carry `value`. */
export function countPerSlice(volume: Volume, axis: Axis, value: number): Int32Array {
  const [nx, ny] = volume.shape;
  const counts = new Int32Array(volume.shape[axis]);
  const data = volume.data;
  let i = 0;
  for (let z = 0; z < volume.shape[2]; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        if (data[i] === value) counts[axis === 0 ? x : axis === 1 ? y : z]++;
      }
    }
  }
  return counts;
}

/** Every voxel on slice `index` along `axis`, as flat indices into the volume's data. */
export function forEachVoxelOfSlice(shape: readonly number[], axis: Axis, index: number, visit: (offset: number) => void): void {
  const [nx, ny, nz] = shape;
  const strides = [1, nx, nx * ny];
  const [a, b] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
  const na = [nx, ny, nz][a];
  const nb = [nx, ny, nz][b];
  const base = index * strides[axis];
  for (let v = 0; v < nb; v++) for (let u = 0; u < na; u++) visit(base + u * strides[a] + v * strides[b]);
}

function checkLabelValues(volume: Volume, labelMap: LabelMap, ignoreValue: number, axis: Axis, caseId: string): void {
  const allowed = new Set(Object.values(labelMap));
  allowed.add(ignoreValue);
  const [nx, ny] = volume.shape;
  const data = volume.data;
  for (let i = 0; i < data.length; i++) {
    if (!allowed.has(data[i])) {
      const voxel = [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))];
      throw new UserError(`label value ${data[i]} on slice ${voxel[axis]} (voxel ${voxel.join(',')}) is not in the label map (${[...allowed].sort((a, b) => a - b).join(', ')})`, `case ${caseId}`);
    }
  }
}

export interface FromIgnoreVolumeOptions {
  axis: Axis;
  ignoreValue: number;
  /** Declared labels (without ignore); values outside it are refused. Omit to accept any integer below ignore. */
  labelMap?: LabelMap;
  /** Slices the record says were interpolated (derived); they must hold no ignore voxel either. */
  interpolatedSlices?: number[];
}

/**
 * From an ignore-label volume: annotated slices are those without a single ignore voxel. A slice that is
 * only partly ignore is refused: slicewise annotates whole slices.
 */
export function sparseFromIgnoreVolume(caseId: string, volume: Volume, options: FromIgnoreVolumeOptions): SparseLabels {
  const { axis, ignoreValue } = options;
  const labels = volume.withData(toLabelArray(volume.data, ignoreValue, `case ${caseId}`));
  if (options.labelMap) checkLabelValues(labels, options.labelMap, ignoreValue, axis, caseId);
  const ignorePerSlice = countPerSlice(labels, axis, ignoreValue);
  const sliceSize = labels.data.length / labels.shape[axis];
  const derived = new Set(options.interpolatedSlices ?? []);
  for (const k of derived) {
    if (!Number.isInteger(k) || k < 0 || k >= labels.shape[axis]) {
      throw new UserError(`interpolated slice ${k} is beyond the volume (0..${labels.shape[axis] - 1} along axis ${axis})`, `case ${caseId}`);
    }
  }
  if (!ignorePerSlice.some((n) => n === sliceSize) && ignorePerSlice.some((n) => n !== 0)) {
    // No unannotated slice but ignore values scattered about: a dense label map whose highest label was
    // taken for ignore, not a sparse annotation.
    throw new UserError(`has no unannotated slice (none is all ignore value ${ignoreValue}): it looks like a dense label volume, not a sparse annotation; keep a plan's slices with slicewise import --from plan`, `case ${caseId}`);
  }
  const annotatedSlices: number[] = [];
  for (let k = 0; k < ignorePerSlice.length; k++) {
    const ignored = ignorePerSlice[k];
    if (ignored !== 0 && ignored !== sliceSize) {
      throw new UserError(`slice ${k} is partly annotated (${ignored} of ${sliceSize} voxels carry the ignore value ${ignoreValue}); annotate whole slices`, `case ${caseId}`);
    }
    if (derived.has(k) && ignored !== 0) throw new UserError(`slice ${k} is recorded as interpolated but holds ignore voxels`, `case ${caseId}`);
    if (ignored === 0 && !derived.has(k)) annotatedSlices.push(k);
  }
  return { caseId, labels, ignoreValue, axis, annotatedSlices, interpolatedSlices: [...derived].sort((a, b) => a - b) };
}

export interface FromPlanOptions {
  labelMap: LabelMap;
  /** Defaults to one above the highest label in `labelMap`. */
  ignoreValue?: number;
}

/**
 * From a full label volume plus the plan's entry for the case: keep only the planned slices, everything else
 * becomes ignore. This is how studies simulate annotation.
 */
export function sparseFromPlan(full: Volume, planned: PlannedCase, options: FromPlanOptions): SparseLabels {
  const caseId = planned.id;
  const axis = planned.axis;
  const ignoreValue = options.ignoreValue ?? ignoreValueFor(options.labelMap);
  if (full.shape[axis] !== planned.sliceCount) {
    throw new UserError(`the plan expects ${planned.sliceCount} slices along axis ${axis}, the label volume has ${full.shape[axis]}`, `case ${caseId}`);
  }
  checkSliceIndices(planned.slices, full.shape[axis], axis, caseId);
  const source = toLabelArray(full.data, ignoreValue, `case ${caseId}`);
  checkLabelValues(full.withData(source), options.labelMap, -1, axis, caseId);
  const out = new (source.constructor as new (n: number) => typeof source)(source.length).fill(ignoreValue);
  for (const k of planned.slices) forEachVoxelOfSlice(full.shape, axis, k, (o) => { out[o] = source[o]; });
  const annotatedSlices = [...planned.slices].sort((a, b) => a - b);
  return { caseId, labels: full.withData(out), ignoreValue, axis, annotatedSlices, interpolatedSlices: [] };
}

function checkSliceIndices(slices: readonly number[], count: number, axis: Axis, caseId: string): void {
  const seen = new Set<number>();
  for (const k of slices) {
    if (!Number.isInteger(k) || k < 0 || k >= count) throw new UserError(`slice ${k} is beyond the volume (0..${count - 1} along axis ${axis})`, `case ${caseId}`);
    if (seen.has(k)) throw new UserError(`slice ${k} is listed twice`, `case ${caseId}`);
    seen.add(k);
  }
}

export interface ValidateOptions {
  labelMap?: LabelMap;
  /** When given, the annotated slices must be exactly the planned ones, along the planned axis. */
  planned?: PlannedCase;
}

/**
 * Checks a sparse annotation is consistent: slice indices inside the volume, annotated and interpolated
 * slices free of ignore voxels, every other slice entirely ignore, labels within the label map, and (with a
 * plan) the annotated slices are the planned ones. Errors name the case and the slice.
 */
export function validateSparse(sparse: SparseLabels, options: ValidateOptions = {}): void {
  const { caseId, labels, axis, ignoreValue } = sparse;
  const count = labels.shape[axis];
  checkSliceIndices([...sparse.annotatedSlices, ...sparse.interpolatedSlices], count, axis, caseId);
  if (options.labelMap) checkLabelValues(labels, options.labelMap, ignoreValue, axis, caseId);
  const ignorePerSlice = countPerSlice(labels, axis, ignoreValue);
  const sliceSize = labels.data.length / count;
  const filled = new Set([...sparse.annotatedSlices, ...sparse.interpolatedSlices]);
  for (let k = 0; k < count; k++) {
    if (filled.has(k) && ignorePerSlice[k] !== 0) {
      const kind = sparse.annotatedSlices.includes(k) ? 'annotated' : 'interpolated';
      throw new UserError(`${kind} slice ${k} holds ${ignorePerSlice[k]} ignore voxels`, `case ${caseId}`);
    }
    if (!filled.has(k) && ignorePerSlice[k] !== sliceSize) {
      throw new UserError(`slice ${k} is not recorded as annotated but holds ${sliceSize - ignorePerSlice[k]} labelled voxels`, `case ${caseId}`);
    }
  }
  const planned = options.planned;
  if (planned) {
    if (planned.axis !== axis) throw new UserError(`annotated along axis ${axis}, the plan says axis ${planned.axis}`, `case ${caseId}`);
    const wanted = new Set(planned.slices);
    const missing = planned.slices.filter((k) => !sparse.annotatedSlices.includes(k));
    const extra = sparse.annotatedSlices.filter((k) => !wanted.has(k));
    if (missing.length > 0) throw new UserError(`planned slice ${missing[0]} is not annotated${missing.length > 1 ? ` (nor ${missing.length - 1} more)` : ''}`, `case ${caseId}`);
    if (extra.length > 0) throw new UserError(`slice ${extra[0]} is annotated but not in the plan${extra.length > 1 ? ` (nor ${extra.length - 1} more)` : ''}`, `case ${caseId}`);
  }
}

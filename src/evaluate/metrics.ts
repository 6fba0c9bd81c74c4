/**
 * Overlap and surface metrics of one label between a prediction and its reference (ground truth):
 * Dice, IoU and HD95 (spacing-aware, in mm).
 *
 * Conventions:
 * - Voxels whose reference value is the ignore value are left out of every metric.
 * - Both empty: Dice 1, IoU 1, HD95 0 (status 'both-empty'; the report counts these cases).
 * - One empty, the other not: Dice 0, IoU 0, HD95 undefined → null (status names the empty side).
 * - HD95 is the 95th percentile (linear interpolation) of the pooled symmetric surface distances, as in
 *   medpy's `hd95`; see surface-distance.ts for what a surface voxel is.
 */
import type { Vec3, VoxelArray } from '../io/volume.js';
import { percentile } from '../io/normalize.js';
import { surfaceVoxels, symmetricSurfaceDistances } from './surface-distance.js';

export type LabelStatus = 'both-present' | 'both-empty' | 'prediction-empty' | 'reference-empty';

export interface LabelMetrics {
  label: number;
  dice: number;
  iou: number;
  /** mm; null when exactly one of the two masks is empty. */
  hd95: number | null;
  predictionVoxels: number;
  referenceVoxels: number;
  intersectionVoxels: number;
  status: LabelStatus;
}

export interface MetricOptions {
  /** Reference value whose voxels are excluded from every metric; null or undefined for none. */
  ignoreValue?: number | null;
}

/** 1 where the reference is not the ignore value; null when nothing is ignored. */
export function validVoxels(reference: ArrayLike<number>, ignoreValue: number | null | undefined): Uint8Array | null {
  if (ignoreValue === null || ignoreValue === undefined) return null;
  const valid = new Uint8Array(reference.length);
  let ignored = 0;
  for (let i = 0; i < reference.length; i++) {
    if (reference[i] === ignoreValue) ignored++;
    else valid[i] = 1;
  }
  return ignored === 0 ? null : valid;
}

/** Binary mask of `label` restricted to valid voxels. */
function labelMask(values: ArrayLike<number>, label: number, valid: Uint8Array | null): Uint8Array {
  const mask = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) if (values[i] === label && (valid === null || valid[i] !== 0)) mask[i] = 1;
  return mask;
}

/** Metrics of one label; `valid` as from `validVoxels` (computed once per case and shared by its labels). */
export function labelMetrics(
  prediction: ArrayLike<number>, reference: ArrayLike<number>, shape: Vec3, spacing: Vec3,
  label: number, valid: Uint8Array | null,
): LabelMetrics {
  if (prediction.length !== reference.length) throw new Error(`prediction has ${prediction.length} voxels, reference ${reference.length}`);
  const predicted = labelMask(prediction, label, valid);
  const expected = labelMask(reference, label, valid);
  let predictionVoxels = 0;
  let referenceVoxels = 0;
  let intersectionVoxels = 0;
  for (let i = 0; i < predicted.length; i++) {
    predictionVoxels += predicted[i];
    referenceVoxels += expected[i];
    intersectionVoxels += predicted[i] & expected[i];
  }
  const base = { label, predictionVoxels, referenceVoxels, intersectionVoxels };
  if (predictionVoxels === 0 && referenceVoxels === 0) return { ...base, dice: 1, iou: 1, hd95: 0, status: 'both-empty' };
  if (predictionVoxels === 0) return { ...base, dice: 0, iou: 0, hd95: null, status: 'prediction-empty' };
  if (referenceVoxels === 0) return { ...base, dice: 0, iou: 0, hd95: null, status: 'reference-empty' };
  const dice = (2 * intersectionVoxels) / (predictionVoxels + referenceVoxels);
  const iou = intersectionVoxels / (predictionVoxels + referenceVoxels - intersectionVoxels);
  const distances = symmetricSurfaceDistances(surfaceVoxels(predicted, shape, valid), surfaceVoxels(expected, shape, valid), shape, spacing);
  return { ...base, dice, iou, hd95: percentile(distances, 95), status: 'both-present' };
}

/** Metrics of every label in `labels` for one case (prediction and reference on the same grid). */
export function caseMetrics(
  prediction: { data: VoxelArray; shape: Vec3; spacing: Vec3 },
  reference: { data: VoxelArray },
  labels: readonly number[],
  options: MetricOptions = {},
): LabelMetrics[] {
  const valid = validVoxels(reference.data, options.ignoreValue);
  return labels.map((label) => labelMetrics(prediction.data, reference.data, prediction.shape, prediction.spacing, label, valid));
}

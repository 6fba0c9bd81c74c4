/**
 * How well a method recovers real labels: keep every k-th slice of a full label volume (fixed interval,
 * starting at slice 0), interpolate, and score Dice per label on the interpolated slices only.
 */
import type { Axis } from '../io/geometry.js';
import type { Volume } from '../io/volume.js';
import type { PlannedCase } from '../plan/types.js';
import { interpolateSparse, type InterpolationResult } from './interpolate.js';
import type { InterpolationMethodName } from './interpolation/registry.js';
import { forEachVoxelOfSlice, sparseFromPlan, type LabelMap } from './sparse.js';

/** Slices 0, k, 2k, ... below `count`. */
export function fixedIntervalSlices(count: number, interval: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < count; s += interval) out.push(s);
  return out;
}

/** Overlap counts of one label on the scored slices. */
export interface LabelOverlap {
  intersection: number;
  predicted: number;
  truth: number;
}

/** Dice of an overlap; NaN when the label is absent from both (nothing to score). */
export function dice(o: LabelOverlap): number {
  const total = o.predicted + o.truth;
  return total === 0 ? Number.NaN : (2 * o.intersection) / total;
}

/** Per foreground label, overlap of `predicted` with `truth` over `slices` along `axis`. */
export function overlapOnSlices(predicted: Volume, truth: Volume, axis: Axis, slices: readonly number[], labels: readonly number[]): Map<number, LabelOverlap> {
  const result = new Map(labels.map((l) => [l, { intersection: 0, predicted: 0, truth: 0 }]));
  const p = predicted.data, t = truth.data;
  for (const k of slices) {
    forEachVoxelOfSlice(truth.shape, axis, k, (o) => {
      const a = p[o], b = t[o];
      const ra = result.get(a), rb = result.get(b);
      if (ra) ra.predicted++;
      if (rb) rb.truth++;
      if (a === b && ra) ra.intersection++;
    });
  }
  return result;
}

export interface IntervalScore {
  result: InterpolationResult;
  /** Overlap per foreground label on the interpolated slices. */
  overlap: Map<number, LabelOverlap>;
}

/** Simulate annotating every `interval`-th slice of `full` along `axis`, interpolate with `method`, score. */
export async function scoreFixedInterval(caseId: string, full: Volume, axis: Axis, interval: number, method: InterpolationMethodName, labelMap: LabelMap): Promise<IntervalScore> {
  const slices = fixedIntervalSlices(full.shape[axis], interval);
  const planned: PlannedCase = { id: caseId, imagePath: '', axis, sliceCount: full.shape[axis], slices, positionsMm: slices.map((s) => s * full.spacing[axis]) };
  const sparse = sparseFromPlan(full, planned, { labelMap });
  const result = await interpolateSparse(sparse, { method, extrapolate: 'unknown' });
  const labels = Object.entries(labelMap).filter(([name, v]) => name !== 'ignore' && v !== 0).map(([, v]) => v);
  return { result, overlap: overlapOnSlices(result.sparse.labels, full, axis, result.interpolatedSlices, labels) };
}

/**
 * Planning around slices already annotated (`plan --exclude-annotated`): a strategy sees only the slices
 * left, renumbered 0..n−1 in order (features and body range carried over), and its picks are mapped back
 * to real slice indices. No strategy needs to know; allocation uses the remaining counts as capacities.
 */
import { UserError } from '../io/errors.js';
import type { Axis } from '../io/geometry.js';
import type { VolumeSlices } from './strategies/types.js';

/** Per case id: the slicing axis the annotations were made along and the annotated slice indices. */
export type AnnotatedSlices = Map<string, { axis: Axis; sliceCount: number; slices: number[] }>;

export interface RemainingView {
  view: VolumeSlices;
  /** Real slice index of each view index. */
  realIndex: number[];
}

export function remainingView(volume: VolumeSlices, axis: Axis, annotated: AnnotatedSlices | undefined): RemainingView {
  const done = annotated?.get(volume.caseId);
  const all = Array.from({ length: volume.sliceCount }, (_, k) => k);
  if (!done || done.slices.length === 0) return { view: volume, realIndex: all };
  if (done.axis !== axis || done.sliceCount !== volume.sliceCount) {
    throw new UserError(`case ${volume.caseId} was annotated along axis ${done.axis} (${done.sliceCount} slices), this plan slices axis ${axis} (${volume.sliceCount} slices)`, '--exclude-annotated');
  }
  const skip = new Set(done.slices);
  const realIndex = all.filter((k) => !skip.has(k));
  const [lo, hi] = volume.bodyRange;
  const inBody = realIndex.map((k, i) => (k >= lo && k <= hi ? i : -1)).filter((i) => i >= 0);
  let features: Float32Array | undefined;
  if (volume.features) {
    features = new Float32Array(realIndex.length * volume.featureDim);
    realIndex.forEach((k, i) => features!.set(volume.features!.subarray(k * volume.featureDim, (k + 1) * volume.featureDim), i * volume.featureDim));
  }
  const view: VolumeSlices = {
    ...volume,
    sliceCount: realIndex.length,
    bodyRange: inBody.length > 0 ? [inBody[0], inBody[inBody.length - 1]] : [0, Math.max(0, realIndex.length - 1)],
    features,
  };
  return { view, realIndex };
}

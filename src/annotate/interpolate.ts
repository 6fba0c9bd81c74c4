/**
 * Fill a sparse annotation between its annotated slices. Annotated slices are copied unchanged; slices
 * strictly between the first and last annotated slice are filled by the chosen method and recorded as
 * interpolated (derived); slices outside that range stay ignore (unknown) unless `extrapolate` is
 * 'background'. An annotated slice that is empty stays empty and bounds the interpolation on both sides.
 */
import { Volume } from '../io/volume.js';
import { INTERPOLATION_METHODS, type InterpolationMethodName } from './interpolation/registry.js';
import { bracket, newLabelArray, type LabelArray } from './interpolation/slices.js';
import { forEachVoxelOfSlice, type SparseLabels } from './sparse.js';

export type Extrapolation = 'unknown' | 'background';

export interface InterpolateOptions {
  method: InterpolationMethodName;
  /** Slices before the first / after the last annotated slice: 'unknown' keeps ignore (default), 'background' writes 0. */
  extrapolate?: Extrapolation;
}

export interface InterpolationResult {
  /** The filled annotation: annotated slices as drawn, interpolated slices filled, the rest ignore or 0. */
  sparse: SparseLabels;
  /** Slices filled by the method (derived), ascending; also `sparse.interpolatedSlices`. */
  interpolatedSlices: number[];
  /** Slices set to background by extrapolation (also derived, also in `interpolatedSlices`). */
  extrapolatedSlices: number[];
  method: InterpolationMethodName;
  milliseconds: number;
}

export async function interpolateSparse(sparse: SparseLabels, options: InterpolateOptions): Promise<InterpolationResult> {
  const started = performance.now();
  const { labels, axis, ignoreValue } = sparse;
  const extrapolate = options.extrapolate ?? 'unknown';
  const annotated = [...new Set(sparse.annotatedSlices)].sort((a, b) => a - b);
  const source = labels.data as LabelArray;
  const count = labels.shape[axis];

  // The methods see annotated slices only, with 0 (not ignore) elsewhere.
  const input = newLabelArray(source, source.length);
  const foreground = new Set<number>();
  for (const k of annotated) {
    forEachVoxelOfSlice(labels.shape, axis, k, (o) => {
      const v = source[o];
      input[o] = v;
      if (v !== 0) foreground.add(v);
    });
  }

  const inRange: number[] = [];
  const outside: number[] = [];
  const isAnnotated = new Set(annotated);
  for (let k = 0; k < count; k++) {
    if (isAnnotated.has(k)) continue;
    if (bracket(annotated, k)) inRange.push(k);
    else outside.push(k);
  }

  const out = newLabelArray(source, source.length).fill(ignoreValue);
  for (const k of annotated) forEachVoxelOfSlice(labels.shape, axis, k, (o) => { out[o] = source[o]; });
  if (inRange.length > 0) {
    const filled = await INTERPOLATION_METHODS[options.method].interpolate({
      labels: labels.withData(input),
      axis,
      annotatedSlices: annotated,
      foreground: [...foreground].sort((a, b) => a - b),
    });
    for (const k of inRange) forEachVoxelOfSlice(labels.shape, axis, k, (o) => { out[o] = filled[o]; });
  }
  const extrapolatedSlices = extrapolate === 'background' ? outside : [];
  for (const k of extrapolatedSlices) forEachVoxelOfSlice(labels.shape, axis, k, (o) => { out[o] = 0; });

  const interpolatedSlices = [...inRange, ...extrapolatedSlices].sort((a, b) => a - b);
  return {
    sparse: { ...sparse, labels: new Volume(out, labels.geometry), annotatedSlices: annotated, interpolatedSlices },
    interpolatedSlices,
    extrapolatedSlices,
    method: options.method,
    milliseconds: performance.now() - started,
  };
}

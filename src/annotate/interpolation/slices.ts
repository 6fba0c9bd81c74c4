/**
 * What every interpolation method works with: the label volume with only annotated slices filled (0
 * elsewhere), the slicing axis, the annotated slice indices and the foreground labels. Methods fill the
 * slices strictly between the first and the last annotated slice; `interpolate.ts` does the rest.
 */
import type { Axis } from '../../io/geometry.js';
import type { Volume } from '../../io/volume.js';

export type LabelArray = Uint8Array | Uint16Array | Uint32Array;

export interface MethodInput {
  /** Annotated slices hold their labels, every other voxel is 0. */
  labels: Volume;
  axis: Axis;
  /** Ascending, at least one. */
  annotatedSlices: number[];
  /** Foreground label values present in the label map (0 is background). */
  foreground: number[];
}

/** Voxel values for the whole volume; the caller keeps only the interpolated slices of it. */
export type MethodOutput = LabelArray;

/** One slice's geometry: width × height in-plane voxels (u fastest) and their spacing in mm. */
export interface SliceGrid {
  width: number;
  height: number;
  spacing: [number, number];
  /** Flat volume offset of in-plane voxel (u, v) on slice k. */
  offset(k: number, u: number, v: number): number;
}

export function sliceGrid(volume: Volume, axis: Axis): SliceGrid {
  const [a, b] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
  const strides = volume.strides;
  const sa = strides[a], sb = strides[b], sk = strides[axis];
  return {
    width: volume.shape[a],
    height: volume.shape[b],
    spacing: [volume.spacing[a], volume.spacing[b]],
    offset: (k, u, v) => k * sk + u * sa + v * sb,
  };
}

/** Copy slice k into a flat 2D array (u fastest). */
export function readSlice(data: ArrayLike<number>, grid: SliceGrid, k: number, out: LabelArray): void {
  let o = 0;
  for (let v = 0; v < grid.height; v++) for (let u = 0; u < grid.width; u++) out[o++] = data[grid.offset(k, u, v)];
}

/** Write a flat 2D array (u fastest) into slice k. */
export function writeSlice(data: LabelArray, grid: SliceGrid, k: number, slice: ArrayLike<number>): void {
  let o = 0;
  for (let v = 0; v < grid.height; v++) for (let u = 0; u < grid.width; u++) data[grid.offset(k, u, v)] = slice[o++];
}

/** The annotated slices bracketing slice k (a < k < b), or null outside the annotated range or on an annotated slice. */
export function bracket(annotated: readonly number[], k: number): [number, number] | null {
  for (let i = 0; i + 1 < annotated.length; i++) {
    if (annotated[i] < k && k < annotated[i + 1]) return [annotated[i], annotated[i + 1]];
  }
  return null;
}

export function newLabelArray(like: LabelArray, length: number): LabelArray {
  return new (like.constructor as new (n: number) => LabelArray)(length);
}

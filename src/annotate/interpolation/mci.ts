/**
 * `mci`: ITK's morphological contour interpolation (Zukić et al., the algorithm behind 3D Slicer's "Fill
 * between slices") through @itk-wasm/morphological-contour-interpolation. It is run once per label with the
 * annotated slice positions given explicitly: left to detect them by content, it would treat an annotated
 * but EMPTY slice as unannotated and fill it.
 *
 * The wrapper drops numeric options equal to 0 (it tests `if (options.axis)`), so axis 0 could not be
 * passed; the volume is therefore handed over with the slicing axis moved last and always uses axis 2.
 */
import { morphologicalContourInterpolationNode } from '@itk-wasm/morphological-contour-interpolation';
import type { Axis } from '../../io/geometry.js';
import { dataTypeOf } from '../../io/volume.js';
import { bracket, newLabelArray, type LabelArray, type MethodInput, type MethodOutput } from './slices.js';

/** Voxel axes in the order they are handed to ITK: the two in-plane axes, then the slicing axis. */
function axisOrder(axis: Axis): [number, number, number] {
  return axis === 0 ? [1, 2, 0] : axis === 1 ? [0, 2, 1] : [0, 1, 2];
}

/** Copy `data` (shape, axis 0 fastest) into the permuted layout, or back when `inverse`. */
function permute(data: LabelArray, shape: readonly number[], order: readonly number[], inverse: boolean, out: LabelArray): void {
  const strides = [1, shape[0], shape[0] * shape[1]];
  const [n0, n1, n2] = order.map((a) => shape[a]);
  const [s0, s1, s2] = order.map((a) => strides[a]);
  let p = 0;
  for (let c = 0; c < n2; c++) {
    for (let b = 0; b < n1; b++) {
      for (let a = 0; a < n0; a++, p++) {
        const o = a * s0 + b * s1 + c * s2;
        if (inverse) out[o] = data[p];
        else out[p] = data[o];
      }
    }
  }
}

export async function interpolateMci(input: MethodInput): Promise<MethodOutput> {
  const { labels, axis, annotatedSlices, foreground } = input;
  const data = labels.data as LabelArray;
  const out = newLabelArray(data, data.length);
  out.set(data);
  const count = labels.shape[axis];
  const between: number[] = [];
  for (let k = 0; k < count; k++) if (bracket(annotatedSlices, k)) between.push(k);
  if (between.length === 0) return out;

  const order = axisOrder(axis);
  const permuted = newLabelArray(data, data.length);
  permute(data, labels.shape, order, false, permuted);
  const size = order.map((a) => labels.shape[a]);
  const image = {
    imageType: { dimension: 3, componentType: dataTypeOf(permuted), pixelType: 'Scalar', components: 1 },
    name: 'sparse-labels',
    origin: [0, 0, 0],
    spacing: order.map((a) => labels.spacing[a]),
    direction: new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]),
    size,
    metadata: new Map(),
    data: permuted,
  };
  const sliceSize = size[0] * size[1];
  const present = new Set<number>();
  for (let i = 0; i < permuted.length; i++) present.add(permuted[i]);
  // Filled result in the permuted layout: the first label to claim a voxel keeps it.
  const filled = newLabelArray(data, data.length);
  filled.set(permuted);
  for (const label of foreground) {
    if (!present.has(label)) continue;
    const { outputImage } = await morphologicalContourInterpolationNode(
      // itk-wasm copies the input into wasm memory; pass a fresh copy since it may transfer the buffer.
      { ...image, data: permuted.slice() } as never,
      { label, axis: 2, useCustomSlicePositions: true, labeledSliceIndicesAxis: 2, labeledSliceIndicesLabel: label, labeledSliceIndices: annotatedSlices },
    );
    const result = (outputImage as { data: ArrayLike<number> }).data;
    for (const k of between) {
      for (let i = k * sliceSize, end = i + sliceSize; i < end; i++) {
        if (result[i] === label && filled[i] === 0) filled[i] = label;
      }
    }
  }
  permute(filled, labels.shape, order, true, out);
  return out;
}

export const mciMethod = {
  name: 'mci' as const,
  description: "ITK morphological contour interpolation (3D Slicer's Fill between slices) via itk-wasm",
  interpolate: interpolateMci,
};

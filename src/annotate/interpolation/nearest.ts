/** `nearest`: each unannotated slice copies the nearest annotated slice (a tie goes to the lower index). */
import { bracket, newLabelArray, readSlice, sliceGrid, writeSlice, type LabelArray, type MethodInput, type MethodOutput } from './slices.js';

export function interpolateNearest(input: MethodInput): MethodOutput {
  const { labels, axis, annotatedSlices } = input;
  const data = labels.data as LabelArray;
  const out = newLabelArray(data, data.length);
  out.set(data);
  const grid = sliceGrid(labels, axis);
  const slice = newLabelArray(data, grid.width * grid.height);
  for (let k = 0; k < labels.shape[axis]; k++) {
    const pair = bracket(annotatedSlices, k);
    if (!pair) continue;
    const [a, b] = pair;
    readSlice(data, grid, k - a <= b - k ? a : b, slice);
    writeSlice(out, grid, k, slice);
  }
  return out;
}

export const nearestMethod = {
  name: 'nearest' as const,
  description: 'each unannotated slice copies the nearest annotated slice',
  interpolate: async (input: MethodInput): Promise<MethodOutput> => interpolateNearest(input),
};

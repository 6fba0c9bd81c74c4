/**
 * `sdf`: per label, linear interpolation of signed Euclidean distance maps (exact transform, in-plane
 * spacing in mm) between the two annotated slices bracketing each unannotated slice. A voxel takes the
 * label whose interpolated distance is most negative; none below zero → background.
 *
 * Where a label's masks on the two bracketing slices do not overlap at all (a shape that moves further
 * than its own size), plain blending would make it vanish in between; there both maps are shifted so the
 * shape's centroid travels in a straight line from one slice to the other (shape-based interpolation with
 * centroid alignment), sampled bilinearly.
 *
 * A label present on one bracketing slice and absent on the other shrinks towards the empty side: the
 * absent slice's map is taken as the constant +ABSENT_DEPTH × (deepest inside distance of the present
 * shape): with 1, the shape shrinks and closes halfway between the two slices (a cap, not a cliff).
 */
import { signedDistance } from '../../util/distance-transform.js';
import { bracket, newLabelArray, readSlice, sliceGrid, type LabelArray, type MethodInput, type MethodOutput, type SliceGrid } from './slices.js';

/**
 * Chosen on the first 60 msd-hippocampus cases, fixed intervals 2/3/5 (mean Dice of labels 1/2 at k = 3:
 * 0.01 → 0.855/0.862, 0.5 → 0.893/0.878, 1 → 0.902/0.881, 2 → 0.896/0.879; same ranking at k = 2 and 5).
 */
export const ABSENT_DEPTH = 1;

interface LabelMap2D {
  present: boolean;
  mask: Uint8Array;
  /** Centroid in voxel units (u, v). */
  centroid: [number, number];
  /** Signed distance in mm, finite (a slice-filling label is clamped to minus the slice diagonal). */
  sdf: Float32Array;
  /** Deepest inside distance (≥ 0). */
  depth: number;
}

function labelMap2D(slice: LabelArray, label: number, grid: SliceGrid): LabelMap2D {
  const mask = new Uint8Array(slice.length);
  let present = false;
  for (let i = 0; i < slice.length; i++) if (slice[i] === label) { mask[i] = 1; present = true; }
  if (!present) return { present, mask, centroid: [0, 0], sdf: new Float32Array(0), depth: 0 };
  let su = 0, sv = 0, n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) { su += i % grid.width; sv += Math.floor(i / grid.width); n++; }
  const sdf = signedDistance(mask, [grid.width, grid.height], grid.spacing);
  const diagonal = Math.hypot(grid.width * grid.spacing[0], grid.height * grid.spacing[1]);
  let depth = 0;
  for (let i = 0; i < sdf.length; i++) {
    if (sdf[i] === -Infinity) sdf[i] = -diagonal;
    if (-sdf[i] > depth) depth = -sdf[i];
  }
  return { present, mask, centroid: [su / n, sv / n], sdf, depth };
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] && b[i]) return true;
  return false;
}

/** Bilinear sample of a 2D map at (u, v), coordinates clamped to the slice. */
function sample(map: Float32Array, width: number, height: number, u: number, v: number): number {
  u = Math.min(Math.max(u, 0), width - 1);
  v = Math.min(Math.max(v, 0), height - 1);
  const u0 = Math.min(Math.floor(u), width - 2 < 0 ? 0 : width - 2), v0 = Math.min(Math.floor(v), height - 2 < 0 ? 0 : height - 2);
  const u1 = Math.min(u0 + 1, width - 1), v1 = Math.min(v0 + 1, height - 1);
  const fu = u - u0, fv = v - v0;
  const top = map[u0 + width * v0] * (1 - fu) + map[u1 + width * v0] * fu;
  const bottom = map[u0 + width * v1] * (1 - fu) + map[u1 + width * v1] * fu;
  return top * (1 - fv) + bottom * fv;
}

export function interpolateSdf(input: MethodInput, absentDepth = ABSENT_DEPTH): MethodOutput {
  const { labels, axis, annotatedSlices, foreground } = input;
  const data = labels.data as LabelArray;
  const out = newLabelArray(data, data.length);
  out.set(data);
  const grid = sliceGrid(labels, axis);
  const size = grid.width * grid.height;
  const cache = new Map<number, Map<number, LabelMap2D>>();
  const mapsOf = (k: number): Map<number, LabelMap2D> => {
    let maps = cache.get(k);
    if (!maps) {
      const slice = newLabelArray(data, size);
      readSlice(data, grid, k, slice);
      maps = new Map(foreground.map((label) => [label, labelMap2D(slice, label, grid)]));
      cache.set(k, maps);
    }
    return maps;
  };
  const best = new Float32Array(size);
  const winner = new Uint32Array(size);
  for (let k = 0; k < labels.shape[axis]; k++) {
    const pair = bracket(annotatedSlices, k);
    if (!pair) continue;
    const [a, b] = pair;
    // Slices along one axis are evenly spaced, so the index ratio is the physical one.
    const t = (k - a) / (b - a);
    const mapsA = mapsOf(a), mapsB = mapsOf(b);
    best.fill(0);
    winner.fill(0);
    for (const label of foreground) {
      const la = mapsA.get(label)!, lb = mapsB.get(label)!;
      if (!la.present && !lb.present) continue;
      if (la.present && lb.present && !overlaps(la.mask, lb.mask)) {
        const du = lb.centroid[0] - la.centroid[0], dv = lb.centroid[1] - la.centroid[1];
        for (let i = 0, v = 0; v < grid.height; v++) {
          for (let u = 0; u < grid.width; u++, i++) {
            const phi = (1 - t) * sample(la.sdf, grid.width, grid.height, u - t * du, v - t * dv)
              + t * sample(lb.sdf, grid.width, grid.height, u + (1 - t) * du, v + (1 - t) * dv);
            if (phi < best[i]) { best[i] = phi; winner[i] = label; }
          }
        }
        continue;
      }
      const absentA = absentDepth * lb.depth, absentB = absentDepth * la.depth;
      for (let i = 0; i < size; i++) {
        const phi = (1 - t) * (la.present ? la.sdf[i] : absentA) + t * (lb.present ? lb.sdf[i] : absentB);
        if (phi < best[i]) { best[i] = phi; winner[i] = label; }
      }
    }
    let i = 0;
    for (let v = 0; v < grid.height; v++) for (let u = 0; u < grid.width; u++) out[grid.offset(k, u, v)] = winner[i++];
  }
  return out;
}

export const sdfMethod = {
  name: 'sdf' as const,
  description: 'per label, linear interpolation of signed distance maps between the bracketing annotated slices',
  interpolate: async (input: MethodInput): Promise<MethodOutput> => interpolateSdf(input),
};

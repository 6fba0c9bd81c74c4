/**
 * Surface distances between two binary masks, spacing-aware, for the Hausdorff metrics.
 *
 * Surface voxels are the foreground voxels with at least one 6-connected background neighbour; outside the
 * volume counts as background (as with scipy's binary erosion, so medpy and the DeepMind surface-distance
 * package agree). Voxels marked invalid (ground truth = ignore value) are neither foreground nor background:
 * a neighbour there does not make a surface, because the true boundary there is unknown.
 * Distances from each surface voxel of one mask to the nearest surface voxel of the other come from the
 * exact Euclidean distance transform of the other surface.
 */
import { distanceToMask } from '../util/distance-transform.js';
import type { Vec3 } from '../io/volume.js';

/** 1 on the surface voxels of `mask` (non-zero = foreground); `valid` (non-zero = counted) may be null. */
export function surfaceVoxels(mask: Uint8Array, shape: Vec3, valid: Uint8Array | null = null): Uint8Array {
  const [nx, ny, nz] = shape;
  const sy = nx;
  const sz = nx * ny;
  const surface = new Uint8Array(mask.length);
  // A neighbour "is background" when it is outside the volume, or valid and not foreground.
  const background = (o: number) => mask[o] === 0 && (valid === null || valid[o] !== 0);
  for (let k = 0, o = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        if (mask[o] === 0) continue;
        if (
          i === 0 || i === nx - 1 || j === 0 || j === ny - 1 || k === 0 || k === nz - 1 ||
          background(o - 1) || background(o + 1) || background(o - sy) || background(o + sy) ||
          background(o - sz) || background(o + sz)
        ) {
          surface[o] = 1;
        }
      }
    }
  }
  return surface;
}

/** Inclusive voxel bounding box [min, max] per axis of the non-zero voxels of any mask; null when all are empty. */
function boundingBox(masks: Uint8Array[], shape: Vec3): { min: Vec3; max: Vec3 } | null {
  const [nx, ny, nz] = shape;
  const min: Vec3 = [nx, ny, nz];
  const max: Vec3 = [-1, -1, -1];
  for (let k = 0, o = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        if (!masks.some((m) => m[o] !== 0)) continue;
        if (i < min[0]) min[0] = i;
        if (i > max[0]) max[0] = i;
        if (j < min[1]) min[1] = j;
        if (j > max[1]) max[1] = j;
        if (k < min[2]) min[2] = k;
        if (k > max[2]) max[2] = k;
      }
    }
  }
  return max[0] < 0 ? null : { min, max };
}

function crop(mask: Uint8Array, shape: Vec3, min: Vec3, cropShape: Vec3): Uint8Array {
  const out = new Uint8Array(cropShape[0] * cropShape[1] * cropShape[2]);
  let o = 0;
  for (let k = 0; k < cropShape[2]; k++) {
    for (let j = 0; j < cropShape[1]; j++) {
      const row = min[0] + shape[0] * (min[1] + j + shape[1] * (min[2] + k));
      for (let i = 0; i < cropShape[0]; i++) out[o++] = mask[row + i];
    }
  }
  return out;
}

/**
 * Distances (mm) from every surface voxel of `a` to the surface of `b`, then from every surface voxel of `b`
 * to the surface of `a`, in one array (the symmetric surface distances). Both surfaces must be non-empty.
 */
export function symmetricSurfaceDistances(surfaceA: Uint8Array, surfaceB: Uint8Array, shape: Vec3, spacing: Vec3): Float64Array {
  // Every surface voxel lies in the union's bounding box, so the transform restricted to it stays exact.
  const box = boundingBox([surfaceA, surfaceB], shape);
  if (!box) throw new Error('symmetricSurfaceDistances needs non-empty surfaces');
  const cropShape: Vec3 = [box.max[0] - box.min[0] + 1, box.max[1] - box.min[1] + 1, box.max[2] - box.min[2] + 1];
  const a = crop(surfaceA, shape, box.min, cropShape);
  const b = crop(surfaceB, shape, box.min, cropShape);
  const toA = distanceToMask(a, cropShape, spacing);
  const toB = distanceToMask(b, cropShape, spacing);
  let count = 0;
  for (let i = 0; i < a.length; i++) count += a[i] + b[i];
  const distances = new Float64Array(count);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) distances[n++] = toB[i];
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) distances[n++] = toA[i];
  return distances;
}


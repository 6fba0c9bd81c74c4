/**
 * Dice as a function of the distance (in slices, along the plan's axis) to the nearest annotated slice.
 * Pooled over cases: for each distance d and label, the intersections and voxel counts of every slice at
 * distance d of every case are summed, then Dice = 2·Σ|P∩G| / (Σ|P| + Σ|G|). Distance 0 is the annotated
 * slices themselves. Voxels whose reference is the ignore value are left out, as in metrics.ts.
 */
import type { Axis } from '../io/geometry.js';
import type { Vec3, VoxelArray } from '../io/volume.js';

export interface DistanceRow {
  /** Slices to the nearest annotated slice. */
  distance: number;
  label: number;
  /** Pooled Dice; null when neither prediction nor reference has this label at this distance. */
  dice: number | null;
  /** Slices at this distance, summed over cases. */
  slices: number;
  /** Cases with at least one slice at this distance. */
  cases: number;
  predictionVoxels: number;
  referenceVoxels: number;
  intersectionVoxels: number;
}

/** Distance of every slice index 0..sliceCount-1 to the nearest annotated index. */
export function sliceDistances(sliceCount: number, annotated: readonly number[]): Int32Array {
  if (annotated.length === 0) throw new Error('sliceDistances needs at least one annotated slice');
  const distances = new Int32Array(sliceCount).fill(2 ** 31 - 1);
  for (const a of annotated) {
    if (!Number.isInteger(a) || a < 0 || a >= sliceCount) throw new RangeError(`annotated slice ${a} is outside 0..${sliceCount - 1}`);
  }
  for (let s = 0; s < sliceCount; s++) {
    for (const a of annotated) distances[s] = Math.min(distances[s], Math.abs(s - a));
  }
  return distances;
}

interface VoxelCounts { prediction: number; reference: number; intersection: number }

/**
 * Collects per-slice counts case by case; `rows(labels)` gives the pooled table. Every non-zero value that
 * is not the ignore value is counted as a label, so the label set need not be known in advance.
 */
export class DistanceDiceAccumulator {
  /** Per distance: slices (summed over cases) and cases having that distance. */
  private readonly slicesAt = new Map<number, { slices: number; cases: number }>();
  /** Key `${distance}:${label}`. */
  private readonly voxels = new Map<string, VoxelCounts>();

  constructor(private readonly ignoreValue: number | null = null) {}

  /** Add one case: prediction and reference on the same grid, slices along `axis`, `annotated` indices. */
  addCase(prediction: VoxelArray, reference: VoxelArray, shape: Vec3, axis: Axis, annotated: readonly number[]): void {
    const distances = sliceDistances(shape[axis], annotated);
    const [nx, ny, nz] = shape;
    for (let k = 0, o = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++, o++) {
          const g = reference[o];
          if (g === this.ignoreValue) continue;
          const p = prediction[o];
          if (p === 0 && g === 0) continue;
          const d = distances[axis === 0 ? i : axis === 1 ? j : k];
          if (p !== 0) this.entry(d, p).prediction++;
          if (g !== 0) {
            const c = this.entry(d, g);
            c.reference++;
            if (p === g) c.intersection++;
          }
        }
      }
    }
    const caseDistances = new Set<number>();
    for (let s = 0; s < shape[axis]; s++) {
      const d = distances[s];
      const at = this.slicesAt.get(d) ?? { slices: 0, cases: 0 };
      at.slices++;
      if (!caseDistances.has(d)) at.cases++;
      caseDistances.add(d);
      this.slicesAt.set(d, at);
    }
  }

  private entry(distance: number, label: number): VoxelCounts {
    const key = `${distance}:${label}`;
    let c = this.voxels.get(key);
    if (!c) {
      c = { prediction: 0, reference: 0, intersection: 0 };
      this.voxels.set(key, c);
    }
    return c;
  }

  /** One row per distance (ascending) and label (in the order given). */
  rows(labels: readonly number[]): DistanceRow[] {
    const out: DistanceRow[] = [];
    for (const [distance, at] of [...this.slicesAt].sort((a, b) => a[0] - b[0])) {
      for (const label of labels) {
        const c = this.voxels.get(`${distance}:${label}`) ?? { prediction: 0, reference: 0, intersection: 0 };
        const total = c.prediction + c.reference;
        out.push({
          distance, label, dice: total === 0 ? null : (2 * c.intersection) / total, slices: at.slices, cases: at.cases,
          predictionVoxels: c.prediction, referenceVoxels: c.reference, intersectionVoxels: c.intersection,
        });
      }
    }
    return out;
  }
}

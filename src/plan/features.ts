/**
 * Image features for slice and volume selection (images only; labels are never read).
 *
 * Per-slice feature vector (SLICE_FEATURE_DIM = 272 values), used by the UAL strategies:
 *   1. The volume is normalized once: intensities clipped to its 0.5–99.5th percentiles, then z-scored
 *      (mean and SD over nonzero voxels; `normalizeForModel`), so scanners and bit depths compare.
 *   2. Grid (256 values): the normalized slice, resampled to a fixed 16 × 16 grid by averaging the pixels
 *      that fall in each cell (nearest pixel when the slice is smaller than the grid), so volumes of
 *      different in-plane sizes share one feature space. Captures the layout of the anatomy.
 *   3. Histogram (16 values): the fraction of the slice's pixels in 16 equal bins of z-score over
 *      [−3, 3] (values outside go to the end bins), times 16 so that both parts weigh comparably in
 *      Euclidean distance. Captures tissue content regardless of position.
 *
 * Volume-level feature vector (VOLUME_FEATURE_DIM = 528), used by `--volume-selection diverse`: the same
 * normalized volume resampled to an 8 × 8 × 8 grid (512) plus its 16-bin histogram (16, same scaling).
 *
 * "Body" slices (for fixed-interval `--range body`): a voxel is body when its intensity is above
 * min + 10% × (p99.5 − min) of the volume; a slice contains the body when at least 2% of its pixels are
 * (so background noise alone does not count).
 */
import { normalizeForModel, percentile } from '../io/normalize.js';
import type { Axis } from '../io/geometry.js';
import type { Volume } from '../io/volume.js';

export const GRID = 16;
export const HISTOGRAM_BINS = 16;
export const SLICE_FEATURE_DIM = GRID * GRID + HISTOGRAM_BINS;
export const VOLUME_GRID = 8;
export const VOLUME_FEATURE_DIM = VOLUME_GRID ** 3 + HISTOGRAM_BINS;
const HISTOGRAM_RANGE = 3;

/** Index of the histogram bin of a z-score. */
function histogramBin(z: number): number {
  const b = Math.floor(((z + HISTOGRAM_RANGE) / (2 * HISTOGRAM_RANGE)) * HISTOGRAM_BINS);
  return b < 0 ? 0 : b >= HISTOGRAM_BINS ? HISTOGRAM_BINS - 1 : b;
}

/** The cell of each of `size` pixels when resampled to `cells` cells, or −1 lists for nearest filling. */
function cellOf(size: number, cells: number): Int32Array {
  const out = new Int32Array(size);
  for (let p = 0; p < size; p++) out[p] = Math.min(cells - 1, Math.floor((p * cells) / size));
  return out;
}

/** Memory layout of the two in-plane axes of slices along `axis`: sizes and strides. */
function inPlane(volume: Volume, axis: Axis): { width: number; height: number; su: number; sv: number; sw: number } {
  const strides = volume.strides;
  const [a, b] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
  return { width: volume.shape[a], height: volume.shape[b], su: strides[a], sv: strides[b], sw: strides[axis] };
}

/**
 * Features of every slice along `axis`: a Float32Array of sliceCount × SLICE_FEATURE_DIM, row-major.
 * `normalized` is the normalized voxel array (from `normalizeForModel`), passed in so it is computed once.
 */
export function sliceFeatures(volume: Volume, axis: Axis, normalized: Float32Array = normalizeForModel(volume.data)): Float32Array {
  const { width, height, su, sv, sw } = inPlane(volume, axis);
  const count = volume.shape[axis];
  const out = new Float32Array(count * SLICE_FEATURE_DIM);
  const cellU = cellOf(width, GRID);
  const cellV = cellOf(height, GRID);
  const sums = new Float64Array(GRID * GRID);
  const hits = new Float64Array(GRID * GRID);
  const histogramScale = HISTOGRAM_BINS / (width * height);
  for (let s = 0; s < count; s++) {
    sums.fill(0);
    hits.fill(0);
    const row = s * SLICE_FEATURE_DIM;
    const base = s * sw;
    for (let v = 0; v < height; v++) {
      const line = base + v * sv;
      const cellRow = cellV[v] * GRID;
      for (let u = 0; u < width; u++) {
        const z = normalized[line + u * su];
        const cell = cellRow + cellU[u];
        sums[cell] += z;
        hits[cell]++;
        out[row + GRID * GRID + histogramBin(z)] += histogramScale;
      }
    }
    for (let gv = 0; gv < GRID; gv++) {
      for (let gu = 0; gu < GRID; gu++) {
        const cell = gv * GRID + gu;
        if (hits[cell] > 0) {
          out[row + cell] = sums[cell] / hits[cell];
        } else {
          // Slice narrower than the grid: take the pixel under the cell centre.
          const u = Math.min(width - 1, Math.floor(((gu + 0.5) * width) / GRID));
          const v = Math.min(height - 1, Math.floor(((gv + 0.5) * height) / GRID));
          out[row + cell] = normalized[base + v * sv + u * su];
        }
      }
    }
  }
  return out;
}

/** The volume-level feature vector (VOLUME_FEATURE_DIM values). */
export function volumeFeatures(volume: Volume, normalized: Float32Array = normalizeForModel(volume.data)): Float32Array {
  const [nx, ny, nz] = volume.shape;
  const out = new Float32Array(VOLUME_FEATURE_DIM);
  const cx = cellOf(nx, VOLUME_GRID), cy = cellOf(ny, VOLUME_GRID), cz = cellOf(nz, VOLUME_GRID);
  const sums = new Float64Array(VOLUME_GRID ** 3);
  const hits = new Float64Array(VOLUME_GRID ** 3);
  const histogramScale = HISTOGRAM_BINS / normalized.length;
  const grid = VOLUME_GRID ** 3;
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const cellYZ = (cz[z] * VOLUME_GRID + cy[y]) * VOLUME_GRID;
      for (let x = 0; x < nx; x++, i++) {
        const value = normalized[i];
        const cell = cellYZ + cx[x];
        sums[cell] += value;
        hits[cell]++;
        out[grid + histogramBin(value)] += histogramScale;
      }
    }
  }
  for (let cell = 0; cell < grid; cell++) {
    if (hits[cell] > 0) { out[cell] = sums[cell] / hits[cell]; continue; }
    // A dimension shorter than the grid: nearest voxel to the cell centre.
    const gx = cell % VOLUME_GRID, gy = Math.floor(cell / VOLUME_GRID) % VOLUME_GRID, gz = Math.floor(cell / VOLUME_GRID ** 2);
    const at = (g: number, n: number) => Math.min(n - 1, Math.floor(((g + 0.5) * n) / VOLUME_GRID));
    out[cell] = normalized[volume.index(at(gx, nx), at(gy, ny), at(gz, nz))];
  }
  return out;
}

/**
 * The first and last slice (inclusive) along `axis` that contain the body, by the rule in the file
 * header; the full range when no slice qualifies (e.g. a uniform volume).
 */
export function bodySliceRange(volume: Volume, axis: Axis): [number, number] {
  const data = volume.data;
  let min = Infinity;
  for (let i = 0; i < data.length; i++) if (data[i] < min) min = data[i];
  const high = percentile(data, 99.5);
  const threshold = min + 0.1 * (high - min);
  const { width, height, su, sv, sw } = inPlane(volume, axis);
  const count = volume.shape[axis];
  const needed = Math.max(1, Math.ceil(0.02 * width * height));
  let first = -1, last = -1;
  for (let s = 0; s < count; s++) {
    let body = 0;
    const base = s * sw;
    for (let v = 0; v < height && body < needed; v++) {
      const line = base + v * sv;
      for (let u = 0; u < width; u++) if (data[line + u * su] > threshold) body++;
    }
    if (body >= needed && high > min) {
      if (first < 0) first = s;
      last = s;
    }
  }
  return first < 0 ? [0, count - 1] : [first, last];
}

/**
 * Exact Euclidean distance transforms of binary masks in any number of dimensions (2D and 3D in practice),
 * spacing-aware. Separable: one pass per axis of the 1D squared-distance transform by the lower envelope of
 * parabolas (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions", 2012), which is exact
 * for squared Euclidean distance because it decomposes into a sum over axes.
 *
 * Layout: axis 0 varies fastest in memory (the `Volume` convention); `shape[i]` and `spacing[i]` per axis.
 * A voxel is foreground when its mask value is non-zero.
 */

function checkArguments(length: number, shape: readonly number[], spacing: readonly number[]): void {
  if (shape.length === 0 || shape.length !== spacing.length) {
    throw new Error(`shape (${shape.length} axes) and spacing (${spacing.length} axes) must have the same non-zero length`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== length) throw new Error(`mask length ${length} does not match shape ${shape.join('×')}`);
  for (const s of spacing) if (!(s > 0)) throw new Error(`spacing must be positive, got ${spacing.join(', ')}`);
}

/**
 * 1D squared distance transform of `f` (length n, sampled every `step` mm) into `out`:
 * out[p] = min_q ( (step·(p − q))² + f[q] ). Infinite samples never enter the envelope.
 * `vertices` (Int32, n) and `bounds` (Float64, n + 1) are scratch buffers.
 */
function transformLine(f: Float64Array, n: number, step: number, out: Float64Array, vertices: Int32Array, bounds: Float64Array): void {
  const step2 = step * step;
  let k = -1; // index of the rightmost parabola in the envelope
  for (let q = 0; q < n; q++) {
    const fq = f[q];
    if (fq === Infinity) continue;
    if (k < 0) {
      k = 0;
      vertices[0] = q;
      bounds[0] = -Infinity;
      bounds[1] = Infinity;
      continue;
    }
    // Intersection (in index units) of the parabola at q with the envelope's rightmost one; drop those it hides.
    // bounds[0] is −Infinity, so the loop always stops at k = 0 at the latest.
    let s: number;
    for (;;) {
      const r = vertices[k];
      s = ((fq + step2 * q * q) - (f[r] + step2 * r * r)) / (2 * step2 * (q - r));
      if (s <= bounds[k]) k--;
      else break;
    }
    k++;
    vertices[k] = q;
    bounds[k] = s;
    bounds[k + 1] = Infinity;
  }
  if (k < 0) {
    out.fill(Infinity, 0, n);
    return;
  }
  let j = 0;
  for (let p = 0; p < n; p++) {
    while (bounds[j + 1] < p) j++;
    const d = p - vertices[j];
    out[p] = step2 * d * d + f[vertices[j]];
  }
}

/** In place: squared distances along every axis in turn. */
function transformAllAxes(squared: Float64Array, shape: readonly number[], spacing: readonly number[]): void {
  const longest = Math.max(...shape);
  const line = new Float64Array(longest);
  const result = new Float64Array(longest);
  const vertices = new Int32Array(longest);
  const bounds = new Float64Array(longest + 1);
  const total = squared.length;
  let stride = 1;
  for (let axis = 0; axis < shape.length; axis++) {
    const n = shape[axis];
    const block = stride * n;
    if (n > 1) {
      // Lines along `axis` start at every offset whose coordinate on `axis` is 0.
      for (let blockStart = 0; blockStart < total; blockStart += block) {
        for (let inner = 0; inner < stride; inner++) {
          const start = blockStart + inner;
          for (let p = 0, o = start; p < n; p++, o += stride) line[p] = squared[o];
          transformLine(line, n, spacing[axis], result, vertices, bounds);
          for (let p = 0, o = start; p < n; p++, o += stride) squared[o] = result[p];
        }
      }
    }
    stride = block;
  }
}

/**
 * Squared Euclidean distance (mm²) from each voxel to the nearest voxel where `isTarget` holds;
 * Infinity everywhere when there is none.
 */
function squaredDistanceTo(mask: ArrayLike<number>, shape: readonly number[], spacing: readonly number[], target: boolean): Float64Array {
  checkArguments(mask.length, shape, spacing);
  const squared = new Float64Array(mask.length);
  for (let i = 0; i < mask.length; i++) squared[i] = (mask[i] !== 0) === target ? 0 : Infinity;
  transformAllAxes(squared, shape, spacing);
  return squared;
}

/** Euclidean distance (mm) from each voxel to the nearest foreground voxel: 0 on the mask, Infinity if the mask is empty. */
export function distanceToMask(mask: ArrayLike<number>, shape: readonly number[], spacing: readonly number[]): Float32Array {
  const squared = squaredDistanceTo(mask, shape, spacing, true);
  const out = new Float32Array(squared.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(squared[i]);
  return out;
}

/**
 * Signed distance (mm) to the mask boundary: outside, the distance to the nearest foreground voxel (> 0);
 * inside, minus the distance to the nearest background voxel (< 0). The zero level lies between the two
 * voxel layers on either side of the boundary. Empty mask: +Infinity everywhere; full mask: −Infinity.
 */
export function signedDistance(mask: ArrayLike<number>, shape: readonly number[], spacing: readonly number[]): Float32Array {
  const outside = squaredDistanceTo(mask, shape, spacing, true);
  const inside = squaredDistanceTo(mask, shape, spacing, false);
  const out = new Float32Array(mask.length);
  for (let i = 0; i < out.length; i++) out[i] = mask[i] !== 0 ? -Math.sqrt(inside[i]) : Math.sqrt(outside[i]);
  return out;
}

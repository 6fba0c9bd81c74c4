/**
 * Training samples from (sparse) labelled cases: 2D slices padded to one canvas planned from the dataset,
 * and 3D patches sampled with a bias toward supervised slices. Arrays are laid out as the engine wants
 * them: 2D H×W and 3D D×H×W with the last axis fastest.
 */
import type { Axis } from '../io/geometry.js';
import type { Random } from '../util/random.js';
import { channelView } from './channels.js';
import { DEFAULT_AUGMENT, IDENTITY_TRANSFORM, IGNORE, augmentPatch3D, jitterIntensity, randomPlaneTransform, resamplePlane, type AugmentOptions } from './augment.js';

/** One case ready for training: a normalized image and labels with IGNORE where nothing is known. */
export interface TrainingCase {
  id: string;
  shape: [number, number, number];
  /** Normalized intensities, channel-major: `channels` volumes one after another, each axis 0 fastest. */
  image: Float32Array;
  channels: number;
  /** Class indices 0..classes−1, IGNORE (255) where unsupervised. */
  labels: Uint8Array;
  /** Per-voxel loss weights (e.g. < 1 on interpolated slices), or null for all ones. */
  weights: Float32Array | null;
  axis: Axis;
  /** Slices along `axis` that carry supervision (annotated, plus interpolated when used). */
  supervisedSlices: number[];
}

/** The two in-plane voxel axes for a slicing axis, in increasing order (u fastest). */
export function planeAxes(axis: Axis): [Axis, Axis] {
  return axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
}

/** Round up to a multiple of m. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** Canvas H×W for 2D training: the largest in-plane extent over the cases, rounded up for the U-Net's poolings. */
export function plan2DCanvas(cases: Array<{ shape: [number, number, number]; axis: Axis }>, divisor: number): [number, number] {
  let h = 1, w = 1;
  for (const c of cases) {
    const [a, b] = planeAxes(c.axis);
    w = Math.max(w, c.shape[a]);
    h = Math.max(h, c.shape[b]);
  }
  return [roundUp(h, divisor), roundUp(w, divisor)];
}

/** 3D patch D×H×W (D along z = volume axis 2): the median shape rounded up, capped per axis. */
export function plan3DPatch(shapes: Array<[number, number, number]>, divisor: number, cap = 128): [number, number, number] {
  const median = (k: number) => {
    const v = shapes.map((s) => s[k]).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)];
  };
  return [2, 1, 0].map((k) => Math.min(roundUp(cap, divisor), roundUp(median(k), divisor))) as [number, number, number];
}

/** Copy slice `index` along `axis` from a volume-layout array into a plane (u fastest). */
export function extractPlane<T extends Float32Array | Uint8Array>(src: T, shape: [number, number, number], axis: Axis, index: number, out: T): T {
  const [a, b] = planeAxes(axis);
  const strides = [1, shape[0], shape[0] * shape[1]];
  const w = shape[a], h = shape[b];
  const base = index * strides[axis];
  const su = strides[a], sv = strides[b];
  for (let v = 0; v < h; v++) for (let u = 0; u < w; u++) out[v * w + u] = src[base + u * su + v * sv];
  return out;
}

/** Place a w×h plane at the centre of an W×H canvas (top-left offset returned). */
export function canvasOffset(w: number, h: number, canvasW: number, canvasH: number): [number, number] {
  return [Math.floor((canvasW - w) / 2), Math.floor((canvasH - h) / 2)];
}

export interface Batch {
  images: Float32Array;
  labels: Uint8Array;
  weights: Float32Array | null;
  /** N, C, then spatial dims. */
  shape: number[];
}

/** Smallest value (the fill for padding outside a slice or volume). */
export function minOf(a: Float32Array): number {
  let m = Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] < m) m = a[i];
  return m;
}

/**
 * A 2D batch: `size` supervised slices drawn at random from the cases, placed on the canvas, augmented
 * (one geometric transform for all channels of a slice, an intensity jitter per channel).
 * Canvas pixels outside the slice get the slice's minimum intensity (per channel) and the IGNORE label.
 */
export function sample2DBatch(cases: TrainingCase[], canvas: [number, number], size: number, rng: Random, augment: AugmentOptions | null = DEFAULT_AUGMENT): Batch {
  const [H, W] = canvas;
  const plane = H * W;
  const pool: Array<[number, number]> = [];
  cases.forEach((c, i) => c.supervisedSlices.forEach((s) => pool.push([i, s])));
  if (pool.length === 0) throw new Error('no supervised slices to sample');
  const channels = cases[0].channels;
  const images = new Float32Array(size * channels * plane);
  const labels = new Uint8Array(size * plane).fill(IGNORE);
  const anyWeights = cases.some((c) => c.weights);
  const weights = anyWeights ? new Float32Array(size * plane) : null;
  const canvasImg = new Float32Array(plane), canvasLab = new Uint8Array(plane), canvasW = new Float32Array(plane);
  for (let n = 0; n < size; n++) {
    const [ci, s] = pool[rng.int(pool.length)];
    const c = cases[ci];
    const [a, b] = planeAxes(c.axis);
    const w = c.shape[a], h = c.shape[b];
    const img = new Float32Array(w * h);
    const lab = extractPlane(c.labels, c.shape, c.axis, s, new Uint8Array(w * h));
    canvasLab.fill(IGNORE);
    canvasW.fill(0);
    const [ou, ov] = canvasOffset(w, h, W, H);
    for (let v = 0; v < h; v++) canvasLab.set(lab.subarray(v * w, v * w + w), (v + ov) * W + ou);
    if (c.weights) {
      const wt = extractPlane(c.weights, c.shape, c.axis, s, new Float32Array(w * h));
      for (let v = 0; v < h; v++) canvasW.set(wt.subarray(v * w, v * w + w), (v + ov) * W + ou);
    } else if (weights) {
      for (let v = 0; v < h; v++) canvasW.fill(1, (v + ov) * W + ou, (v + ov) * W + ou + w);
    }
    const t = augment ? randomPlaneTransform(rng, augment) : IDENTITY_TRANSFORM;
    for (let k = 0; k < channels; k++) {
      extractPlane(channelView(c.image, channels, k), c.shape, c.axis, s, img);
      const fill = minOf(img);
      canvasImg.fill(fill);
      for (let v = 0; v < h; v++) canvasImg.set(img.subarray(v * w, v * w + w), (v + ov) * W + ou);
      const outImg = images.subarray((n * channels + k) * plane, (n * channels + k + 1) * plane);
      resamplePlane(canvasImg, W, H, outImg, t, 'linear', fill);
      if (augment) jitterIntensity(outImg, rng, augment);
    }
    resamplePlane(canvasLab, W, H, labels.subarray(n * plane, (n + 1) * plane), t, 'nearest', IGNORE);
    if (weights) resamplePlane(canvasW, W, H, weights.subarray(n * plane, (n + 1) * plane), t, 'nearest', 0);
  }
  return { images, labels, weights, shape: [size, channels, H, W] };
}

/**
 * Crop a C×D×H×W patch (volume axes z, y, x) whose corner is (z0, y0, x0); outside the volume: the
 * channel's fill, label IGNORE, weight 0.
 */
export function cropPatch(c: TrainingCase, corner: [number, number, number], patch: [number, number, number], fills: readonly number[]):
  { image: Float32Array; labels: Uint8Array; weights: Float32Array | null } {
  const [D, H, W] = patch;
  const [nx, ny, nz] = c.shape;
  const vox = D * H * W, volumeVoxels = nx * ny * nz;
  const image = new Float32Array(c.channels * vox);
  fills.forEach((fill, k) => image.fill(fill, k * vox, (k + 1) * vox));
  const labels = new Uint8Array(D * H * W).fill(IGNORE);
  const weights = c.weights ? new Float32Array(D * H * W) : null;
  const [z0, y0, x0] = corner;
  for (let dz = 0; dz < D; dz++) {
    const z = z0 + dz;
    if (z < 0 || z >= nz) continue;
    for (let dy = 0; dy < H; dy++) {
      const y = y0 + dy;
      if (y < 0 || y >= ny) continue;
      const xStart = Math.max(0, x0), xEnd = Math.min(nx, x0 + W);
      if (xEnd <= xStart) continue;
      const src = xStart + nx * (y + ny * z);
      const dst = (dz * H + dy) * W + (xStart - x0);
      for (let k = 0; k < c.channels; k++) image.set(c.image.subarray(k * volumeVoxels + src, k * volumeVoxels + src + xEnd - xStart), k * vox + dst);
      labels.set(c.labels.subarray(src, src + xEnd - xStart), dst);
      if (weights && c.weights) weights.set(c.weights.subarray(src, src + xEnd - xStart), dst);
    }
  }
  return { image, labels, weights };
}

/**
 * A 3D batch of patches. The patch is centred on a random supervised slice along the slicing axis (so
 * every patch carries supervision) and at a random in-plane position; when a volume is smaller than the
 * patch it is centred with padding.
 */
export function sample3DBatch(cases: TrainingCase[], patch: [number, number, number], size: number, rng: Random, augment: AugmentOptions | null = DEFAULT_AUGMENT): Batch {
  const [D, H, W] = patch;
  const vox = D * H * W;
  const usable = cases.filter((c) => c.supervisedSlices.length > 0);
  if (usable.length === 0) throw new Error('no supervised slices to sample');
  const channels = usable[0].channels;
  const images = new Float32Array(size * channels * vox);
  const labels = new Uint8Array(size * vox);
  const anyWeights = usable.some((c) => c.weights);
  const weights = anyWeights ? new Float32Array(size * vox) : null;
  for (let n = 0; n < size; n++) {
    const c = usable[rng.int(usable.length)];
    const [nx, ny, nz] = c.shape;
    const extent = [nz, ny, nx];
    const corner = [0, 0, 0] as [number, number, number];
    const slice = c.supervisedSlices[rng.int(c.supervisedSlices.length)];
    // Patch dims in volume-axis order: D ↔ z (axis 2), H ↔ y (axis 1), W ↔ x (axis 0).
    for (let k = 0; k < 3; k++) {
      const volumeAxis = 2 - k;
      const size = patch[k], n = extent[k];
      if (n <= size) corner[k] = -Math.floor((size - n) / 2);
      else if (volumeAxis === c.axis) {
        // Any corner that keeps the supervised slice inside the patch.
        const lo = Math.max(0, slice - size + 1), hi = Math.min(n - size, slice);
        corner[k] = lo + rng.int(hi - lo + 1);
      } else corner[k] = rng.int(n - size + 1);
    }
    const fills = Array.from({ length: channels }, (_, k) => minOf(channelView(c.image, channels, k)));
    const crop = cropPatch(c, corner, patch, fills);
    if (!c.weights && weights) crop.weights = new Float32Array(vox).fill(1);
    if (augment) augmentPatch3D(crop.image, crop.labels, crop.weights, patch, rng, augment, fills);
    images.set(crop.image, n * channels * vox);
    labels.set(crop.labels, n * vox);
    if (weights && crop.weights) weights.set(crop.weights, n * vox);
  }
  return { images, labels, weights, shape: [size, channels, D, H, W] };
}

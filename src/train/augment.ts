/**
 * Data augmentation on plain arrays: in-plane affine (rotation, scaling, flips) resampled bilinearly for the
 * image and by nearest neighbour for labels and weights, and an intensity jitter. Voxels that the transform
 * brings in from outside the slice get the image's fill value and the IGNORE label, so they never count
 * in the loss.
 */
import type { Random } from '../util/random.js';

/** Internal label value of "not annotated / not supervised" in training arrays. */
export const IGNORE = 255;

export interface AugmentOptions {
  /** Largest rotation in degrees (uniform in ±). */
  maxRotationDeg: number;
  /** Scale factor range. */
  scale: [number, number];
  flip: boolean;
  /** Multiplicative intensity range and additive Gaussian sd (images are z-scored). */
  intensityScale: [number, number];
  intensityShiftSd: number;
}

export const DEFAULT_AUGMENT: AugmentOptions = {
  maxRotationDeg: 15,
  scale: [0.85, 1.15],
  flip: true,
  intensityScale: [0.9, 1.1],
  intensityShiftSd: 0.1,
};

/** A 2D affine map from output pixel to source pixel: src = A · (dst − c) + c. */
export interface PlaneTransform {
  a: number; b: number; c: number; d: number;
  flipU: boolean; flipV: boolean;
}

export function randomPlaneTransform(rng: Random, options: AugmentOptions): PlaneTransform {
  const theta = ((rng.next() * 2 - 1) * options.maxRotationDeg * Math.PI) / 180;
  const s = options.scale[0] + rng.next() * (options.scale[1] - options.scale[0]);
  const cos = Math.cos(theta) / s, sin = Math.sin(theta) / s;
  return {
    a: cos, b: -sin, c: sin, d: cos,
    flipU: options.flip && rng.next() < 0.5,
    flipV: options.flip && rng.next() < 0.5,
  };
}

export const IDENTITY_TRANSFORM: PlaneTransform = { a: 1, b: 0, c: 0, d: 1, flipU: false, flipV: false };

function isIdentity(t: PlaneTransform): boolean {
  return t.a === 1 && t.b === 0 && t.c === 0 && t.d === 1;
}

/**
 * Resample one plane (width w, height h, u fastest) under `t`. `mode` 'linear' for images, 'nearest' for
 * labels and weights; `fill` for samples that fall outside.
 */
export function resamplePlane(
  src: ArrayLike<number>, w: number, h: number, out: Float32Array | Uint8Array, t: PlaneTransform, mode: 'linear' | 'nearest', fill: number,
): void {
  const cu = (w - 1) / 2, cv = (h - 1) / 2;
  if (isIdentity(t)) {
    for (let v = 0; v < h; v++) {
      const sv = t.flipV ? h - 1 - v : v;
      for (let u = 0; u < w; u++) out[v * w + u] = src[sv * w + (t.flipU ? w - 1 - u : u)];
    }
    return;
  }
  for (let v = 0; v < h; v++) {
    const dv = (t.flipV ? h - 1 - v : v) - cv;
    for (let u = 0; u < w; u++) {
      const du = (t.flipU ? w - 1 - u : u) - cu;
      const x = t.a * du + t.b * dv + cu;
      const y = t.c * du + t.d * dv + cv;
      let value = fill;
      if (mode === 'nearest') {
        const xi = Math.round(x), yi = Math.round(y);
        if (xi >= 0 && xi < w && yi >= 0 && yi < h) value = src[yi * w + xi];
      } else if (x > -1 && x < w && y > -1 && y < h) {
        const x0 = Math.floor(x), y0 = Math.floor(y);
        const fx = x - x0, fy = y - y0;
        const at = (xx: number, yy: number) => (xx >= 0 && xx < w && yy >= 0 && yy < h ? src[yy * w + xx] : fill);
        value = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      }
      out[v * w + u] = value;
    }
  }
}

/** In place: x · m + b with m uniform in `intensityScale` and b ~ N(0, intensityShiftSd). */
export function jitterIntensity(image: Float32Array, rng: Random, options: AugmentOptions): void {
  const m = options.intensityScale[0] + rng.next() * (options.intensityScale[1] - options.intensityScale[0]);
  const b = rng.normal() * options.intensityShiftSd;
  for (let i = 0; i < image.length; i++) image[i] = image[i] * m + b;
}

/**
 * Augment a C×D×H×W patch (W fastest) in place: the same in-plane transform for every one of its D planes
 * (planes perpendicular to the slicing axis, which the caller arranges as the D axis) and every channel, a
 * flip along D, and an intensity jitter per channel. `fills` holds each channel's value for outside samples.
 */
export function augmentPatch3D(
  image: Float32Array, labels: Uint8Array, weights: Float32Array | null, dims: [number, number, number], rng: Random, options: AugmentOptions, fills: readonly number[],
): void {
  const [d, h, w] = dims;
  const t = randomPlaneTransform(rng, options);
  const flipD = options.flip && rng.next() < 0.5;
  const plane = w * h, vox = d * plane;
  const imgTmp = new Float32Array(plane), labTmp = new Uint8Array(plane), wTmp = new Float32Array(plane);
  const imgOut = new Float32Array(image.length), labOut = new Uint8Array(labels.length), wOut = weights ? new Float32Array(weights.length) : null;
  for (let z = 0; z < d; z++) {
    const src = z * plane;
    const dst = (flipD ? d - 1 - z : z) * plane;
    fills.forEach((fill, k) => {
      resamplePlane(image.subarray(k * vox + src, k * vox + src + plane), w, h, imgTmp, t, 'linear', fill);
      imgOut.set(imgTmp, k * vox + dst);
    });
    resamplePlane(labels.subarray(src, src + plane), w, h, labTmp, t, 'nearest', IGNORE);
    labOut.set(labTmp, dst);
    if (weights && wOut) {
      resamplePlane(weights.subarray(src, src + plane), w, h, wTmp, t, 'nearest', 0);
      wOut.set(wTmp, dst);
    }
  }
  image.set(imgOut);
  labels.set(labOut);
  if (weights && wOut) weights.set(wOut);
  for (let k = 0; k < fills.length; k++) jitterIntensity(image.subarray(k * vox, (k + 1) * vox), rng, options);
}

/** Small synthetic sparse annotations for the interpolation edge-case tests. */
import { Volume, IDENTITY, type Vec3 } from '../../src/io/volume.js';
import type { SparseLabels } from '../../src/annotate/sparse.js';

export const SIZE: Vec3 = [40, 40, 9];
export const IGNORE = 3;

export interface Disk { x: number; y: number; r: number; label: number }

/** A sparse annotation along axis 2: `slices` maps each annotated slice to the disks drawn on it. */
export function diskSparse(slices: Record<number, Disk[]>, size: Vec3 = SIZE, spacing: Vec3 = [1, 1, 1]): SparseLabels {
  const [nx, ny, nz] = size;
  const data = new Uint8Array(nx * ny * nz).fill(IGNORE);
  for (const [key, disks] of Object.entries(slices)) {
    const k = Number(key);
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        let value = 0;
        for (const d of disks) if ((x - d.x) ** 2 + (y - d.y) ** 2 <= d.r * d.r) value = d.label;
        data[x + nx * (y + ny * k)] = value;
      }
    }
  }
  const labels = new Volume(data, { shape: size, spacing, origin: [0, 0, 0], direction: IDENTITY });
  return { caseId: 'synthetic', labels, ignoreValue: IGNORE, axis: 2, annotatedSlices: Object.keys(slices).map(Number).sort((a, b) => a - b), interpolatedSlices: [] };
}

/** Voxels with `label` on slice k (axis 2). */
export function area(volume: Volume, k: number, label: number): number {
  const [nx, ny] = volume.shape;
  let n = 0;
  for (let i = k * nx * ny; i < (k + 1) * nx * ny; i++) if (volume.data[i] === label) n++;
  return n;
}

/** Mean x of the voxels with `label` on slice k; NaN when there are none. */
export function centroidX(volume: Volume, k: number, label: number): number {
  const [nx, ny] = volume.shape;
  let n = 0, sx = 0;
  for (let i = k * nx * ny; i < (k + 1) * nx * ny; i++) if (volume.data[i] === label) { n++; sx += (i - k * nx * ny) % nx; }
  return sx / n;
}

/** 4-connected components of `label` on slice k. */
export function components(volume: Volume, k: number, label: number): number {
  const [nx, ny] = volume.shape;
  const base = k * nx * ny;
  const seen = new Uint8Array(nx * ny);
  let count = 0;
  for (let start = 0; start < nx * ny; start++) {
    if (seen[start] || volume.data[base + start] !== label) continue;
    count++;
    const stack = [start];
    seen[start] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % nx, y = Math.floor(p / nx);
      for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
        const qx = x + dx, qy = y + dy;
        if (qx < 0 || qy < 0 || qx >= nx || qy >= ny) continue;
        const q = qx + nx * qy;
        if (!seen[q] && volume.data[base + q] === label) { seen[q] = 1; stack.push(q); }
      }
    }
  }
  return count;
}

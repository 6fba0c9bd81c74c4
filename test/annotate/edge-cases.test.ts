import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolateSparse } from '../../src/annotate/interpolate.js';
import { INTERPOLATION_METHOD_NAMES, type InterpolationMethodName } from '../../src/annotate/interpolation/registry.js';
import type { SparseLabels } from '../../src/annotate/sparse.js';
import { Volume } from '../../src/io/volume.js';
import { IGNORE, area, centroidX, components, diskSparse } from './synthetic.js';

const areas = (v: Volume, label: number) => Array.from({ length: v.shape[2] }, (_, k) => area(v, k, label));

async function run(sparse: SparseLabels, method: InterpolationMethodName, extrapolate: 'unknown' | 'background' = 'unknown') {
  return interpolateSparse(sparse, { method, extrapolate });
}

test('a shape that moves further than its own size between two annotated slices', async () => {
  const sparse = diskSparse({ 0: [{ x: 10, y: 20, r: 5, label: 1 }], 8: [{ x: 30, y: 20, r: 5, label: 1 }] });
  // sdf aligns centroids when the two masks do not overlap: one disk travelling in a straight line.
  const sdf = (await run(sparse, 'sdf')).sparse.labels;
  for (let k = 1; k < 8; k++) {
    assert.equal(components(sdf, k, 1), 1, `sdf slice ${k}`);
    assert.ok(Math.abs(centroidX(sdf, k, 1) - (10 + 2.5 * k)) < 0.6, `sdf slice ${k} centroid ${centroidX(sdf, k, 1)}`);
    assert.ok(area(sdf, k, 1) >= 69 && area(sdf, k, 1) <= 81, `sdf slice ${k} area ${area(sdf, k, 1)}`);
  }
  // MCI keeps the shape on every slice (it never vanishes) and moves it monotonically across.
  const mci = (await run(sparse, 'mci')).sparse.labels;
  assert.deepEqual(areas(mci, 1), [81, 78, 62, 54, 58, 54, 62, 78, 81]);
  for (let k = 1; k < 9; k++) assert.ok(centroidX(mci, k, 1) >= centroidX(mci, k - 1, 1));
  // nearest jumps at the midpoint (a tie goes to the lower slice).
  const nearest = (await run(sparse, 'nearest')).sparse.labels;
  assert.deepEqual(Array.from({ length: 9 }, (_, k) => centroidX(nearest, k, 1)), [10, 10, 10, 10, 10, 30, 30, 30, 30]);
});

test('a shape that splits into two', async () => {
  const sparse = diskSparse({ 0: [{ x: 20, y: 20, r: 9, label: 1 }], 8: [{ x: 10, y: 20, r: 5, label: 1 }, { x: 30, y: 20, r: 5, label: 1 }] });
  const counts = async (method: InterpolationMethodName) => {
    const v = (await run(sparse, method)).sparse.labels;
    return Array.from({ length: 9 }, (_, k) => components(v, k, 1));
  };
  assert.deepEqual(await counts('sdf'), [1, 1, 1, 1, 1, 1, 2, 2, 2]);
  assert.deepEqual(await counts('mci'), [1, 1, 1, 1, 2, 2, 2, 2, 2]);
  assert.deepEqual(await counts('nearest'), [1, 1, 1, 1, 1, 2, 2, 2, 2]);
});

test('a label present on one annotated slice and absent on the next closes in between; the other label is untouched', async () => {
  const sparse = diskSparse({ 0: [{ x: 20, y: 20, r: 8, label: 1 }, { x: 20, y: 30, r: 4, label: 2 }], 8: [{ x: 20, y: 30, r: 4, label: 2 }] });
  const sdf = (await run(sparse, 'sdf')).sparse.labels;
  // Shrinks and closes halfway (ABSENT_DEPTH = 1).
  assert.deepEqual(areas(sdf, 1), [190, 146, 93, 37, 0, 0, 0, 0, 0]);
  const mci = (await run(sparse, 'mci')).sparse.labels;
  assert.deepEqual(areas(mci, 1), [190, 154, 121, 89, 89, 57, 37, 13, 0]);
  const nearest = (await run(sparse, 'nearest')).sparse.labels;
  assert.deepEqual(areas(nearest, 1), [190, 190, 190, 190, 190, 0, 0, 0, 0]);
  for (const v of [sdf, mci, nearest]) assert.deepEqual(areas(v, 2), [49, 49, 49, 49, 49, 49, 49, 49, 49]);
});

test('an empty annotated slice stays empty and bounds the interpolation (MCI gets the slice positions explicitly)', async () => {
  const disk = [{ x: 20, y: 20, r: 8, label: 1 }];
  const sparse = diskSparse({ 0: disk, 4: [], 8: disk });
  const expected: Record<InterpolationMethodName, number[]> = {
    mci: [197, 121, 89, 37, 0, 37, 89, 121, 197],
    sdf: [197, 101, 0, 0, 0, 0, 0, 101, 197],
    nearest: [197, 197, 197, 0, 0, 0, 0, 197, 197],
  };
  for (const method of INTERPOLATION_METHOD_NAMES) {
    const result = await run(sparse, method);
    assert.deepEqual(areas(result.sparse.labels, 1), expected[method], method);
    assert.deepEqual(result.interpolatedSlices, [1, 2, 3, 5, 6, 7], method);
    assert.deepEqual(result.sparse.annotatedSlices, [0, 4, 8]);
  }
});

test('every annotated slice empty: every interpolated slice is background', async () => {
  const sparse = diskSparse({ 1: [], 4: [], 7: [] });
  for (const method of INTERPOLATION_METHOD_NAMES) {
    const result = await run(sparse, method);
    const v = result.sparse.labels;
    assert.deepEqual(result.interpolatedSlices, [2, 3, 5, 6], method);
    assert.deepEqual(areas(v, 0), [0, 1600, 1600, 1600, 1600, 1600, 1600, 1600, 0], method);
    assert.deepEqual(areas(v, IGNORE), [1600, 0, 0, 0, 0, 0, 0, 0, 1600], method);
  }
});

test('a single annotated slice: nothing to interpolate; outside stays unknown unless extrapolating background', async () => {
  const sparse = diskSparse({ 4: [{ x: 20, y: 20, r: 6, label: 2 }] });
  for (const method of INTERPOLATION_METHOD_NAMES) {
    const unknown = await run(sparse, method);
    assert.deepEqual(unknown.interpolatedSlices, []);
    assert.deepEqual(areas(unknown.sparse.labels, IGNORE), [1600, 1600, 1600, 1600, 0, 1600, 1600, 1600, 1600]);
    assert.equal(area(unknown.sparse.labels, 4, 2), 113);
    const background = await run(sparse, method, 'background');
    assert.deepEqual(background.interpolatedSlices, [0, 1, 2, 3, 5, 6, 7, 8]);
    assert.deepEqual(background.extrapolatedSlices, [0, 1, 2, 3, 5, 6, 7, 8]);
    assert.deepEqual(areas(background.sparse.labels, 0), [1600, 1600, 1600, 1600, 1600 - 113, 1600, 1600, 1600, 1600]);
  }
});

test('annotated slices are never altered, and slicing along axis 0 gives the same result as along axis 2', async () => {
  const sparse = diskSparse({ 1: [{ x: 12, y: 18, r: 6, label: 1 }, { x: 26, y: 20, r: 5, label: 2 }], 6: [{ x: 16, y: 20, r: 8, label: 1 }, { x: 28, y: 22, r: 4, label: 2 }] });
  // The same annotation with voxel axes permuted (x, y, z) → (z, x, y): slices along axis 0.
  const [nx, ny, nz] = sparse.labels.shape;
  const permuted = new Uint8Array(nx * ny * nz);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) permuted[z + nz * (x + nx * y)] = sparse.labels.data[x + nx * (y + ny * z)];
  const along0: SparseLabels = { ...sparse, axis: 0, labels: new Volume(permuted, { ...sparse.labels.geometry, shape: [nz, nx, ny] }) };
  for (const method of INTERPOLATION_METHOD_NAMES) {
    const a = (await run(sparse, method)).sparse.labels.data;
    const b = (await run(along0, method)).sparse.labels.data;
    let same = true;
    for (let z = 0; z < nz && same; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) if (a[x + nx * (y + ny * z)] !== b[z + nz * (x + nx * y)]) same = false;
    assert.ok(same, method);
    for (const k of [1, 6]) for (let i = k * nx * ny; i < (k + 1) * nx * ny; i++) assert.equal(a[i], sparse.labels.data[i]);
  }
});

test('anisotropic spacing: 3 mm slices fill like 1 mm slices; sdf measures distances in mm in-plane', async () => {
  const slices = { 0: [{ x: 14, y: 20, r: 6, label: 1 }], 8: [{ x: 24, y: 20, r: 9, label: 1 }] };
  // Slice spacing only scales positions along the axis: the fill between two slices is the same.
  for (const method of INTERPOLATION_METHOD_NAMES) {
    const thin = (await run(diskSparse(slices, undefined, [1, 1, 1]), method)).sparse.labels.data;
    const thick = (await run(diskSparse(slices, undefined, [0.7, 0.7, 3]), method)).sparse.labels.data;
    assert.deepEqual(Array.from(thick), Array.from(thin), method);
  }
  // In-plane 0.5 × 1 mm: circles of 4 mm and 8 mm (in mm) are voxel ellipses; halfway, sdf gives the 6 mm
  // circle in mm (221 voxels on this grid), as wide in mm along x as along y.
  const [nx, ny] = [48, 28];
  const data = new Uint8Array(nx * ny * 9).fill(IGNORE);
  for (const [k, radius] of [[0, 4], [8, 8]] as const) {
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) data[x + nx * (y + ny * k)] = Math.hypot(0.5 * (x - 24), y - 14) <= radius ? 1 : 0;
  }
  const sparse: SparseLabels = {
    caseId: 'anisotropic', labels: new Volume(data, { shape: [nx, ny, 9], spacing: [0.5, 1, 3], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }),
    ignoreValue: IGNORE, axis: 2, annotatedSlices: [0, 8], interpolatedSlices: [],
  };
  const mid = (await run(sparse, 'sdf')).sparse.labels;
  let both = 0, inMid = 0, inDisk = 0, xExtent = 0, yExtent = 0;
  for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const filled = mid.data[x + nx * (y + ny * 4)] === 1;
    const disk = Math.hypot(0.5 * (x - 24), y - 14) <= 6;
    if (filled) { inMid++; xExtent = Math.max(xExtent, Math.abs(x - 24) * 0.5); yExtent = Math.max(yExtent, Math.abs(y - 14)); }
    if (disk) inDisk++;
    if (filled && disk) both++;
  }
  assert.equal(inDisk, 221);
  assert.ok((2 * both) / (inMid + inDisk) > 0.97, `sdf halfway vs the 6 mm disk: ${inMid} voxels filled, ${both} shared`);
  assert.equal(xExtent, 6);
  assert.equal(yExtent, 6);
});

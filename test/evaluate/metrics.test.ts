import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readVolume } from '../../src/io/read.js';
import type { Vec3 } from '../../src/io/volume.js';
import { caseMetrics, labelMetrics, validVoxels } from '../../src/evaluate/metrics.js';
import { surfaceVoxels } from '../../src/evaluate/surface-distance.js';
import { percentile } from '../../src/io/normalize.js';
import { NO_DATA, hippocampusCase } from '../helpers.js';

/** A volume of `shape` that is `value` at the listed voxels, 0 elsewhere. */
function voxels(shape: Vec3, value: number, points: Array<[number, number, number]>): Uint8Array {
  const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (const [i, j, k] of points) data[i + shape[0] * (j + shape[1] * k)] = value;
  return data;
}

function sum(a: Uint8Array): number {
  return a.reduce((s, v) => s + v, 0);
}

/** Shift every voxel by +1 along `axis` (voxels leaving the grid are dropped). */
function shiftByOne(data: ArrayLike<number>, shape: Vec3, axis: 0 | 1 | 2): Uint8Array {
  const out = new Uint8Array(data.length);
  const [nx, ny, nz] = shape;
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
    const to = [i, j, k];
    to[axis]++;
    if (to[axis] >= shape[axis]) continue;
    out[to[0] + nx * (to[1] + ny * to[2])] = data[i + nx * (j + ny * k)];
  }
  return out;
}

test('surface voxels: 6-connected boundary, the volume border counts as background, ignored neighbours do not', () => {
  const shape: Vec3 = [5, 5, 5];
  const cube: Array<[number, number, number]> = [];
  for (let i = 1; i <= 3; i++) for (let j = 1; j <= 3; j++) for (let k = 1; k <= 3; k++) cube.push([i, j, k]);
  const surface = surfaceVoxels(voxels(shape, 1, cube), shape);
  assert.equal(sum(surface), 26); // all but the centre
  assert.equal(surface[2 + 5 * (2 + 5 * 2)], 0);
  // The same cube against the i = 0 border: (0,2,2) is surface only because outside counts as background.
  const atBorder = surfaceVoxels(voxels(shape, 1, cube.map(([i, j, k]) => [i - 1, j, k])), shape);
  assert.equal(sum(atBorder), 26);
  assert.equal(atBorder[0 + 5 * (2 + 5 * 2)], 1);
  // Everything outside the cube ignored: no neighbour is background any more, so no surface at all.
  const valid = voxels(shape, 1, cube);
  assert.equal(sum(surfaceVoxels(voxels(shape, 1, cube), shape, valid)), 0);
});

test('percentile interpolates linearly between order statistics (numpy default)', () => {
  assert.equal(percentile(Float64Array.from([2, 2.5, 2]), 95), 2.45);
  assert.ok(Math.abs(percentile(Float64Array.from([0, 0, 0, 0, 3]), 95) - 2.4) < 1e-12);
  assert.equal(percentile(Float64Array.from([5, 1, 3, 2, 4]), 50), 3); // sorts first
  assert.equal(percentile(Float64Array.from([7]), 95), 7);
});

test('HD95 with anisotropic spacing on hand-made volumes (values worked out by hand)', () => {
  // Grid 4×2×1, spacing 0.5 × 2 × 1 mm. Prediction: voxels (0,0,0) and (3,0,0); reference: (0,1,0).
  // Prediction → reference: 2 mm and √(1.5² + 2²) = 2.5 mm; reference → prediction: 2 mm.
  // Pooled [2, 2, 2.5]: the 95th percentile sits at rank 1.9 → 2 + 0.9·0.5 = 2.45 mm.
  const shape: Vec3 = [4, 2, 1];
  const spacing: Vec3 = [0.5, 2, 1];
  const prediction = voxels(shape, 1, [[0, 0, 0], [3, 0, 0]]);
  const reference = voxels(shape, 1, [[0, 1, 0]]);
  const m = labelMetrics(prediction, reference, shape, spacing, 1, null);
  assert.equal(m.status, 'both-present');
  assert.equal(m.dice, 0);
  assert.equal(m.iou, 0);
  assert.ok(Math.abs(m.hd95! - 2.45) < 1e-6, `hd95 ${m.hd95}`);

  // One voxel each, diagonal in the (0, 2) plane: spacing 0.7 × 1 × 2.5 → √(0.7² + 2.5²) both ways.
  const shape2: Vec3 = [3, 3, 3];
  const spacing2: Vec3 = [0.7, 1, 2.5];
  const m2 = labelMetrics(voxels(shape2, 2, [[0, 1, 1]]), voxels(shape2, 2, [[1, 1, 2]]), shape2, spacing2, 2, null);
  assert.ok(Math.abs(m2.hd95! - Math.sqrt(0.49 + 6.25)) < 1e-6, `hd95 ${m2.hd95}`);
});

test('empty against empty counts as Dice 1, IoU 1, HD95 0; one side empty is Dice 0 with HD95 null', () => {
  const shape: Vec3 = [4, 4, 4];
  const spacing: Vec3 = [1, 1, 1];
  const empty = new Uint8Array(64);
  const some = voxels(shape, 1, [[1, 1, 1], [2, 1, 1]]);
  assert.deepEqual(labelMetrics(empty, empty, shape, spacing, 1, null), {
    label: 1, dice: 1, iou: 1, hd95: 0, predictionVoxels: 0, referenceVoxels: 0, intersectionVoxels: 0, status: 'both-empty',
  });
  const predEmpty = labelMetrics(empty, some, shape, spacing, 1, null);
  assert.equal(predEmpty.status, 'prediction-empty');
  assert.equal(predEmpty.dice, 0);
  assert.equal(predEmpty.hd95, null);
  const refEmpty = labelMetrics(some, empty, shape, spacing, 1, null);
  assert.equal(refEmpty.status, 'reference-empty');
  assert.equal(refEmpty.iou, 0);
  assert.equal(refEmpty.hd95, null);
});

test('voxels whose reference is the ignore value are left out of every metric', () => {
  // One row of six voxels: reference [1 1 3 3 0 0], prediction [1 1 1 1 1 0], ignore value 3.
  const shape: Vec3 = [6, 1, 1];
  const reference = Uint8Array.from([1, 1, 3, 3, 0, 0]);
  const prediction = Uint8Array.from([1, 1, 1, 1, 1, 0]);
  const counted = labelMetrics(prediction, reference, shape, [1, 1, 1], 1, null);
  assert.equal(counted.dice, (2 * 2) / (5 + 2));
  const valid = validVoxels(reference, 3);
  assert.deepEqual([...valid!], [1, 1, 0, 0, 1, 1]);
  const m = labelMetrics(prediction, reference, shape, [1, 1, 1], 1, valid);
  // Valid voxels 0, 1, 4, 5: prediction {0, 1, 4}, reference {0, 1}.
  assert.equal(m.predictionVoxels, 3);
  assert.equal(m.referenceVoxels, 2);
  assert.equal(m.dice, 4 / 5);
  assert.equal(m.iou, 2 / 3);
  // Distances: prediction → reference 0, 0, 3; reference → prediction 0, 0. 95th percentile of [0,0,0,0,3] = 2.4.
  assert.ok(Math.abs(m.hd95! - 2.4) < 1e-9, `hd95 ${m.hd95}`);
  assert.equal(validVoxels(reference, 7), null); // nothing carries that value
});

test('real label against itself: Dice 1, IoU 1, HD95 0 for both labels', { skip: NO_DATA }, async () => {
  const label = await readVolume(hippocampusCase('hippocampus_001').label);
  const metrics = caseMetrics(label, label, [1, 2]);
  for (const m of metrics) {
    assert.equal(m.dice, 1);
    assert.equal(m.iou, 1);
    assert.equal(m.hd95, 0);
    assert.equal(m.status, 'both-present');
  }
  assert.deepEqual(metrics.map((m) => m.referenceVoxels), [1324, 1624]);
});

test('real label shifted by one voxel: Dice as counted voxel by voxel, HD95 exactly 1 mm along each axis', { skip: NO_DATA }, async () => {
  const label = await readVolume(hippocampusCase('hippocampus_001').label);
  assert.deepEqual(label.spacing, [1, 1, 1]);
  const [nx, ny, nz] = label.shape;
  for (const axis of [0, 1, 2] as const) {
    const shifted = shiftByOne(label.data, label.shape, axis);
    const metrics = caseMetrics({ data: shifted, shape: label.shape, spacing: label.spacing }, label, [1, 2]);
    for (const m of metrics) {
      // Independent count over (i, j, k): |A|, |B| and |A ∩ B|, reading the original at the voxel before.
      let a = 0, b = 0, both = 0, lost = 0;
      for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
        const here = label.get(i, j, k) === m.label;
        const p = [i, j, k];
        const edge = p[axis] === label.shape[axis] - 1;
        if (here && edge) lost++;
        p[axis]--;
        const fromBefore = p[axis] >= 0 && label.get(p[0], p[1], p[2]) === m.label;
        if (here) b++;
        if (fromBefore) a++;
        if (here && fromBefore) both++;
      }
      assert.equal(lost, 0, 'the label touches the far border; the shift would drop voxels');
      assert.equal(m.predictionVoxels, a);
      assert.equal(m.referenceVoxels, b);
      assert.equal(m.intersectionVoxels, both);
      assert.equal(m.dice, (2 * both) / (a + b), `axis ${axis} label ${m.label}`);
      assert.ok(m.dice > 0.5 && m.dice < 1);
      assert.equal(m.iou, both / (a + b - both));
      assert.equal(m.hd95, 1, `axis ${axis} label ${m.label}`);
    }
  }
});

test('real prediction with one label erased: Dice 0 for it, HD95 null, the other label untouched', { skip: NO_DATA }, async () => {
  const label = await readVolume(hippocampusCase('hippocampus_003').label);
  const erased = Uint8Array.from(label.data, (v) => (v === 2 ? 0 : v));
  const [one, two] = caseMetrics({ data: erased, shape: label.shape, spacing: label.spacing }, label, [1, 2]);
  assert.equal(one.dice, 1);
  assert.equal(one.hd95, 0);
  assert.equal(two.dice, 0);
  assert.equal(two.iou, 0);
  assert.equal(two.hd95, null);
  assert.equal(two.status, 'prediction-empty');
  assert.equal(two.predictionVoxels, 0);
  assert.ok(two.referenceVoxels > 500);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ctWindow, percentile, percentileClip, percentiles, zScore } from '../../src/io/normalize.js';
import { Random } from '../../src/util/random.js';
import { readVolume } from '../../src/io/read.js';
import { NO_DATA, TOTALSEG_CT } from '../helpers.js';
import { join } from 'node:path';

test('z-score over nonzero voxels: mean 0 and sd 1 there, background mapped with the same statistics', () => {
  const data = new Float32Array([0, 0, 0, 0, 0, 0, 2, 4, 4, 4, 5, 5, 7, 9]);
  const out = zScore(data);
  // Nonzero values: 2 4 4 4 5 5 7 9 → mean 5, population sd 2.
  assert.deepEqual(Array.from(out.slice(6)), [-1.5, -0.5, -0.5, -0.5, 0, 0, 1, 2]);
  assert.equal(out[0], -2.5);
  const all = zScore(new Float32Array([1, 3]), { region: 'all' });
  assert.deepEqual(Array.from(all), [-1, 1]);
  // A constant image does not divide by zero.
  assert.deepEqual(Array.from(zScore(new Float32Array([3, 3, 3]))), [0, 0, 0]);
});

test('percentiles interpolate like numpy; clipping and CT windows', () => {
  const data = Float32Array.from({ length: 101 }, (_, i) => i);
  assert.equal(percentile(data, 0.5), 0.5);
  assert.equal(percentile(data, 99.5), 99.5);
  // Selection instead of sorting: the same values as a full sort on shuffled data with ties, at any p.
  const random = new Random(7);
  const shuffled = Float32Array.from({ length: 5001 }, () => Math.round(random.next() * 300) / 4);
  const sorted = Float64Array.from(shuffled).sort();
  for (const p of [0, 0.5, 2.5, 33.3, 50, 95, 99.5, 100]) {
    const pos = (p / 100) * 5000, lo = Math.floor(pos);
    const expected = sorted[lo] + (sorted[Math.min(5000, lo + 1)] - sorted[lo]) * (pos - lo);
    assert.equal(percentile(shuffled, p), expected, `p = ${p}`);
  }
  assert.deepEqual(percentiles(shuffled, [99.5, 0.5]), [percentile(shuffled, 99.5), percentile(shuffled, 0.5)]);
  assert.deepEqual(percentiles(new Float32Array([4]), [0, 50, 100]), [4, 4, 4]);
  const clipped = percentileClip(data, 10, 90);
  assert.equal(clipped[0], 10);
  assert.equal(clipped[100], 90);
  assert.equal(clipped[50], 50);
  const hu = new Int32Array([-1000, 40 - 200, 40, 240, 3000]);
  assert.deepEqual(Array.from(ctWindow(hu, 40, 400)), [0, 0, 0.5, 1, 1]);
});

test('a soft-tissue window on the real CT maps air to 0 and bone to 1', { skip: NO_DATA }, async () => {
  const ct = await readVolume(join(TOTALSEG_CT, 'example_ct.nii.gz'));
  const w = ctWindow(ct.data, 40, 400);
  let zeros = 0, ones = 0;
  for (const v of w) { if (v === 0) zeros++; if (v === 1) ones++; }
  assert.ok(zeros > 0.3 * w.length, `air fraction ${zeros / w.length}`);
  assert.ok(ones > 0 && ones < 0.1 * w.length, `bone fraction ${ones / w.length}`);
});

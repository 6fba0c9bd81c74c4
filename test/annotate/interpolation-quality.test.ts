import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { dice, fixedIntervalSlices, scoreFixedInterval } from '../../src/annotate/interpolation-quality.js';
import type { InterpolationMethodName } from '../../src/annotate/interpolation/registry.js';
import { readVolume } from '../../src/io/read.js';
import { NO_DATA, TOTALSEG_CT, hippocampusCase } from '../helpers.js';

const HIPPOCAMPUS_LABELS = { background: 0, anterior: 1, posterior: 2 };
const TOLERANCE = 1e-4;

async function diceOf(id: string, interval: number, method: InterpolationMethodName): Promise<number[]> {
  const labels = await readVolume(hippocampusCase(id).label);
  const { overlap } = await scoreFixedInterval(id, labels, 2, interval, method, HIPPOCAMPUS_LABELS);
  return [...overlap.values()].map(dice);
}

function assertDice(actual: number[], expected: number[], what: string): void {
  actual.forEach((d, i) => assert.ok(Math.abs(d - expected[i]) < TOLERANCE, `${what} label ${i + 1}: ${d.toFixed(5)} vs ${expected[i]}`));
}

test('fixed-interval slices start at 0', () => {
  assert.deepEqual(fixedIntervalSlices(11, 5), [0, 5, 10]);
  assert.deepEqual(fixedIntervalSlices(3, 5), [0]);
});

test('hippocampus_001, every 3rd slice: Dice per label on the interpolated slices (measured values)', { skip: NO_DATA }, async () => {
  assertDice(await diceOf('hippocampus_001', 3, 'mci'), [0.85032, 0.86606], 'mci');
  assertDice(await diceOf('hippocampus_001', 3, 'sdf'), [0.91228, 0.88253], 'sdf');
  assertDice(await diceOf('hippocampus_001', 3, 'nearest'), [0.86456, 0.81650], 'nearest');
});

test('hippocampus_101 and _204, every 2nd and 5th slice: sdf and nearest (measured values)', { skip: NO_DATA }, async () => {
  assertDice(await diceOf('hippocampus_101', 2, 'sdf'), [0.90568, 0.91299], '101 k=2 sdf');
  assertDice(await diceOf('hippocampus_101', 2, 'nearest'), [0.85593, 0.81946], '101 k=2 nearest');
  assertDice(await diceOf('hippocampus_204', 5, 'sdf'), [0.78640, 0.72870], '204 k=5 sdf');
  assertDice(await diceOf('hippocampus_204', 5, 'nearest'), [0.75812, 0.69878], '204 k=5 nearest');
  assertDice(await diceOf('hippocampus_204', 5, 'mci'), [0.74095, 0.78333], '204 k=5 mci');
});

test('anisotropic CT (3 mm slices, 112 slices): spleen, liver, bladder every 3rd slice (9 mm gaps)', { skip: NO_DATA }, async () => {
  const seg = await readVolume(join(TOTALSEG_CT, 'example_ct_seg.nii.gz'));
  assert.deepEqual(seg.shape, [122, 101, 112]);
  assert.deepEqual(seg.spacing, [3, 3, 3]);
  // TotalSegmentator classes 1 spleen, 5 liver, 21 urinary bladder → 1, 2, 3; every other organ → background.
  const organs: Record<number, number> = { 1: 1, 5: 2, 21: 3 };
  const data = new Uint8Array(seg.data.length);
  for (let i = 0; i < data.length; i++) data[i] = organs[seg.data[i]] ?? 0;
  const labelMap = { background: 0, spleen: 1, liver: 2, urinary_bladder: 3 };
  const expected: Record<InterpolationMethodName, number[]> = {
    sdf: [0.96644, 0.97622, 0.96940],
    nearest: [0.95032, 0.95632, 0.94482],
    mci: [0.94981, 0.95486, 0.95568],
  };
  for (const method of ['sdf', 'nearest', 'mci'] as const) {
    const { result, overlap } = await scoreFixedInterval('example_ct', seg.withData(data), 2, 3, method, labelMap);
    assert.equal(result.interpolatedSlices.length, 74);
    assertDice([...overlap.values()].map(dice), expected[method], `ct ${method}`);
  }
});

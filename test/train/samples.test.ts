/**
 * Training samples on real hippocampus cases: interpolated slices carry --interpolated-weight into the loss
 * weights, and multi-channel cases reach the model as stacked input channels (train and predict).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { discoverDataset } from '../../src/io/dataset.js';
import { normalizeForModel } from '../../src/io/normalize.js';
import { readVolume, writeVolume } from '../../src/io/read.js';
import { makePlan } from '../../src/plan/plan.js';
import { Random } from '../../src/util/random.js';
import { IGNORE } from '../../src/train/augment.js';
import { buildTrainingCases } from '../../src/train/cases.js';
import { engineAvailable, engineUnavailableReason } from '../../src/train/engine.js';
import { loadRun, predictImages, predictVolume } from '../../src/train/predict.js';
import { cropPatch, extractPlane, plan2DCanvas, plan3DPatch, planeAxes, sample2DBatch, sample3DBatch } from '../../src/train/samples.js';
import { train } from '../../src/train/train.js';
import { hippocampusCase, NO_DATA, tempDir } from '../helpers.js';
import { SIX_CASES, linkedHippocampus } from './fixtures.js';

const SKIP_ENGINE = NO_DATA || (engineAvailable() ? false : `engine not built: ${engineUnavailableReason()}`);

/** Distinct values of `weights` where `labels` is supervised, and whether every unsupervised weight is 0. */
function supervisedWeights(labels: Uint8Array, weights: Float32Array): { values: Set<number>; zeroElsewhere: boolean } {
  const values = new Set<number>();
  let zeroElsewhere = true;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== IGNORE) values.add(weights[i]);
    else if (weights[i] !== 0) zeroElsewhere = false;
  }
  return { values, zeroElsewhere };
}

test('--interpolated-weight reaches the loss weights of interpolated slices, 2D and 3D batches', { skip: NO_DATA }, async () => {
  const ids = SIX_CASES.slice(0, 2);
  const root = linkedHippocampus(ids);
  const plan = await makePlan(root, { budget: 6, allocation: { kind: 'slices-per-volume', slicesPerVolume: 3 }, strategy: 'fixed-interval' });
  const dataset = await discoverDataset(root);
  const weighted = await buildTrainingCases(dataset, ids, { plan, interpolation: 'nearest', interpolatedWeight: 0.25 });
  for (const c of weighted.cases) {
    const annotated = plan.cases.find((pc) => pc.id === c.id)!.slices;
    const interpolated = c.supervisedSlices.filter((k) => !annotated.includes(k));
    assert.ok(interpolated.length > 0, `${c.id} has interpolated slices`);
    const [a, b] = planeAxes(c.axis);
    const sliceWeights = (k: number) => new Set(extractPlane(c.weights!, c.shape, c.axis, k, new Float32Array(c.shape[a] * c.shape[b])));
    for (const k of annotated) assert.deepEqual(sliceWeights(k), new Set([1]), `annotated slice ${k}`);
    for (const k of interpolated) assert.deepEqual(sliceWeights(k), new Set([0.25]), `interpolated slice ${k}`);
  }

  // 2D: every sampled slice is wholly annotated (weight 1) or interpolated (0.25); both are drawn.
  const batch2d = sample2DBatch(weighted.cases, plan2DCanvas(weighted.cases, 8), 24, new Random(1), null);
  const plane = batch2d.shape[2] * batch2d.shape[3];
  const seen = new Set<number>();
  for (let n = 0; n < 24; n++) {
    const { values, zeroElsewhere } = supervisedWeights(batch2d.labels.subarray(n * plane, (n + 1) * plane), batch2d.weights!.subarray(n * plane, (n + 1) * plane));
    assert.equal(values.size, 1, `sample ${n}: one weight per slice`);
    assert.ok(zeroElsewhere, `sample ${n}: padding has weight 0`);
    values.forEach((v) => seen.add(v));
  }
  assert.deepEqual([...seen].sort(), [0.25, 1]);
  // 3D: a patch spans annotated and interpolated slices.
  const batch3d = sample3DBatch(weighted.cases, plan3DPatch(weighted.cases.map((c) => c.shape), 4), 2, new Random(1), null);
  assert.deepEqual([...supervisedWeights(batch3d.labels, batch3d.weights!).values].sort(), [0.25, 1]);

  // Weight 1: no weights at all (plain loss); weight 0: interpolated slices are not sampled.
  const plain = await buildTrainingCases(dataset, ids, { plan, interpolation: 'nearest', interpolatedWeight: 1 });
  assert.ok(plain.cases.every((c) => c.weights === null));
  const excluded = await buildTrainingCases(dataset, ids, { plan, interpolation: 'nearest', interpolatedWeight: 0 });
  for (const c of excluded.cases) assert.deepEqual(c.supervisedSlices, plan.cases.find((pc) => pc.id === c.id)!.slices);
});

/**
 * An MSD-layout dataset whose cases have two image channels: the real image (`_0000`) and a second volume
 * on the same grid (`_0001`, the image squared: a different contrast).
 */
async function twoChannelDataset(ids: readonly string[]): Promise<string> {
  const root = join(tempDir('slicewise-channels-'), 'dataset');
  mkdirSync(join(root, 'imagesTr'), { recursive: true });
  mkdirSync(join(root, 'labelsTr'));
  for (const id of ids) {
    const { image, label } = hippocampusCase(id);
    symlinkSync(image, join(root, 'imagesTr', `${id}_0000.nii.gz`));
    symlinkSync(label, join(root, 'labelsTr', `${id}.nii.gz`));
    const volume = await readVolume(image);
    await writeVolume(volume.withData(Float32Array.from(volume.data, (v) => v * v)), join(root, 'imagesTr', `${id}_0001.nii.gz`));
  }
  return root;
}

test('multi-channel cases: channels stacked in the training samples, a 2-channel model trained and applied', { skip: SKIP_ENGINE }, async () => {
  const ids = SIX_CASES.slice(0, 3);
  const root = await twoChannelDataset(ids);
  const dataset = await discoverDataset(root);
  const source = await buildTrainingCases(dataset, ids);
  assert.equal(source.inChannels, 2);
  const c = source.cases[0];
  const second = await readVolume(join(root, 'imagesTr', `${c.id}_0001.nii.gz`));
  const voxels = second.data.length;
  assert.deepEqual(c.image.subarray(voxels), normalizeForModel(second.data), 'channel 1 is the _0001 file, normalized on its own');

  // 2D: one slice on a canvas of its own size, no augmentation: each channel's plane as it is.
  const [a, b] = planeAxes(c.axis);
  const [w, h] = [c.shape[a], c.shape[b]];
  const slice = c.supervisedSlices[5];
  const batch2d = sample2DBatch([{ ...c, supervisedSlices: [slice] }], [h, w], 1, new Random(0), null);
  assert.deepEqual(batch2d.shape, [1, 2, h, w]);
  for (const k of [0, 1]) {
    const expected = extractPlane(c.image.subarray(k * voxels, (k + 1) * voxels), c.shape, c.axis, slice, new Float32Array(w * h));
    assert.deepEqual(batch2d.images.subarray(k * w * h, (k + 1) * w * h), expected, `channel ${k}`);
  }
  // 3D: a patch the size of the volume at the origin is the volume, both channels.
  const [nx, ny, nz] = c.shape;
  assert.deepEqual(cropPatch(c, [0, 0, 0], [nz, ny, nx], [0, 0]).image, c.image);

  const dir = tempDir();
  for (const model of ['2d', '3d'] as const) {
    const runDir = join(dir, model);
    const result = await train(root, runDir, { model, steps: 2, batchSize: 2, seed: 1 });
    assert.equal(result.config.inChannels, 2);
    const run = await loadRun(runDir);
    assert.equal(run.model.config.inChannels, 2);
    const predicted = await predictImages(runDir, root, join(dir, `${model}-pred`));
    assert.deepEqual(predicted.failed, []);
    assert.deepEqual(readdirSync(join(dir, `${model}-pred`)).sort(), ids.map((id) => `${id}.nii.gz`));
    await assert.rejects(predictVolume(run, await readVolume(hippocampusCase(ids[0]).image)), /the model takes 2 image channels, the input has 1/);
  }
});

test('multi-channel input errors: a channel on another grid, cases with different channel counts', { skip: NO_DATA }, async () => {
  const root = await twoChannelDataset(SIX_CASES.slice(0, 2));
  // Case 1's second channel replaced by a volume of another case (another shape).
  const odd = join(root, 'imagesTr', `${SIX_CASES[0]}_0001.nii.gz`);
  await writeVolume(await readVolume(hippocampusCase(SIX_CASES[1]).image), odd);
  await assert.rejects(buildTrainingCases(await discoverDataset(root), [SIX_CASES[0]]), (err: Error) => err.message.startsWith(`${odd}: channel is not on the grid of`));

  symlinkSync(hippocampusCase(SIX_CASES[2]).image, join(root, 'imagesTr', `${SIX_CASES[2]}_0000.nii.gz`));
  symlinkSync(hippocampusCase(SIX_CASES[2]).label, join(root, 'labelsTr', `${SIX_CASES[2]}.nii.gz`));
  await assert.rejects(buildTrainingCases(await discoverDataset(root), [SIX_CASES[1], SIX_CASES[2]]),
    new RegExp(`case ${SIX_CASES[2]} has 1 image channel, case ${SIX_CASES[1]} has 2; every case needs the same channels`));
});

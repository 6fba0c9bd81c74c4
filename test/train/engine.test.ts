import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readVolume } from '../../src/io/read.js';
import { normalizeForModel } from '../../src/io/normalize.js';
import { UserError } from '../../src/io/errors.js';
import { Random } from '../../src/util/random.js';
import { UNetModel, engineUnavailableReason, maskedLoss, polyLearningRate, setThreads } from '../../src/train/engine.js';
import { referenceMaskedLoss } from '../../src/train/loss-reference.js';
import { NO_DATA, hippocampusCase, tempDir } from '../helpers.js';

const NO_ENGINE = engineUnavailableReason();
if (NO_ENGINE) console.log(`# engine tests skipped: ${NO_ENGINE}`);
const SKIP = NO_ENGINE ?? NO_DATA;
const IGNORE = 255;
if (!NO_ENGINE) setThreads(2);

/** Copies the box [from, from + size) of a volume (x fastest) into a D×H×W array (z, y, x; x fastest). */
function cropBox<T extends Float32Array | Uint8Array>(src: ArrayLike<number>, shape: number[], from: number[], size: number[], out: T): T {
  const [nx, ny] = shape;
  const [sx, sy, sz] = size;
  for (let k = 0; k < sz; k++)
    for (let j = 0; j < sy; j++)
      for (let i = 0; i < sx; i++) out[(k * sy + j) * sx + i] = src[from[0] + i + nx * (from[1] + j + ny * (from[2] + k))];
  return out;
}

/** Mean Dice over the foreground classes 1..classes−1 (a class absent from both counts as 1). */
function meanForegroundDice(predicted: Uint8Array, truth: Uint8Array, classes: number): number {
  let sum = 0;
  for (let c = 1; c < classes; c++) {
    let both = 0, p = 0, t = 0;
    for (let i = 0; i < truth.length; i++) {
      const a = predicted[i] === c, b = truth[i] === c;
      if (a && b) both++;
      if (a) p++;
      if (b) t++;
    }
    sum += p + t === 0 ? 1 : (2 * both) / (p + t);
  }
  return sum / (classes - 1);
}

/** Case 001 (35×51×35, hippocampus within x 8–27, y 8–44, z 5–29), normalized, as a 28×44×32 box. */
async function hippocampusBox(): Promise<{ image: Float32Array; labels: Uint8Array; shape: number[] }> {
  const paths = hippocampusCase('hippocampus_001');
  const image = await readVolume(paths.image);
  const label = await readVolume(paths.label);
  const normalized = normalizeForModel(image.data);
  const size = [28, 44, 32];
  const from = [4, 4, 2];
  const n = size[0] * size[1] * size[2];
  return {
    image: cropBox(normalized, image.shape, from, size, new Float32Array(n)),
    labels: cropBox(label.data, label.shape, from, size, new Uint8Array(n)),
    shape: [size[2], size[1], size[0]],
  };
}

/** Trains until the batch's mean foreground Dice exceeds `target` or `maxSteps` pass; returns [Dice, steps]. */
async function overfit(model: UNetModel, images: Float32Array, labels: Uint8Array, shape: number[], maxSteps: number, target: number): Promise<[number, number]> {
  let dice = 0;
  for (let step = 1; step <= maxSteps; step++) {
    const result = await model.trainStep({ images, labels, shape });
    assert.ok(Number.isFinite(result.loss), `loss is finite at step ${step}`);
    if (step % 10 === 0 || step === maxSteps) {
      dice = meanForegroundDice(await model.predict(images, shape, { argmax: true }), labels, 3);
      if (dice > target) return [dice, step];
    }
  }
  return [dice, maxSteps];
}

test('2D U-Net overfits 8 real hippocampus slices to Dice > 0.95', { skip: SKIP }, async () => {
  const paths = hippocampusCase('hippocampus_001');
  const image = await readVolume(paths.image);
  const label = await readVolume(paths.label);
  const normalized = normalizeForModel(image.data);
  const [h, w] = [44, 28];  // y 4..47, x 4..31 around the hippocampus
  const slices = [8, 11, 14, 17, 20, 23, 26, 28];
  const images = new Float32Array(slices.length * h * w);
  const labels = new Uint8Array(slices.length * h * w);
  slices.forEach((z, s) => {
    cropBox(normalized, image.shape, [4, 4, z], [w, h, 1], images.subarray(s * h * w, (s + 1) * h * w));
    cropBox(label.data, label.shape, [4, 4, z], [w, h, 1], labels.subarray(s * h * w, (s + 1) * h * w));
  });
  const model = UNetModel.create({ dims: 2, inChannels: 1, classes: 3, depth: 3, baseWidth: 16 },
    { seed: 1, training: { optimizer: 'adam', learningRate: 3e-3, totalSteps: 400, weightDecay: 0 } });
  const shape = [slices.length, 1, h, w];
  const [dice, steps] = await overfit(model, images, labels, shape, 400, 0.95);
  console.log(`# 2D overfit: Dice ${dice.toFixed(4)} after ${steps} steps`);
  assert.ok(dice > 0.95, `Dice ${dice} after ${steps} steps`);
});

test('3D U-Net overfits a real hippocampus patch to Dice > 0.95; sliding window agrees', { skip: SKIP }, async () => {
  const box = await hippocampusBox();
  const model = UNetModel.create({ dims: 3, inChannels: 1, classes: 3, depth: 3, baseWidth: 8 },
    { seed: 2, training: { optimizer: 'adam', learningRate: 1e-2, totalSteps: 150, weightDecay: 0 } });
  const shape = [1, 1, ...box.shape];
  const [dice, steps] = await overfit(model, box.image, box.labels, shape, 150, 0.95);
  console.log(`# 3D overfit: Dice ${dice.toFixed(4)} after ${steps} steps`);
  assert.ok(dice > 0.95, `Dice ${dice} after ${steps} steps`);

  // Four overlapping tiles (24×32×28 over 32×44×28) with Gaussian weights.
  const probabilities = await model.predictSlidingWindow(box.image, [1, ...box.shape], { patchSize: [24, 32, 28], overlap: 0.5, argmax: false });
  const voxels = box.labels.length;
  assert.equal(probabilities.length, 3 * voxels);
  for (const i of [0, 1234, voxels - 1]) assert.ok(Math.abs(probabilities[i] + probabilities[voxels + i] + probabilities[2 * voxels + i] - 1) < 1e-5);
  const tiled = await model.predictSlidingWindow(box.image, [1, ...box.shape], { patchSize: [24, 32, 28] });
  const tiledDice = meanForegroundDice(tiled, box.labels, 3);
  console.log(`# sliding window Dice ${tiledDice.toFixed(4)}`);
  assert.ok(tiledDice > 0.9, `sliding-window Dice ${tiledDice}`);
});

test('masked loss and its gradient equal the TypeScript reference on annotated voxels', { skip: NO_ENGINE ?? false }, () => {
  const rng = new Random(11);
  const shape = [2, 3, 4, 5];
  const voxels = 2 * 4 * 5;
  const logits = Float32Array.from({ length: 3 * voxels }, () => rng.normal() * 2);
  const labels = Uint8Array.from({ length: voxels }, () => (rng.next() < 0.4 ? IGNORE : rng.int(3)));
  const weights = Float32Array.from({ length: voxels }, () => 0.25 + rng.next());
  for (const options of [{}, { weights }, { batchDice: false }, { weights, batchDice: false }]) {
    const native = maskedLoss(logits, shape, labels, { ignoreIndex: IGNORE, ...options });
    const reference = referenceMaskedLoss(logits, shape, labels, { ignoreIndex: IGNORE, ...options });
    assert.ok(Math.abs(native.loss - reference) < 1e-6, `loss ${native.loss} vs reference ${reference} (${JSON.stringify(Object.keys(options))})`);
    // Central differences of the reference at a few logits, annotated or not.
    for (const index of [0, 7, 41, 77, 119]) {
      const eps = 1e-3;
      const plus = Float64Array.from(logits), minus = Float64Array.from(logits);
      plus[index] += eps;
      minus[index] -= eps;
      const numeric = (referenceMaskedLoss(plus, shape, labels, { ignoreIndex: IGNORE, ...options }) -
        referenceMaskedLoss(minus, shape, labels, { ignoreIndex: IGNORE, ...options })) / (2 * eps);
      assert.ok(Math.abs(native.grad[index] - numeric) < 1e-4, `grad[${index}] ${native.grad[index]} vs ${numeric}`);
    }
  }
  // Ignored voxels get no gradient.
  const native = maskedLoss(logits, shape, labels, { ignoreIndex: IGNORE });
  for (let s = 0; s < 2; s++)
    for (let v = 0; v < 20; v++)
      if (labels[s * 20 + v] === IGNORE) for (let c = 0; c < 3; c++) assert.equal(native.grad[(s * 3 + c) * 20 + v], 0);
});

test('all-ignore batch: loss 0, zero gradient, no NaN, weights unchanged', { skip: NO_ENGINE ?? false }, async () => {
  const shape = [2, 3, 8, 8];
  const logits = Float32Array.from({ length: 2 * 3 * 64 }, (_, i) => Math.sin(i));
  const labels = new Uint8Array(2 * 64).fill(IGNORE);
  const loss = maskedLoss(logits, shape, labels, { ignoreIndex: IGNORE });
  assert.equal(loss.loss, 0);
  assert.equal(loss.annotated, 0);
  assert.ok(loss.grad.every((g) => g === 0));
  // Annotated but zero-weight voxels count as not annotated.
  const zeroWeights = maskedLoss(logits, shape, new Uint8Array(2 * 64).fill(1), { weights: new Float32Array(128) });
  assert.equal(zeroWeights.loss, 0);

  const model = UNetModel.create({ dims: 2, inChannels: 1, classes: 3, depth: 2, baseWidth: 4, norm: 'batch' }, { seed: 3, training: { ignoreIndex: IGNORE } });
  const images = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.cos(i));
  const before = model.parameterVector();
  const step = await model.trainStep({ images, labels, shape: [2, 1, 8, 8] });
  assert.deepEqual({ loss: step.loss, skipped: step.skipped, gradNorm: step.gradNorm }, { loss: 0, skipped: true, gradNorm: 0 });
  assert.deepEqual(model.parameterVector(), before);
  const predicted = await model.predict(images, [2, 1, 8, 8]);
  assert.ok(predicted.every(Number.isFinite));
});

test('checkpoint round trip: identical predictions and identical continued training', { skip: NO_ENGINE ?? false }, async () => {
  const dir = tempDir();
  const shape = [2, 1, 16, 12];
  const rng = new Random(5);
  const images = Float32Array.from({ length: 2 * 16 * 12 }, () => rng.normal());
  const labels = Uint8Array.from(images, (v) => (v > 0.8 ? 2 : v > 0 ? 1 : 0));
  const model = UNetModel.create({ dims: 2, inChannels: 1, classes: 3, depth: 3, baseWidth: 4, deepSupervision: true }, { seed: 4 });
  for (let i = 0; i < 3; i++) await model.trainStep({ images, labels, shape });
  const path = join(dir, 'model.pt');
  model.save(path);
  const loaded = UNetModel.load(path);
  assert.deepEqual(loaded.info(), model.info());
  assert.deepEqual(await loaded.predict(images, shape), await model.predict(images, shape));
  // The optimizer state came along: the next step moves both models the same way.
  const a = await model.trainStep({ images, labels, shape });
  const b = await loaded.trainStep({ images, labels, shape });
  assert.equal(b.loss, a.loss);
  assert.deepEqual(loaded.parameterVector(), model.parameterVector());

  const other = UNetModel.create({ dims: 2, inChannels: 1, classes: 2, depth: 3, baseWidth: 4 }, { seed: 4 });
  assert.throws(() => other.loadState(path), (err: unknown) => err instanceof UserError && /different model/.test(err.message) && err.message.includes(path));
  assert.throws(() => UNetModel.load(join(dir, 'missing.pt')), (err: unknown) => err instanceof UserError && /missing\.pt/.test(err.message));
});

test('same seed gives the same weights, before and after training; another seed differs', { skip: NO_ENGINE ?? false }, async () => {
  const config = { dims: 3, inChannels: 1, classes: 2, depth: 2, baseWidth: 4 } as const;
  const a = UNetModel.create(config, { seed: 9 });
  const b = UNetModel.create(config, { seed: 9 });
  const c = UNetModel.create(config, { seed: 10 });
  assert.deepEqual(a.parameterVector(), b.parameterVector());
  assert.notEqual(a.parameterChecksum(), c.parameterChecksum());
  const shape = [1, 1, 8, 8, 8];
  const images = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i / 3));
  const labels = Uint8Array.from(images, (v) => (v > 0.3 ? 1 : 0));
  for (let i = 0; i < 2; i++) {
    await a.trainStep({ images, labels, shape });
    await b.trainStep({ images, labels, shape });
  }
  assert.deepEqual(a.parameterVector(), b.parameterVector());
  assert.equal(a.parameterChecksum(), b.parameterChecksum());
});

test('bad shapes and labels reject with clear messages; the process carries on', { skip: NO_ENGINE ?? false }, async () => {
  const model = UNetModel.create({ dims: 2, inChannels: 1, classes: 3, depth: 3, baseWidth: 4 }, { seed: 1 });
  const images = new Float32Array(2 * 16 * 16);
  const labels = new Uint8Array(2 * 16 * 16);
  await assert.rejects(model.trainStep({ images, labels: labels.subarray(1), shape: [2, 1, 16, 16] }), /labels have 511 values/);
  await assert.rejects(model.trainStep({ images, labels, shape: [2, 2, 16, 16] }), /images have 512 values, shape needs 1024/);
  await assert.rejects(model.trainStep({ images, labels, shape: [2, 1, 16, 16, 1] }), /images must be \(N, C, H, W\)/);
  await assert.rejects(model.trainStep({ images: new Float32Array(2 * 18 * 16), labels: new Uint8Array(2 * 18 * 16), shape: [2, 1, 18, 16] }), /divisible by 4/);
  await assert.rejects(model.trainStep({ images, labels: new Uint8Array(512).fill(7), shape: [2, 1, 16, 16] }), /label value 7 is outside 0..2/);
  await assert.rejects(model.predict(images, [1, 2, 16, 16]), /2 channels, the model takes 1/);
  await assert.rejects(model.predictSlidingWindow(images, [1, 32, 16], { patchSize: [6, 16] }), /multiple of 4/);
  assert.throws(() => UNetModel.create({ dims: 4 as 2, inChannels: 1, classes: 3, depth: 3, baseWidth: 4 }), /model\.dims/);
  // Still usable afterwards; predict pads any size and crops back.
  const out = await model.predict(new Float32Array(18 * 10), [1, 1, 18, 10], { argmax: true });
  assert.equal(out.length, 180);
});

test('a train step runs off the main thread: timers keep firing', { skip: NO_ENGINE ?? false }, async () => {
  const model = UNetModel.create({ dims: 3, inChannels: 1, classes: 2, depth: 3, baseWidth: 16 }, { seed: 1 });
  const shape = [2, 1, 32, 32, 32];
  const images = Float32Array.from({ length: 2 * 32 ** 3 }, (_, i) => Math.sin(i / 7));
  const labels = Uint8Array.from(images, (v) => (v > 0.5 ? 1 : 0));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = performance.now();
  await model.trainStep({ images, labels, shape });
  const elapsed = performance.now() - started;
  clearInterval(timer);
  assert.ok(ticks >= Math.min(5, elapsed / 20), `${ticks} timer ticks during a ${elapsed.toFixed(0)} ms step`);
});

test('poly learning rate follows nnU-Net and drives the engine schedule', { skip: NO_ENGINE ?? false }, async () => {
  assert.equal(polyLearningRate(0.01, 0, 100), 0.01);
  assert.ok(Math.abs(polyLearningRate(0.01, 50, 100) - 0.01 * Math.pow(0.5, 0.9)) < 1e-15);
  const model = UNetModel.create({ dims: 2, inChannels: 1, classes: 2, depth: 1, baseWidth: 2 }, { seed: 1, training: { totalSteps: 10 } });
  const batch = { images: new Float32Array(16), labels: new Uint8Array(16).fill(1), shape: [1, 1, 4, 4] };
  const first = await model.trainStep(batch);
  const second = await model.trainStep(batch);
  const fixed = await model.trainStep(batch, { learningRate: 0.5 });
  assert.deepEqual([first.learningRate, second.learningRate, fixed.learningRate, fixed.step], [0.01, polyLearningRate(0.01, 1, 10), 0.5, 3]);
});

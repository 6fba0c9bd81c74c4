import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, readdirSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { discoverDataset, loadCase } from '../../src/io/dataset.js';
import { readVolume } from '../../src/io/read.js';
import { caseMetrics } from '../../src/evaluate/metrics.js';
import { engineAvailable, engineUnavailableReason, UNetModel } from '../../src/train/engine.js';
import { train } from '../../src/train/train.js';
import { loadRun, predictVolume } from '../../src/train/predict.js';
import { makeSplit } from '../../src/train/split.js';
import { CLI, HIPPOCAMPUS, NO_DATA, tempDir } from '../helpers.js';

const SKIP = NO_DATA || (engineAvailable() ? false : `engine not built: ${engineUnavailableReason()}`);

/** A fixed small split of real hippocampus cases: 24 to train on, 6 to test. */
async function smallSplit(): Promise<{ train: string[]; test: string[] }> {
  const ds = await discoverDataset(HIPPOCAMPUS);
  const split = makeSplit(ds.cases.map((c) => c.id), 7, 0.2);
  return { train: split.train.slice(0, 24), test: split.test.slice(0, 6) };
}

async function meanDice(runDir: string, caseIds: string[]): Promise<number> {
  const ds = await discoverDataset(HIPPOCAMPUS);
  const run = await loadRun(runDir);
  let sum = 0, n = 0;
  for (const id of caseIds) {
    const { image, label } = await loadCase(ds, ds.cases.find((c) => c.id === id)!);
    const pred = await predictVolume(run, image);
    for (const m of caseMetrics(pred, label!, [1, 2])) { sum += m.dice; n++; }
  }
  return sum / n;
}

/** The same architecture, untrained: the floor a trained model must clear. */
async function untrainedDice(runDir: string, caseIds: string[]): Promise<number> {
  const dir = tempDir();
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
  const model = UNetModel.create({ dims: config.model === '2d' ? 2 : 3, inChannels: 1, classes: config.labelValues.length, depth: config.network.depth, baseWidth: config.network.baseWidth }, { seed: 123 });
  model.save(join(dir, 'model.pt'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return meanDice(dir, caseIds);
}

test('2D training from full annotation beats an untrained model by a wide margin on held-out cases', { skip: SKIP }, async () => {
  const split = await smallSplit();
  const runDir = join(tempDir(), 'run2d');
  const result = await train(HIPPOCAMPUS, runDir, { model: '2d', caseIds: split.train, steps: 150, batchSize: 16, seed: 3, validationFraction: 0 });
  assert.equal(result.steps, 150);
  for (const f of ['config.json', 'model.pt', 'metrics.json', 'train.log']) assert.ok(existsSync(join(runDir, f)), f);
  const trained = await meanDice(runDir, split.test);
  const untrained = await untrainedDice(runDir, split.test);
  assert.ok(trained > 0.5, `trained Dice ${trained}`);
  assert.ok(trained > untrained + 0.35, `trained ${trained} vs untrained ${untrained}`);
});

test('3D training on patches beats an untrained model', { skip: SKIP }, async () => {
  const split = await smallSplit();
  const runDir = join(tempDir(), 'run3d');
  await train(HIPPOCAMPUS, runDir, { model: '3d', caseIds: split.train, steps: 100, batchSize: 2, seed: 3, validationFraction: 0 });
  const trained = await meanDice(runDir, split.test.slice(0, 3));
  const untrained = await untrainedDice(runDir, split.test.slice(0, 3));
  assert.ok(trained > untrained + 0.25, `trained ${trained} vs untrained ${untrained}`);
});

test('the same seed gives the same model; another seed another', { skip: SKIP }, async () => {
  const split = await smallSplit();
  const dir = tempDir();
  const options = { model: '2d' as const, caseIds: split.train.slice(0, 6), steps: 5, batchSize: 4, validationFraction: 0 };
  await train(HIPPOCAMPUS, join(dir, 'a'), { ...options, seed: 11 });
  await train(HIPPOCAMPUS, join(dir, 'b'), { ...options, seed: 11 });
  await train(HIPPOCAMPUS, join(dir, 'c'), { ...options, seed: 12 });
  const checksum = (d: string) => UNetModel.load(join(dir, d, 'model.pt')).parameterChecksum();
  assert.equal(checksum('a'), checksum('b'));
  assert.notEqual(checksum('a'), checksum('c'));
});

test('sparse training from a plan with interpolation, predict and evaluate through the CLI', { skip: SKIP }, () => {
  const dir = tempDir();
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  const split = join(dir, 'split.json');
  assert.equal(run('split', HIPPOCAMPUS, '--out', split, '--seed', '5').status, 0);
  const planDir = join(dir, 'plan');
  const plan = run('plan', HIPPOCAMPUS, '--budget', '60', '--slices-per-volume', '5', '--strategy', 'fixed-interval', '--out', planDir);
  assert.equal(plan.status, 0, plan.stderr);
  const runDir = join(dir, 'run');
  const trained = run('train', HIPPOCAMPUS, '--plan', join(planDir, 'plan.json'), '--interpolation', 'sdf', '--model', '2d', '--steps', '20', '--batch-size', '8', '--out', runDir);
  assert.equal(trained.status, 0, trained.stderr);
  assert.match(trained.stdout, /trained 2d U-Net for 20 steps/);
  const metrics = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
  assert.equal(metrics.supervision.length, 12);
  assert.ok(metrics.supervision.every((s: { annotated: number; interpolated: number }) => s.annotated === 5 && s.interpolated > 0));
  const images = join(dir, 'images');
  cpSync(join(HIPPOCAMPUS, 'imagesTr', 'hippocampus_001.nii.gz'), join(images, 'hippocampus_001.nii.gz'));
  const preds = join(dir, 'pred');
  const predicted = run('predict', runDir, images, '--out', preds);
  assert.equal(predicted.status, 0, predicted.stderr);
  assert.deepEqual(readdirSync(preds), ['hippocampus_001.nii.gz']);
  const evaluated = run('evaluate', preds, join(HIPPOCAMPUS, 'labelsTr'));
  assert.equal(evaluated.status, 0, evaluated.stderr);
});

test('predictions keep the input geometry exactly', { skip: SKIP }, async () => {
  const split = await smallSplit();
  const runDir = join(tempDir(), 'run');
  await train(HIPPOCAMPUS, runDir, { model: '2d', caseIds: split.train.slice(0, 4), steps: 2, batchSize: 2, seed: 1, validationFraction: 0 });
  const image = await readVolume(join(HIPPOCAMPUS, 'imagesTr', `${split.test[0]}.nii.gz`));
  const pred = await predictVolume(await loadRun(runDir), image);
  assert.deepEqual(pred.geometry, image.geometry);
  assert.equal(pred.dataType, 'uint8');
});

test('bad input: unknown plan case, out-of-range slice, mismatched checkpoint, empty training set', { skip: SKIP }, async () => {
  const dir = tempDir();
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  const planDir = join(dir, 'plan');
  assert.equal(run('plan', HIPPOCAMPUS, '--budget', '4', '--volumes', '2', '--out', planDir).status, 0);
  const plan = JSON.parse(readFileSync(join(planDir, 'plan.json'), 'utf8'));
  const unknown = structuredClone(plan);
  unknown.cases[0].id = 'hippocampus_999';
  writeFileSync(join(dir, 'unknown.json'), JSON.stringify(unknown));
  const r1 = run('train', HIPPOCAMPUS, '--plan', join(dir, 'unknown.json'), '--model', '2d', '--steps', '1', '--out', join(dir, 'r1'));
  assert.equal(r1.status, 2);
  assert.ok(r1.stderr.includes(`${join(dir, 'unknown.json')}: the plan names case hippocampus_999, which the dataset does not have`), r1.stderr);
  const outOfRange = structuredClone(plan);
  outOfRange.cases[0].slices = [outOfRange.cases[0].sliceCount + 3];
  writeFileSync(join(dir, 'range.json'), JSON.stringify(outOfRange));
  const r2 = run('train', HIPPOCAMPUS, '--plan', join(dir, 'range.json'), '--model', '2d', '--steps', '1', '--out', join(dir, 'r2'));
  assert.equal(r2.status, 2);
  assert.ok(r2.stderr.includes(`${join(dir, 'range.json')}: `), r2.stderr);
  assert.match(r2.stderr, /slice \d+ is beyond the/);
  assert.ok(!existsSync(join(dir, 'r2')), 'nothing written');

  // A checkpoint from another configuration: config.json says 3D.
  const split = await smallSplit();
  const runDir = join(dir, 'run');
  await train(HIPPOCAMPUS, runDir, { model: '2d', caseIds: split.train.slice(0, 2), steps: 1, batchSize: 2, seed: 1, validationFraction: 0 });
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
  writeFileSync(join(runDir, 'config.json'), JSON.stringify({ ...config, model: '3d', inputSize: [8, 8, 8] }));
  const r3 = run('predict', runDir, join(HIPPOCAMPUS, 'imagesTr', 'hippocampus_001.nii.gz'), '--out', join(dir, 'p3'));
  assert.equal(r3.status, 2);
  assert.match(r3.stderr, /model\.pt: the checkpoint \(2D, 1 image channel, 3 classes, depth 4\) does not match config\.json/);

  const emptyPlan = structuredClone(plan);
  emptyPlan.cases = [];
  writeFileSync(join(dir, 'empty.json'), JSON.stringify(emptyPlan));
  const r4 = run('train', HIPPOCAMPUS, '--plan', join(dir, 'empty.json'), '--model', '2d', '--steps', '1', '--out', join(dir, 'r4'));
  assert.equal(r4.status, 2);
  assert.ok(r4.stderr.includes(`${join(dir, 'empty.json')}: the training set is empty`), r4.stderr);
});

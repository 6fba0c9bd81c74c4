/**
 * `slicewise train` options and failures on real hippocampus cases (a handful, a few steps each): the plan's
 * slicing axis, --epochs without a plan, the validation split and best checkpoint, one-line errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoverDataset } from '../../src/io/dataset.js';
import { readVolume } from '../../src/io/read.js';
import { normalizeForModel } from '../../src/io/normalize.js';
import { engineAvailable, engineBuildInfo, engineUnavailableReason, UNetModel } from '../../src/train/engine.js';
import { buildTrainingCases } from '../../src/train/cases.js';
import { loadRun, predictTrainingCase, predictVolume } from '../../src/train/predict.js';
import { meanForegroundDice, train } from '../../src/train/train.js';
import { roundUp } from '../../src/train/samples.js';
import { CLI, NO_DATA, tempDir } from '../helpers.js';
import { SIX_CASES, linkedHippocampus } from './fixtures.js';

const SKIP = NO_DATA || (engineAvailable() ? false : `engine not built: ${engineUnavailableReason()}`);

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

/** The error a failed command printed: exit 2, one `slicewise:` line, no stack trace. */
function oneLineError(result: ReturnType<typeof cli>): string {
  assert.equal(result.status, 2, result.stderr);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  const errors = result.stderr.split('\n').filter((line) => line.startsWith('slicewise: '));
  assert.equal(errors.length, 1, result.stderr);
  return errors[0];
}

/** Neither the run folder nor a `<run>.partial-<pid>` folder is left in `dir`. */
function assertNothingWritten(dir: string, run: string): void {
  assert.deepEqual(readdirSync(dir).filter((name) => name === run || name.startsWith(`${run}.partial-`)), [], `nothing at ${join(dir, run)}`);
}

test('a sagittal plan trains, records and predicts along the sagittal axis; a disagreeing --axis is refused', { skip: SKIP }, async () => {
  const dataset = linkedHippocampus();
  const dir = tempDir();
  const planned = cli('plan', dataset, '--budget', '12', '--axis', 'sagittal', '--out', join(dir, 'plan'));
  assert.equal(planned.status, 0, planned.stderr);
  const planPath = join(dir, 'plan', 'plan.json');
  const trained = cli('train', dataset, '--plan', planPath, '--model', '2d', '--steps', '4', '--batch-size', '4', '--out', join(dir, 'run'));
  assert.equal(trained.status, 0, trained.stderr);
  const config = JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8'));
  assert.equal(config.axis, 'sagittal');
  // Identity-oriented volumes: sagittal is voxel axis 0, so the canvas holds axis-2 × axis-1 planes.
  const shapes = await Promise.all(SIX_CASES.map(async (id) => (await readVolume(join(dataset, 'imagesTr', `${id}.nii.gz`))).shape));
  assert.deepEqual(config.inputSize, [roundUp(Math.max(...shapes.map((s) => s[2])), 8), roundUp(Math.max(...shapes.map((s) => s[1])), 8)]);

  const run = await loadRun(join(dir, 'run'));
  const image = await readVolume(join(dataset, 'imagesTr', `${SIX_CASES[0]}.nii.gz`));
  const predicted = await predictVolume(run, image);
  const along = (axis: 0 | 2) => predictTrainingCase(run.model, { image: normalizeForModel(image.data), channels: 1, shape: [...image.shape] as [number, number, number], axis }, run.config);
  const sagittal = await along(0), axial = await along(2);
  assert.notDeepEqual(sagittal, axial, 'the two slicing axes give different label maps');
  assert.deepEqual(new Uint8Array(predicted.data), sagittal);

  const refused = oneLineError(cli('train', dataset, '--plan', planPath, '--model', '2d', '--steps', '1', '--axis', 'axial', '--out', join(dir, 'axial')));
  assert.equal(refused, `slicewise: --axis: axial disagrees with the plan's slicing axis sagittal (${planPath}); leave --axis out to train along the plan's axis`);
  assertNothingWritten(dir, 'axial');
});

test('--epochs without a plan counts every labelled slice along the slicing axis', { skip: SKIP }, async () => {
  const ids = SIX_CASES.slice(0, 3);
  const dataset = linkedHippocampus(ids);
  const runDir = join(tempDir(), 'run');
  const trained = cli('train', dataset, '--model', '2d', '--epochs', '2', '--batch-size', '16', '--out', runDir);
  assert.equal(trained.status, 0, trained.stderr);
  let slices = 0;
  for (const id of ids) slices += (await readVolume(join(dataset, 'labelsTr', `${id}.nii.gz`))).shape[2];
  const expected = Math.ceil((2 * slices) / 16);
  assert.match(trained.stdout, new RegExp(`trained 2d U-Net for ${expected} steps`));
  assert.equal(JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')).steps, expected);
});

test('the validation split keeps the best checkpoint: metrics.json names its step and Dice', { skip: SKIP }, async () => {
  const runDir = join(tempDir(), 'run');
  // Small noisy batches at a high Adam rate: validation Dice rises and falls back (0.32 at step 18, 0.24 at
  // step 24 with this seed), so the kept checkpoint differs from the last model.
  const result = await train(linkedHippocampus(), runDir, {
    model: '2d', steps: 24, batchSize: 4, seed: 4, validationFraction: 0.34, validateEvery: 3, learningRate: 0.02,
  });
  const metrics = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
  assert.equal(config.validationCases.length, 2);
  assert.deepEqual(metrics.validations.map(([step]: [number, number]) => step), [3, 6, 9, 12, 15, 18, 21, 24]);
  const best = Math.max(...metrics.validations.map(([, dice]: [number, number]) => dice));
  const bestStep = metrics.validations.find(([, dice]: [number, number]) => dice === best)[0];
  assert.ok(bestStep < 24, `best step ${bestStep}: the test needs a best that is not the last step`);
  assert.equal(metrics.bestValidationDice, best);
  assert.equal(metrics.bestStep, bestStep);
  assert.equal(result.bestStep, bestStep);

  // The kept checkpoint is that step's model: its step counter and its validation Dice.
  assert.equal(UNetModel.load(join(runDir, 'model.pt')).step, bestStep);
  const run = await loadRun(runDir);
  const source = await buildTrainingCases(await discoverDataset(config.dataset), config.validationCases);
  let sum = 0;
  for (const c of source.cases) sum += meanForegroundDice(await predictTrainingCase(run.model, c, run.config), c.labels, config.labelValues.length);
  assert.equal(sum / source.cases.length, best);
});

test('bad input: one line, exit 2, no run or partial folder (CUDA on CPU, learning rate, divergence, plan, labels)', { skip: SKIP }, async () => {
  const dataset = linkedHippocampus();
  const dir = tempDir();
  const trainArgs = (out: string, ...args: string[]) => cli('train', dataset, '--model', '2d', '--steps', '20', '--batch-size', '4', '--out', join(dir, out), ...args);

  if (!engineBuildInfo().cuda) {
    assert.match(oneLineError(trainArgs('cuda', '--device', 'cuda')), /^slicewise: --device: cuda is not available: this libtorch has no usable CUDA device/);
    assertNothingWritten(dir, 'cuda');
  }
  const negative = trainArgs('lr', '--learning-rate', '-1');
  assert.equal(oneLineError(negative), 'slicewise: --learning-rate: must be a positive number, got -1');
  assert.doesNotMatch(negative.stderr, /loading cases/, 'refused before loading cases');

  const diverged = oneLineError(trainArgs('diverged', '--optimizer', 'sgd', '--learning-rate', '1e30'));
  assert.match(diverged, /^slicewise: the loss diverged at step \d+ \((NaN|-?Infinity)\); train with a lower --learning-rate than 1e\+30$/);
  assertNothingWritten(dir, 'diverged');

  // A plan for other cases: the error names the plan file and the first unknown case.
  const planned = cli('plan', dataset, '--budget', '4', '--volumes', '2', '--out', join(dir, 'plan'));
  assert.equal(planned.status, 0, planned.stderr);
  const plan = JSON.parse(readFileSync(join(dir, 'plan', 'plan.json'), 'utf8'));
  plan.cases.forEach((c: { id: string }, i: number) => { c.id = `hippocampus_99${i}`; });
  const foreign = join(dir, 'foreign.json');
  writeFileSync(foreign, JSON.stringify(plan));
  assert.equal(oneLineError(trainArgs('foreign-run', '--plan', foreign)),
    `slicewise: ${foreign}: the plan names case hippocampus_990, which the dataset does not have (2 of its 2 cases are unknown); was it made for ${dataset}?`);
  assertNothingWritten(dir, 'foreign-run');

  // Labels outside dataset.json: the hippocampus labels hold 2, the declared labels stop at 1.
  const declared = linkedHippocampus(SIX_CASES, { labels: { background: 0, anterior: 1 } });
  const labels = cli('train', declared, '--model', '2d', '--steps', '1', '--out', join(dir, 'labels'));
  assert.equal(oneLineError(labels), `slicewise: ${join(declared, 'labelsTr', 'hippocampus_001.nii.gz')}: label value 2 is not declared in dataset.json`);
  assertNothingWritten(dir, 'labels');
});

test('an existing run or prediction folder is kept unless --overwrite; Ctrl-C leaves no partial run', { skip: SKIP }, async () => {
  const dataset = linkedHippocampus();
  const dir = tempDir();
  const runDir = join(dir, 'run');
  const first = cli('train', dataset, '--model', '2d', '--steps', '2', '--batch-size', '2', '--out', runDir);
  assert.equal(first.status, 0, first.stderr);
  const firstConfig = readFileSync(join(runDir, 'config.json'), 'utf8');
  const again = oneLineError(cli('train', dataset, '--model', '2d', '--steps', '3', '--batch-size', '2', '--out', runDir));
  assert.equal(again, `slicewise: ${runDir}: already exists and is not empty; pass --overwrite to replace it (only once the new run is complete)`);
  assert.equal(readFileSync(join(runDir, 'config.json'), 'utf8'), firstConfig);
  const replaced = cli('train', dataset, '--model', '2d', '--steps', '3', '--batch-size', '2', '--out', runDir, '--overwrite');
  assert.equal(replaced.status, 0, replaced.stderr);
  assert.equal(JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')).steps, 3);

  const predictions = join(dir, 'pred');
  assert.equal(cli('predict', runDir, dataset, '--out', predictions).status, 0);
  const mixed = oneLineError(cli('predict', runDir, dataset, '--out', predictions));
  assert.equal(mixed, `slicewise: ${predictions}: already holds label maps; pass --overwrite to write into it, or choose another --out`);
  assert.equal(cli('predict', runDir, dataset, '--out', predictions, '--overwrite').status, 0);

  // Interrupted while training: exit 130, neither the run nor its .partial folder is left.
  const child = spawn(process.execPath, [CLI, 'train', dataset, '--model', '2d', '--steps', '5000', '--batch-size', '2', '--out', join(dir, 'stopped')], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve) => child.stderr!.on('data', (chunk: Buffer) => { if (/step \d+\/5000/.test(chunk.toString())) resolve(); }));
  assert.ok(readdirSync(dir).some((name) => name.startsWith('stopped.partial-')));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 130);
  assertNothingWritten(dir, 'stopped');
});

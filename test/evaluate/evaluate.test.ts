import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readVolume, writeVolume } from '../../src/io/read.js';
import { IDENTITY, Volume, type Vec3 } from '../../src/io/volume.js';
import { UserError } from '../../src/io/errors.js';
import { DistanceDiceAccumulator, sliceDistances } from '../../src/evaluate/by-distance.js';
import { evaluateFolders, meanSd, writeEvaluation } from '../../src/evaluate/evaluate.js';
import { PLAN_FORMAT_VERSION, type Plan } from '../../src/plan/types.js';
import { CLI, NO_DATA, hippocampusCase, tempDir } from '../helpers.js';

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

function volume(shape: Vec3, fill: (i: number, j: number, k: number) => number, spacing: Vec3 = [1, 1, 1]): Volume {
  const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let k = 0, o = 0; k < shape[2]; k++) for (let j = 0; j < shape[1]; j++) for (let i = 0; i < shape[0]; i++, o++) data[o] = fill(i, j, k);
  return new Volume(data, { shape, spacing, origin: [0, 0, 0], direction: IDENTITY });
}

function plan(cases: Array<{ id: string; axis: 0 | 1 | 2; sliceCount: number; slices: number[] }>): Plan {
  return {
    format: 'slicewise-plan', version: PLAN_FORMAT_VERSION, slicewiseVersion: '0.1.0', dataset: 'fixture', seed: 1,
    budget: cases.reduce((n, c) => n + c.slices.length, 0), options: { strategy: 'fixed-interval' },
    cases: cases.map((c) => ({ ...c, imagePath: `${c.id}.nii.gz`, positionsMm: c.slices.map((s) => s) })),
  };
}

test('slice distances to the nearest of the annotated slices {0, 5, 10}', () => {
  assert.deepEqual([...sliceDistances(11, [0, 5, 10])], [0, 1, 2, 2, 1, 0, 1, 2, 2, 1, 0]);
  assert.deepEqual([...sliceDistances(14, [0, 5, 10])], [0, 1, 2, 2, 1, 0, 1, 2, 2, 1, 0, 1, 2, 3]);
  assert.throws(() => sliceDistances(11, [11]), RangeError);
});

test('Dice by distance, pooled over cases, on a plan-like fixture (annotated slices {0, 5, 10})', () => {
  const acc = new DistanceDiceAccumulator(null);
  // Case A: slices along axis 2 (4×4 voxels each), reference all label 1. Prediction: whole slice at distance 0,
  // half of it (8 of 16) at distance 1, nothing at distance 2.
  const distA = [0, 1, 2, 2, 1, 0, 1, 2, 2, 1, 0];
  const refA = volume([4, 4, 11], () => 1);
  const predA = volume([4, 4, 11], (_i, j, k) => (distA[k] === 0 || (distA[k] === 1 && j < 2) ? 1 : 0));
  acc.addCase(predA.data, refA.data, refA.shape, 2, [0, 5, 10]);
  // Case B: slices along axis 0 (3×3 voxels each), prediction perfect.
  const refB = volume([11, 3, 3], () => 1);
  acc.addCase(refB.data, refB.data, refB.shape, 0, [0, 5, 10]);
  const rows = acc.rows([1]);
  assert.deepEqual(rows.map((r) => r.distance), [0, 1, 2]);
  assert.deepEqual(rows.map((r) => r.slices), [6, 8, 8]);
  assert.deepEqual(rows.map((r) => r.cases), [2, 2, 2]);
  // d=0: A 48/48/48, B 27/27/27 → 1. d=1: A P=32 G=64 I=32, B 36/36/36 → 2·68/(68+100).
  // d=2: A P=0 G=64, B 36/36/36 → 2·36/(36+100).
  assert.deepEqual(rows.map((r) => [r.predictionVoxels, r.referenceVoxels, r.intersectionVoxels]), [[75, 75, 75], [68, 100, 68], [36, 100, 36]]);
  assert.deepEqual(rows.map((r) => r.dice), [1, 136 / 168, 72 / 136]);
  // A label present nowhere: no Dice at any distance.
  assert.deepEqual(acc.rows([2]).map((r) => r.dice), [null, null, null]);
});

test('mean ± sample sd', () => {
  assert.deepEqual(meanSd([]), { mean: null, sd: null, n: 0 });
  assert.deepEqual(meanSd([0.5]), { mean: 0.5, sd: null, n: 1 });
  const s = meanSd([1, 2, 3, 4]);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.sd! - Math.sqrt(5 / 3)) < 1e-12);
});

test('evaluateFolders on synthetic folders: matching, empty-empty count, ignore value, plan table, files written', async () => {
  const root = tempDir();
  const predDir = join(root, 'pred');
  const labelDir = join(root, 'labels');
  mkdirSync(predDir);
  mkdirSync(labelDir);
  const shape: Vec3 = [4, 4, 11];
  // c1: perfect on label 1, no label 2 anywhere (empty-empty). c2: label 2 predicted in the upper half only.
  // c3: a label case without a prediction. extra: a prediction without a label.
  await writeVolume(volume(shape, (i) => (i < 2 ? 1 : 0)), join(labelDir, 'c1.nii.gz'));
  await writeVolume(volume(shape, (i) => (i < 2 ? 1 : 0)), join(predDir, 'c1.nii.gz'));
  await writeVolume(volume(shape, () => 2), join(labelDir, 'c2.nii.gz'));
  await writeVolume(volume(shape, (_i, j) => (j < 2 ? 2 : 0)), join(predDir, 'c2.nii.gz'));
  await writeVolume(volume(shape, () => 1), join(labelDir, 'c3.nii.gz'));
  await writeVolume(volume(shape, () => 1), join(predDir, 'extra.nii.gz'));
  const planPath = join(root, 'plan.json');
  writeFileSync(planPath, JSON.stringify(plan([{ id: 'c2', axis: 2, sliceCount: 11, slices: [0, 5, 10] }])));

  const result = await evaluateFolders(predDir, labelDir, { plan: planPath });
  assert.deepEqual(result.cases, ['c1', 'c2']);
  assert.deepEqual(result.missingPredictions, ['c3']);
  assert.deepEqual(result.unmatchedPredictions, ['extra']);
  assert.deepEqual(result.labels.map((l) => l.value), [1, 2]);
  const row = (id: string, label: number) => result.perCase.find((r) => r.caseId === id && r.label === label)!;
  assert.equal(row('c1', 1).dice, 1);
  assert.equal(row('c1', 2).status, 'both-empty');
  assert.equal(row('c1', 2).hd95, 0);
  assert.equal(row('c2', 1).status, 'both-empty');
  assert.equal(row('c2', 2).dice, (2 * 88) / (88 + 176));
  assert.equal(row('c2', 2).iou, 0.5);
  assert.equal(result.bothEmptyCount, 2);
  assert.deepEqual(result.summary.map((s) => s.bothEmpty), [1, 1]);
  const label2 = result.summary[1];
  assert.equal(label2.dice.mean, (1 + 2 / 3) / 2);
  assert.equal(label2.hd95.n, 2);
  // By distance, c2 only (c1 is not in the plan): Dice 2/3 at every distance.
  assert.deepEqual(result.notInPlan, ['c1']);
  assert.deepEqual(result.byDistance!.filter((r) => r.label === 2).map((r) => [r.distance, r.slices, r.dice]), [[0, 3, 2 / 3], [1, 4, 2 / 3], [2, 4, 2 / 3]]);

  // Ignoring label 2 of the reference drops c2's label 2 and its wrong voxels altogether.
  const ignoring = await evaluateFolders(predDir, labelDir, { ignoreValue: 2 });
  assert.deepEqual(ignoring.labels.map((l) => l.value), [1]);
  assert.equal(ignoring.perCase.find((r) => r.caseId === 'c2')!.status, 'both-empty');

  const out = join(root, 'out');
  const written = await writeEvaluation(result, out);
  assert.deepEqual(readdirSync(out).sort(), ['metrics-by-distance.csv', 'metrics.csv', 'metrics.json']);
  assert.equal(written.length, 3);
  const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'case,label,label_name,dice,iou,hd95_mm,status,prediction_voxels,reference_voxels,intersection_voxels');
  assert.equal(csv.length, 1 + 4);
  assert.equal(csv[2], 'c1,2,2,1,1,0,both-empty,0,0,0');
  const json = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(json.bothEmptyCount, 2);
  assert.deepEqual(json.missingPredictions, ['c3']);
});

test('evaluateFolders: one-empty gives HD95 null, and a geometry mismatch is a UserError naming the prediction', async () => {
  const root = tempDir();
  const predDir = join(root, 'pred');
  const labelDir = join(root, 'labels');
  mkdirSync(predDir);
  mkdirSync(labelDir);
  await writeVolume(volume([5, 5, 5], () => 1), join(labelDir, 'a.nii.gz'));
  await writeVolume(volume([5, 5, 5], () => 0), join(predDir, 'a.nii.gz'));
  const result = await evaluateFolders(predDir, labelDir);
  assert.equal(result.perCase[0].hd95, null);
  assert.equal(result.perCase[0].status, 'prediction-empty');
  assert.deepEqual(result.summary[0].hd95, { mean: null, sd: null, n: 0 });
  assert.equal(result.summary[0].predictionEmpty, 1);

  await writeVolume(volume([5, 5, 5], () => 1, [1, 1, 2]), join(predDir, 'a.nii.gz'));
  await assert.rejects(evaluateFolders(predDir, labelDir), (err: unknown) =>
    err instanceof UserError && err.subject === join(predDir, 'a.nii.gz') && /spacing 1×1×2/.test(err.message));
  const badPlan = join(root, 'plan.json');
  await writeVolume(volume([5, 5, 5], () => 1), join(predDir, 'a.nii.gz'));
  writeFileSync(badPlan, JSON.stringify(plan([{ id: 'a', axis: 2, sliceCount: 9, slices: [0] }])));
  await assert.rejects(evaluateFolders(predDir, labelDir, { plan: badPlan }), (err: unknown) =>
    err instanceof UserError && err.subject === badPlan && /9 slices/.test(err.message));
});

test('CLI on real hippocampus labels: table, missing prediction reported, files written; geometry mismatch exits 2', { skip: NO_DATA }, async () => {
  const root = tempDir();
  const predDir = join(root, 'pred');
  const labelDir = join(root, 'labels');
  mkdirSync(predDir);
  mkdirSync(labelDir);
  for (const id of ['hippocampus_001', 'hippocampus_003', 'hippocampus_004']) symlinkSync(hippocampusCase(id).label, join(labelDir, `${id}.nii.gz`));
  // 001 predicted perfectly, 003 with label 2 erased, 004 missing.
  // Predictions are written as copies, never links: a link would let a write reach the shared data.
  await writeVolume(await readVolume(hippocampusCase('hippocampus_001').label), join(predDir, 'hippocampus_001.nii.gz'));
  const label3 = await readVolume(hippocampusCase('hippocampus_003').label);
  await writeVolume(label3.withData(Uint8Array.from(label3.data, (v) => (v === 2 ? 0 : v))), join(predDir, 'hippocampus_003.nii.gz'));

  const out = join(root, 'out');
  const run = cli('evaluate', predDir, labelDir, '--out', out);
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.split('\n');
  assert.match(lines[1], /^1\s+2\s+1\.0000 ± 0\.0000\s+1\.0000 ± 0\.0000\s+0\.00 ± 0\.00\s+2\s/);
  assert.match(lines[2], /^2\s+2\s+0\.5000 ± 0\.7071\s/);
  assert.match(run.stdout, /MISSING prediction for 1 label cases: hippocampus_004/);
  assert.match(run.stdout, /2 cases evaluated; 0 case×label pairs empty in both/);
  const json = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.deepEqual(json.missingPredictions, ['hippocampus_004']);
  assert.equal(readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n').length, 1 + 4);

  // A prediction on another grid: one line naming the file, exit 2, nothing written.
  const label4 = await readVolume(hippocampusCase('hippocampus_004').label);
  const wrong = new Volume(label4.data, { ...label4.geometry, origin: [5, 0, 0] });
  await writeVolume(wrong, join(predDir, 'hippocampus_004.nii.gz'));
  const out2 = join(root, 'out2');
  const bad = cli('evaluate', predDir, labelDir, '--out', out2);
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, '');
  const errorLines = bad.stderr.split('\n').filter((l) => l && !l.startsWith('evaluating'));
  assert.equal(errorLines.length, 1, bad.stderr);
  assert.match(errorLines[0], /^slicewise: .*pred\/hippocampus_004\.nii\.gz: geometry .* differs from its label/);
  assert.throws(() => readdirSync(out2));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SparseDatasetWriter, loadSparseCase, readSparseDataset } from '../../src/annotate/sparse-dataset.js';
import { countPerSlice, sparseFromIgnoreVolume, sparseFromPlan, validateSparse } from '../../src/annotate/sparse.js';
import { readVolume } from '../../src/io/read.js';
import type { PlannedCase } from '../../src/plan/types.js';
import { NO_DATA, hippocampusCase, tempDir } from '../helpers.js';

const LABELS = { background: 0, anterior: 1, posterior: 2 };
const planned = (slices: number[], sliceCount = 35): PlannedCase => ({ id: 'hippocampus_001', imagePath: hippocampusCase('hippocampus_001').image, axis: 2, sliceCount, slices, positionsMm: slices });

test('from a full label volume plus a plan: only the planned slices are kept, the rest is ignore (3)', { skip: NO_DATA }, async () => {
  const full = await readVolume(hippocampusCase('hippocampus_001').label);
  assert.deepEqual(full.shape, [35, 51, 35]);
  const sparse = sparseFromPlan(full, planned([20, 5, 15]), { labelMap: LABELS });
  assert.equal(sparse.ignoreValue, 3);
  assert.deepEqual(sparse.annotatedSlices, [5, 15, 20]);
  const ignored = countPerSlice(sparse.labels, 2, 3);
  assert.deepEqual([...ignored].map((n, k) => (n === 0 ? k : -1)).filter((k) => k >= 0), [5, 15, 20]);
  assert.equal(ignored[0], 35 * 51);
  const sliceSize = 35 * 51;
  for (let i = 15 * sliceSize; i < 16 * sliceSize; i++) assert.equal(sparse.labels.data[i], full.data[i]);
  validateSparse(sparse, { labelMap: LABELS, planned: planned([5, 15, 20]) });
  // Round trip through the ignore volume: the same annotated slices come back.
  assert.deepEqual(sparseFromIgnoreVolume('hippocampus_001', sparse.labels, { axis: 2, ignoreValue: 3, labelMap: LABELS }).annotatedSlices, [5, 15, 20]);
});

test('validation errors name the case and the slice', { skip: NO_DATA }, async () => {
  const full = await readVolume(hippocampusCase('hippocampus_001').label);
  assert.throws(() => sparseFromPlan(full, planned([5, 40]), { labelMap: LABELS }), /case hippocampus_001: slice 40 is beyond the volume \(0\.\.34 along axis 2\)/);
  assert.throws(() => sparseFromPlan(full, planned([5], 36), { labelMap: LABELS }), /case hippocampus_001: the plan expects 36 slices along axis 2, the label volume has 35/);
  assert.throws(() => sparseFromPlan(full, planned([5]), { labelMap: { background: 0, anterior: 1 }, ignoreValue: 3 }), /case hippocampus_001: label value 2 on slice \d+ .*is not in the label map/);
  const sparse = sparseFromPlan(full, planned([5, 15]), { labelMap: LABELS });
  assert.throws(() => validateSparse(sparse, { planned: planned([5, 16]) }), /case hippocampus_001: planned slice 16 is not annotated/);
  assert.throws(() => validateSparse(sparse, { planned: planned([5]) }), /case hippocampus_001: slice 15 is annotated but not in the plan/);
  // A slice only partly ignore is refused.
  const partial = sparse.labels.data.slice();
  partial[15 * 35 * 51 + 7] = 3;
  assert.throws(() => sparseFromIgnoreVolume('hippocampus_001', sparse.labels.withData(partial), { axis: 2, ignoreValue: 3 }), /case hippocampus_001: slice 15 is partly annotated \(1 of 1785 voxels/);
  // A dense label volume read with its highest label (2) as ignore: no slice is all ignore.
  assert.throws(() => sparseFromIgnoreVolume('hippocampus_001', full, { axis: 2, ignoreValue: 2 }), /case hippocampus_001: has no unannotated slice .*looks like a dense label volume/);
});

test('sparse dataset folder: nnU-Net dataset.json with ignore highest, labelsTr, record; round trip and record checks', { skip: NO_DATA }, async () => {
  const dir = tempDir();
  const root = join(dir, 'sparse');
  const full = await readVolume(hippocampusCase('hippocampus_001').label);
  const sparse = sparseFromPlan(full, planned([5, 15, 20]), { labelMap: LABELS });
  const writer = await SparseDatasetWriter.create(root, { name: 'hippo-sparse', labelMap: LABELS, ignoreValue: 3, images: 'symlink' });
  await writer.add(sparse, [hippocampusCase('hippocampus_001').image]);
  await writer.commit();
  const datasetJson = JSON.parse(await readFile(join(root, 'dataset.json'), 'utf8'));
  assert.deepEqual(datasetJson.labels, { background: 0, anterior: 1, posterior: 2, ignore: 3 });
  assert.equal(datasetJson.file_ending, '.nii.gz');
  assert.equal(datasetJson.numTraining, 1);
  assert.equal((await readVolume(join(root, 'imagesTr', 'hippocampus_001_0000.nii.gz'))).shape[2], 35);

  const dataset = await readSparseDataset(root);
  assert.equal(dataset.ignoreValue, 3);
  assert.deepEqual(dataset.cases.map((c) => c.id), ['hippocampus_001']);
  assert.equal(dataset.cases[0].imagePaths[0], hippocampusCase('hippocampus_001').image);
  const loaded = await loadSparseCase(dataset, dataset.cases[0]);
  assert.deepEqual(loaded.annotatedSlices, [5, 15, 20]);
  assert.deepEqual(loaded.interpolatedSlices, []);
  assert.deepEqual(Buffer.from(loaded.labels.data.buffer), Buffer.from(sparse.labels.data.buffer));

  // A record that disagrees with the ignore voxels names the case and slice.
  const recordPath = join(root, 'slicewise-sparse.json');
  const record = JSON.parse(await readFile(recordPath, 'utf8'));
  record.cases[0].annotatedSlices = [5, 15, 21];
  await writeFile(recordPath, JSON.stringify(record));
  const edited = await readSparseDataset(root);
  await assert.rejects(loadSparseCase(edited, edited.cases[0]), /case hippocampus_001: slice 20 is fully labelled but not recorded/);
  record.cases[0].annotatedSlices = [5, 15, 20, 50];
  await writeFile(recordPath, JSON.stringify(record));
  await assert.rejects(async () => { const d = await readSparseDataset(root); await loadSparseCase(d, d.cases[0]); }, /case hippocampus_001: annotated slice 50 is beyond the volume/);

  // Never over an existing folder unless asked.
  await assert.rejects(SparseDatasetWriter.create(root, { name: 'x', labelMap: LABELS, ignoreValue: 3 }), /already exists/);
});

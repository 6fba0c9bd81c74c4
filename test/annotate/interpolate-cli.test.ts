import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SparseDatasetWriter } from '../../src/annotate/sparse-dataset.js';
import { sparseFromPlan } from '../../src/annotate/sparse.js';
import { fixedIntervalSlices } from '../../src/annotate/interpolation-quality.js';
import { readVolume, writeVolume } from '../../src/io/read.js';
import { CLI, HIPPOCAMPUS, NO_DATA, hippocampusCase, tempDir } from '../helpers.js';

const LABELS = { background: 0, anterior: 1, posterior: 2 };

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

async function makeSparseDataset(root: string): Promise<void> {
  const writer = await SparseDatasetWriter.create(root, { name: 'hippo-sparse', labelMap: LABELS, ignoreValue: 3 });
  for (const id of ['hippocampus_001', 'hippocampus_003']) {
    const full = await readVolume(hippocampusCase(id).label);
    const slices = fixedIntervalSlices(full.shape[2], 3);
    await writer.add(sparseFromPlan(full, { id, imagePath: hippocampusCase(id).image, axis: 2, sliceCount: full.shape[2], slices, positionsMm: slices }, { labelMap: LABELS }), [hippocampusCase(id).image]);
  }
  await writer.commit();
}

test('slicewise interpolate a sparse dataset: filled labels plus a record keeping interpolated slices apart', { skip: NO_DATA }, async () => {
  const dir = tempDir();
  const sparse = join(dir, 'sparse');
  await makeSparseDataset(sparse);
  const out = join(dir, 'filled');
  const run = cli('interpolate', sparse, '--method', 'sdf', '--out', out);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /2 cases, 24 annotated slices kept, 44 slices interpolated with sdf/);
  assert.match(run.stderr, /interpolating \(sdf\) 2\/2/);
  const record = JSON.parse(await readFile(join(out, 'slicewise-sparse.json'), 'utf8'));
  assert.deepEqual(record.interpolation, { method: 'sdf', extrapolate: 'unknown' });
  // hippocampus_001: 35 slices, annotated 0, 3, ..., 33; slice 34 lies beyond the last one and stays unknown.
  assert.deepEqual(record.cases[0].annotatedSlices, fixedIntervalSlices(35, 3));
  assert.equal(record.cases[0].interpolatedSlices.length, 22);
  assert.ok(!record.cases[0].interpolatedSlices.includes(34));
  const filled = await readVolume(join(out, 'labelsTr', 'hippocampus_001.nii.gz'));
  let ignored = 0;
  for (const v of filled.data) if (v === 3) ignored++;
  assert.equal(ignored, 35 * 51);
  assert.deepEqual((await readdir(dir)).sort(), ['filled', 'sparse']); // no temporary folder left behind

  // An interpolated dataset is not interpolated again; an existing --out is refused; both exit 2.
  const again = cli('interpolate', out, '--method', 'nearest');
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already interpolated \(method sdf\)/);
  const exists = cli('interpolate', sparse, '--method', 'nearest', '--out', out);
  assert.equal(exists.status, 2);
  assert.match(exists.stderr, /already exists; choose another --out or pass --overwrite/);
  const background = cli('interpolate', sparse, '--method', 'nearest', '--out', out, '--overwrite', '--extrapolate', 'background');
  assert.equal(background.status, 0, background.stderr);
  const record2 = JSON.parse(await readFile(join(out, 'slicewise-sparse.json'), 'utf8'));
  assert.equal(record2.cases[0].interpolatedSlices.length, 23);
});

test('slicewise interpolate one ignore-label volume, and bad options exit 2 naming them', { skip: NO_DATA }, async () => {
  const dir = tempDir();
  const full = await readVolume(hippocampusCase('hippocampus_001').label);
  const sparse = sparseFromPlan(full, { id: 'case', imagePath: 'x', axis: 2, sliceCount: 35, slices: [10, 20], positionsMm: [10, 20] }, { labelMap: LABELS });
  const file = join(dir, 'case.nii.gz');
  await writeVolume(sparse.labels, file);
  const run = cli('interpolate', file, '--method', 'nearest');
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /taking its highest value 3 as the ignore label/);
  assert.match(run.stdout, /1 cases, 2 annotated slices kept, 9 slices interpolated with nearest/);
  const record = JSON.parse(await readFile(join(dir, 'case-interpolated-nearest', 'slicewise-sparse.json'), 'utf8'));
  assert.deepEqual(record.cases[0].interpolatedSlices, [11, 12, 13, 14, 15, 16, 17, 18, 19]);

  const badMethod = cli('interpolate', file, '--method', 'linear');
  assert.equal(badMethod.status, 2);
  assert.match(badMethod.stderr, /--method must be one of mci, sdf, nearest/);
  const missing = cli('interpolate', join(dir, 'nope.nii.gz'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope\.nii\.gz: no such file or folder/);
  // Dense labels are not a sparse annotation: the folder and the file each say so, and nothing is written.
  const denseFolder = cli('interpolate', HIPPOCAMPUS, '--method', 'sdf', '--out', join(dir, 'dense-out'));
  assert.equal(denseFolder.status, 2);
  assert.match(denseFolder.stderr, /msd-hippocampus: is not a sparse dataset \(no dataset\.json declaring an "ignore" label\)/);
  const denseFile = cli('interpolate', hippocampusCase('hippocampus_001').label, '--method', 'sdf', '--out', join(dir, 'dense-out'));
  assert.equal(denseFile.status, 2);
  assert.match(denseFile.stderr, /case hippocampus_001: has no unannotated slice/);
  assert.equal(existsSync(join(dir, 'dense-out')), false);
});

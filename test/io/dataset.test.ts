import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { discoverDataset, loadCase } from '../../src/io/dataset.js';
import { inspectDataset } from '../../src/io/inspect.js';
import { readVolume, writeVolume } from '../../src/io/read.js';
import { Volume } from '../../src/io/volume.js';
import { CLI, HIPPOCAMPUS, NO_DATA, hippocampusCase, tempDir } from '../helpers.js';

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

test('the hippocampus folder: 260 cases, shapes, spacing, label sets, float32 label files', { skip: NO_DATA }, async () => {
  const result = await inspectDataset(HIPPOCAMPUS);
  assert.equal(result.layout, 'msd');
  assert.equal(result.totals.cases, 260);
  assert.equal(result.totals.casesWithLabels, 260);
  assert.equal(result.bad.length, 0);
  assert.equal(result.unpaired.length, 0);
  assert.equal(result.totals.slices, 9270);
  for (const c of result.cases) {
    assert.deepEqual(c.spacing, [1, 1, 1]);
    assert.equal(c.orientation, 'RAS');
    assert.equal(c.axis, 2);
    assert.ok(c.slices >= 24 && c.slices <= 47, `${c.id} has ${c.slices} slices`);
    assert.ok(c.shape[0] >= 31 && c.shape[0] <= 43 && c.shape[1] >= 40 && c.shape[1] <= 59);
    assert.deepEqual(Object.keys(c.labelCounts ?? {}).sort(), ['0', '1', '2'], c.id);
  }
  const types = new Map<string, number>();
  for (const c of result.cases) types.set(c.dataType, (types.get(c.dataType) ?? 0) + 1);
  assert.equal(types.get('float32'), 205);
  assert.equal(types.get('uint8'), 55);
  const first = result.cases.find((c) => c.id === 'hippocampus_001')!;
  assert.deepEqual(first.shape, [35, 51, 35]);
  assert.deepEqual(first.labelCounts, { 0: 59527, 1: 1324, 2: 1624 }); // as nibabel counts them
  // Two label files are stored as float32: both are read as integer labels.
  const dataset = await discoverDataset(HIPPOCAMPUS);
  let floatLabels = 0;
  for (const c of dataset.cases) {
    const header = readFileSync(c.labelPath!);
    if (header.length > 0) {
      const label = await readVolume(c.labelPath!);
      if (label.dataType === 'float32') floatLabels++;
    }
  }
  assert.equal(floatLabels, 2);
});

/** A small MSD-style dataset of links to real files, plus deliberately broken cases. */
async function buildDataset(root: string): Promise<void> {
  mkdirSync(join(root, 'imagesTr'), { recursive: true });
  mkdirSync(join(root, 'labelsTr'));
  mkdirSync(join(root, 'imagesTs'));
  for (const id of ['hippocampus_001', 'hippocampus_003', 'hippocampus_004']) {
    const { image, label } = hippocampusCase(id);
    symlinkSync(image, join(root, 'imagesTr', `${id}_0000.nii.gz`));
    symlinkSync(label, join(root, 'labelsTr', `${id}.nii.gz`));
  }
  symlinkSync(hippocampusCase('hippocampus_006').image, join(root, 'imagesTs', 'hippocampus_006_0000.nii.gz'));
  // A label with no image, an image with no label.
  symlinkSync(hippocampusCase('hippocampus_007').label, join(root, 'labelsTr', 'orphan.nii.gz'));
  symlinkSync(hippocampusCase('hippocampus_008').image, join(root, 'imagesTr', 'lonely_0000.nii.gz'));
  // A label on another grid: shape mismatch.
  symlinkSync(hippocampusCase('hippocampus_011').image, join(root, 'imagesTr', 'mismatch_0000.nii.gz'));
  symlinkSync(hippocampusCase('hippocampus_014').label, join(root, 'labelsTr', 'mismatch.nii.gz'));
  // A label with a non-integer value.
  const img = await readVolume(hippocampusCase('hippocampus_015').image);
  const lab = await readVolume(hippocampusCase('hippocampus_015').label);
  const fractional = new Float32Array(lab.data);
  fractional[100] = 0.5;
  symlinkSync(hippocampusCase('hippocampus_015').image, join(root, 'imagesTr', 'fraction_0000.nii.gz'));
  await writeVolume(new Volume(fractional, lab.geometry), join(root, 'labelsTr', 'fraction.nii.gz'));
  // Same shape, other origin: a geometry mismatch.
  symlinkSync(hippocampusCase('hippocampus_015').image, join(root, 'imagesTr', 'shifted_0000.nii.gz'));
  await writeVolume(new Volume(lab.data, { ...lab.geometry, origin: [5, 5, 5] }), join(root, 'labelsTr', 'shifted.nii.gz'));
  assert.deepEqual(img.shape, lab.shape);
  writeFileSync(join(root, 'dataset.json'), JSON.stringify({
    name: 'Hippo-links', file_ending: '.nii.gz', channel_names: { 0: 'MRI' },
    labels: { background: 0, anterior: 1, posterior: 2, ignore: 3 },
  }));
}

test('an MSD/nnU-Net layout with dataset.json, channel suffixes, unpaired files and bad cases', { skip: NO_DATA }, async () => {
  const root = join(tempDir(), 'Dataset001_Hippo');
  await buildDataset(root);
  const dataset = await discoverDataset(root);
  assert.equal(dataset.name, 'Hippo-links');
  assert.deepEqual(dataset.labels, { background: 0, anterior: 1, posterior: 2, ignore: 3 });
  assert.equal(dataset.ignoreValue, 3);
  assert.deepEqual(dataset.cases.map((c) => c.id), ['fraction', 'hippocampus_001', 'hippocampus_003', 'hippocampus_004', 'lonely', 'mismatch', 'shifted']);
  assert.deepEqual(dataset.testCases.map((c) => c.id), ['hippocampus_006']);
  assert.deepEqual(dataset.unpaired.map((u) => u.reason).sort(), ['image has no label file', 'label has no image file']);

  const result = await inspectDataset(root);
  assert.deepEqual(result.bad.map((b) => b.id), ['fraction', 'mismatch', 'shifted']);
  assert.match(result.bad[0].error, /fraction\.nii\.gz: label volume has a non-integer value 0\.5/);
  assert.match(result.bad[1].error, /mismatch\.nii\.gz: label shape 39×50×40 differs from the image's 36×50×31/);
  assert.match(result.bad[2].error, /shifted\.nii\.gz: label geometry \(spacing, origin or direction\) differs/);
  assert.equal(result.totals.cases, 5); // 4 good training cases + 1 test case
  await assert.rejects(inspectDataset(root, { strict: true }), /fraction\.nii\.gz: label volume has a non-integer value/);

  // The CLI: a table with the bad cases marked, exit 0; --strict exits 2 with one line.
  const run = cli('inspect', root);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /BAD mismatch: .*label shape/);
  assert.match(run.stdout, /^hippocampus_001 +imagesTr[/\\]hippocampus_001_0000\.nii\.gz +labelsTr[/\\]hippocampus_001\.nii\.gz +35×51×35 /m);
  assert.match(run.stdout, /UNPAIRED .*orphan\.nii\.gz: label has no image file/);
  const strict = cli('inspect', root, '--strict');
  assert.equal(strict.status, 2);
  const errorLines = strict.stderr.trim().split('\n').filter((l) => !/^reading \d+\/\d+/.test(l));
  assert.deepEqual(errorLines.length, 1, strict.stderr);
  assert.match(errorLines[0], /^slicewise: .*fraction\.nii\.gz: label volume has a non-integer value 0\.5/);
  assert.doesNotMatch(strict.stderr, /at .*\.js:\d+/);
});

test('a label value outside dataset.json is refused', { skip: NO_DATA }, async () => {
  const root = tempDir();
  mkdirSync(join(root, 'imagesTr')); mkdirSync(join(root, 'labelsTr'));
  const { image, label } = hippocampusCase('hippocampus_001');
  symlinkSync(image, join(root, 'imagesTr', 'case_0000.nii.gz'));
  symlinkSync(label, join(root, 'labelsTr', 'case.nii.gz'));
  writeFileSync(join(root, 'dataset.json'), JSON.stringify({ labels: { 0: 'background', 1: 'anterior' } }));
  const dataset = await discoverDataset(root);
  await assert.rejects(loadCase(dataset, dataset.cases[0]), /case\.nii\.gz: label value 2 is not declared in dataset\.json/);
  writeFileSync(join(root, 'dataset.json'), JSON.stringify({ labels: { background: 0, ignore: 1, anterior: 2 } }));
  await assert.rejects(discoverDataset(root), /dataset\.json: the "ignore" label must have the highest value \(2\), it has 1/);
});

test('plain image/label folders pair by file name; a flat folder pairs CASE with CASE_seg', { skip: NO_DATA }, async () => {
  const root = tempDir();
  mkdirSync(join(root, 'images')); mkdirSync(join(root, 'labels'));
  for (const id of ['hippocampus_001', 'hippocampus_003']) {
    symlinkSync(hippocampusCase(id).image, join(root, 'images', `${id}.nii.gz`));
    symlinkSync(hippocampusCase(id).label, join(root, 'labels', `${id}.nii.gz`));
  }
  const pair = await discoverDataset(root);
  assert.equal(pair.layout, 'pair-folders');
  assert.deepEqual(pair.cases.map((c) => [c.id, !!c.labelPath]), [['hippocampus_001', true], ['hippocampus_003', true]]);
  assert.equal(pair.labels, null);

  const flat = await discoverDataset(join(HIPPOCAMPUS, '..', 'totalseg-ct'));
  assert.equal(flat.layout, 'flat-folder');
  assert.deepEqual(flat.cases.map((c) => c.id), ['example_ct']);
  assert.match(flat.cases[0].labelPath ?? '', /example_ct_seg\.nii\.gz$/);
});

test('inspect: missing and empty folders, JSON output, --axis, help lists defaults', { skip: NO_DATA }, () => {
  const missing = cli('inspect', '/nonexistent/folder');
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr.trim(), 'slicewise: /nonexistent/folder: no such file or folder');
  const empty = tempDir();
  const runEmpty = cli('inspect', empty);
  assert.equal(runEmpty.status, 2);
  assert.match(runEmpty.stderr, /folder is empty/);

  const json = cli('inspect', hippocampusCase('hippocampus_001').image, '--json', '--axis', 'coronal');
  assert.equal(json.status, 0, json.stderr);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.cases[0].axis, 1);
  assert.equal(parsed.cases[0].slices, 51);
  assert.equal(parsed.totals.slices, 51);

  // One bad file is an error, not a table with a BAD row.
  const truncated = join(empty, 'cut.nii.gz');
  writeFileSync(truncated, readFileSync(hippocampusCase('hippocampus_001').image).subarray(0, 2000));
  const cut = cli('inspect', truncated);
  assert.equal(cut.status, 2);
  assert.equal(cut.stdout, '');
  assert.equal(cut.stderr.trim(), `slicewise: ${truncated}: truncated gzip stream (the file is cut short)`);

  const badAxis = cli('inspect', empty, '--axis', 'oblique');
  assert.equal(badAxis.status, 2);
  assert.match(badAxis.stderr, /--axis: unknown axis "oblique"/);

  const help = cli('inspect', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--axis <axis>[\s\S]*default:\s+"axial"/);
});

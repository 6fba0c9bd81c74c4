import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { exportNnunet } from '../../src/annotate/export/nnunet.js';
import { parseLabelsOption } from '../../src/annotate/export/record.js';
import { exportSlices, encodeGray8 } from '../../src/annotate/export/slices.js';
import { forEachDisplayPixel, sliceDisplay } from '../../src/annotate/export/orientation.js';
import { importNnunet } from '../../src/annotate/import/nnunet.js';
import { importSlices, parseCsv } from '../../src/annotate/import/slices.js';
import { loadSparseCase, readSparseDataset } from '../../src/annotate/sparse-dataset.js';
import { inferLabelMap, sparseFromPlan, type LabelMap } from '../../src/annotate/sparse.js';
import { discoverDataset } from '../../src/io/dataset.js';
import { isUserError } from '../../src/io/errors.js';
import { percentile } from '../../src/io/normalize.js';
import { readVolume, writeVolume } from '../../src/io/read.js';
import { Volume, type Mat3, type Vec3 } from '../../src/io/volume.js';
import { makePlan, writePlan } from '../../src/plan/plan.js';
import type { Plan, PlannedCase } from '../../src/plan/types.js';
import { buildTrainingCases } from '../../src/train/cases.js';
import { IGNORE } from '../../src/train/augment.js';
import { CLI, HIPPOCAMPUS, NO_DATA, tempDir } from '../helpers.js';

const CASE_IDS = ['hippocampus_001', 'hippocampus_003', 'hippocampus_004', 'hippocampus_006'];
const BUDGET = 12;
const LABELS: LabelMap = { background: 0, label_1: 1, label_2: 2 };

let work = '';
let msd = '';
let plan: Plan;
let planPath = '';
const real = new Map<string, Volume>();
let counter = 0;
const fresh = (name: string) => join(work, `${name}-${++counter}`);

before(async () => {
  if (NO_DATA) return;
  work = tempDir('slicewise-export-');
  // A small MSD folder of links to the real data; outputs are always new files under `work`.
  msd = join(work, 'msd');
  for (const sub of ['imagesTr', 'labelsTr']) {
    mkdirSync(join(msd, sub), { recursive: true });
    for (const id of CASE_IDS) symlinkSync(join(HIPPOCAMPUS, sub, `${id}.nii.gz`), join(msd, sub, `${id}.nii.gz`));
  }
  plan = await makePlan(msd, { budget: BUDGET, strategy: 'fixed-interval', seed: 0 });
  planPath = (await writePlan(plan, join(work, 'plan'))).json;
  for (const c of plan.cases) real.set(c.id, await readVolume(c.labelPath!));
  assert.deepEqual(plan.cases.map((c) => c.id), CASE_IDS);
  assert.deepEqual(plan.cases.map((c) => c.slices), [[5, 17, 29], [5, 17, 29], [6, 19, 31], [5, 17, 28]]);
});

async function userError(promise: Promise<unknown>, pattern: RegExp): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isUserError(err), `expected a UserError, got ${String(err)}`);
    assert.match((err as Error).message, pattern);
    return (err as Error).message;
  }
  assert.fail(`expected a UserError matching ${pattern}`);
}

/**
 * "Annotate" an nnU-Net export: the real labels on the planned slices of each template, except the slices
 * `leaveUnpainted` names (left 0, as an annotator who has not got to them yet would).
 */
async function paintNnunet(folder: string, ids = CASE_IDS, source = plan, leaveUnpainted = (_caseId: string, _slice: number) => false): Promise<void> {
  for (const planned of source.cases.filter((c) => ids.includes(c.id))) {
    const path = join(folder, 'labelsTr', `${planned.id}.nii.gz`);
    const template = await readVolume(path);
    const painted = Uint8Array.from(template.data);
    const full = real.get(planned.id)!;
    const [nx, ny] = full.shape;
    for (let i = 0; i < painted.length; i++) {
      const k = [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))][planned.axis];
      if (planned.slices.includes(k) && !leaveUnpainted(planned.id, k)) painted[i] = full.data[i];
    }
    unlinkSync(path);
    await writeVolume(template.withData(painted), path);
  }
}

interface Row { [column: string]: string }
function manifestRows(folder: string): Row[] {
  const [header, ...rows] = parseCsv(readFileSync(join(folder, 'manifest.csv'), 'utf8'));
  return rows.map((fields) => Object.fromEntries(header.map((h, i) => [h, fields[i]])));
}

/**
 * "Annotate" a slices export: one mask PNG per manifest row from the real labels, oriented by the row's own
 * transpose / flip columns (written out here independently of the exporter's code).
 */
function paintSlices(folder: string, skip: (row: Row) => boolean = () => false): void {
  for (const row of manifestRows(folder)) {
    if (skip(row)) continue;
    const full = real.get(row.case)!;
    const planned = plan.cases.find((c) => c.id === row.case)!;
    const k = Number(row.slice_index);
    const [a, b] = planned.axis === 0 ? [1, 2] : planned.axis === 1 ? [0, 2] : [0, 1];
    const width = Number(row.width), height = Number(row.height);
    const pixels = new Uint8Array(width * height);
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const cc = row.flip_horizontal === '1' ? width - 1 - c : c;
        const rr = row.flip_vertical === '1' ? height - 1 - r : r;
        const [u, v] = row.transpose === '1' ? [rr, cc] : [cc, rr];
        const voxel = [0, 0, 0];
        voxel[planned.axis] = k; voxel[a] = u; voxel[b] = v;
        pixels[r * width + c] = full.get(voxel[0], voxel[1], voxel[2]);
      }
    }
    writeFileSync(join(folder, 'masks', row.file.split('/').pop()!), encodeGray8(width, height, pixels));
  }
}

/** The sparse dataset in `folder` equals the sparse labels taken straight from the plan, voxel for voxel. */
async function assertEqualsPlan(folder: string, ids = CASE_IDS, source = plan): Promise<void> {
  const dataset = await readSparseDataset(folder);
  assert.deepEqual(dataset.cases.map((c) => c.id), ids);
  assert.deepEqual(dataset.labelMap, LABELS);
  assert.equal(dataset.ignoreValue, 3);
  let foreground = 0;
  for (const entry of dataset.cases) {
    const planned = source.cases.find((c) => c.id === entry.id)!;
    const expected = sparseFromPlan(real.get(entry.id)!, planned, { labelMap: LABELS });
    const imported = await loadSparseCase(dataset, entry);
    assert.deepEqual(imported.annotatedSlices, planned.slices, entry.id);
    assert.equal(imported.axis, planned.axis);
    assert.deepEqual(imported.labels.shape, expected.labels.shape);
    let differing = 0;
    for (let i = 0; i < expected.labels.data.length; i++) if (imported.labels.data[i] !== expected.labels.data[i]) differing++;
    assert.equal(differing, 0, `${entry.id}: ${differing} voxels differ from sparseFromPlan`);
    for (const v of imported.labels.data) if (v === 1 || v === 2) foreground++;
  }
  assert.ok(foreground > 0, 'the planned slices hold foreground');
}

/** `slicewise train` on an imported sparse folder: a 2-step run on the imported cases, supervised by the planned slices only. */
function trainsFrom(folder: string): void {
  const out = fresh('train');
  const cli = spawnSync(process.execPath, [CLI, 'train', folder, '--model', '2d', '--steps', '2', '--batch-size', '2', '--out', out], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual([...config.trainingCases, ...config.validationCases].sort(), CASE_IDS);
  assert.deepEqual([config.model, config.steps, config.batchSize, config.labelValues], ['2d', 2, 2, [0, 1, 2]]);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.steps, 2);
  assert.deepEqual(metrics.supervision.map((c: { id: string; annotated: number }) => [c.id, c.annotated]), plan.cases.map((c) => [c.id, c.slices.length]));
}

test('nnunet round trip: export → paint the real labels on the planned slices → import equals sparseFromPlan; training cases build and slicewise train runs on the import', { skip: NO_DATA }, async () => {
  const r = await exportNnunet(plan, { outParent: fresh('nn') });
  assert.match(r.folder, /Dataset500_Msd$/);
  assert.equal(r.labels.source, 'the label files of the 4 planned case(s)');
  assert.deepEqual([r.cases, r.slices, r.copiedImages, r.convertedImages], [4, BUDGET, 4, 0]);
  const json = JSON.parse(readFileSync(join(r.folder, 'dataset.json'), 'utf8'));
  assert.deepEqual(json.labels, { background: 0, label_1: 1, label_2: 2, ignore: 3 });
  assert.deepEqual([json.numTraining, json.file_ending, json.channel_names['0']], [4, '.nii.gz', 'MRI']);
  assert.deepEqual(JSON.parse(readFileSync(join(r.folder, 'plan.json'), 'utf8')), plan);
  assert.match(readFileSync(join(r.folder, 'ANNOTATORS.md'), 'utf8'), /\| 3 \| ignore/);
  // Images byte for byte; templates: 0 on the planned slices, ignore (3) everywhere else.
  for (const c of plan.cases) {
    assert.ok(readFileSync(join(r.folder, 'imagesTr', `${c.id}_0000.nii.gz`)).equals(readFileSync(c.imagePath)));
    const template = await readVolume(join(r.folder, 'labelsTr', `${c.id}.nii.gz`));
    const [nx, ny] = template.shape;
    const zeros = new Set<number>();
    for (let i = 0; i < template.data.length; i++) {
      const k = Math.floor(i / (nx * ny));
      assert.equal(template.data[i], c.slices.includes(k) ? 0 : 3);
      if (template.data[i] === 0) zeros.add(k);
    }
    assert.deepEqual([...zeros].sort((a, b) => a - b), c.slices);
  }
  await paintNnunet(r.folder);
  const imported = await importNnunet(r.folder, { out: fresh('nn-sparse') });
  assert.deepEqual([imported.importedCases, imported.annotatedSlices, imported.plannedSlices, imported.missing.length, imported.droppedPaint.length], [4, 12, 12, 0, 0]);
  await assertEqualsPlan(imported.folder);
  // Training input from the import: ignore → IGNORE off the planned slices, class indices on them.
  const dataset = await discoverDataset(imported.folder);
  assert.equal(dataset.ignoreValue, 3);
  const training = await buildTrainingCases(dataset, CASE_IDS);
  assert.deepEqual(training.labelValues, [0, 1, 2]);
  const first = training.cases[0];
  const [nx, ny] = first.shape;
  const expected = sparseFromPlan(real.get(first.id)!, plan.cases[0], { labelMap: LABELS });
  for (let i = 0; i < first.labels.length; i++) {
    const k = Math.floor(i / (nx * ny));
    assert.equal(first.labels[i], plan.cases[0].slices.includes(k) ? expected.labels.data[i] : IGNORE);
  }
  trainsFrom(imported.folder);
});

test('slices round trip: PNGs, manifest, Label Studio tasks → masks from the real labels → import equals sparseFromPlan; slicewise train runs on the import', { skip: NO_DATA }, async () => {
  const r = await exportSlices(plan, { out: fresh('slices') });
  assert.deepEqual([r.cases, r.slices, r.windowed], [4, BUDGET, 0]);
  const rows = manifestRows(r.folder);
  assert.equal(rows.length, BUDGET);
  const first = rows[0];
  // MSD hippocampus: identity NIfTI affine (RAS), so both in-plane axes are flipped for radiological display.
  assert.deepEqual(
    [first.file, first.case, first.slice_index, first.slice, first.plane, first.rows_toward, first.columns_toward, first.transpose, first.flip_horizontal, first.flip_vertical],
    ['images/hippocampus_001_slice-005.png', 'hippocampus_001', '5', '6', 'axial', 'L', 'P', '0', '1', '1'],
  );
  const image = await readVolume(plan.cases[0].imagePath);
  assert.deepEqual([first.width, first.height, first.aspect], [String(image.shape[0]), String(image.shape[1]), '1']);
  const tasks = JSON.parse(readFileSync(join(r.folder, 'label-studio-tasks.json'), 'utf8'));
  assert.equal(tasks.length, BUDGET);
  // data.image: Label Studio's local-files URL of the PNG (document root = the export's parent folder).
  const folderName = r.folder.split('/').pop()!;
  assert.match(folderName, /^slices-\d+$/);
  assert.deepEqual(tasks[0].data, { image: `/data/local-files/?d=${folderName}/images/hippocampus_001_slice-005.png`, case: 'hippocampus_001', slice_index: 5, slice: 6, position_mm: plan.cases[0].positionsMm[0], mask: 'masks/hippocampus_001_slice-005.png' });
  // 8-bit grayscale; display (0, 0) is the voxel at the far x and y end; intensities by the 0.5–99.5 percentiles.
  const bytes = readFileSync(join(r.folder, first.file));
  assert.deepEqual([bytes[24], bytes[25]], [8, 0]);
  const png = PNG.sync.read(bytes);
  const lo = percentile(image.data, 0.5), hi = percentile(image.data, 99.5);
  const expect = (x: number, y: number) => Math.round(Math.min(255, Math.max(0, ((image.get(x, y, 5) - lo) * 255) / (hi - lo))));
  const [nx, ny] = image.shape;
  assert.equal(png.data[0], expect(nx - 1, ny - 1));
  assert.equal(png.data[4 * (png.width * (png.height - 1) + 1)], expect(nx - 2, 0));

  paintSlices(r.folder);
  const imported = await importSlices(r.folder, { out: fresh('slices-sparse') });
  assert.deepEqual([imported.importedCases, imported.annotatedSlices, imported.missing.length, imported.strayFiles.length], [4, 12, 0, 0]);
  await assertEqualsPlan(imported.folder);
  const dataset = await readSparseDataset(imported.folder);
  const training = await buildTrainingCases(await discoverDataset(imported.folder), CASE_IDS);
  assert.equal(training.cases.length, 4);
  assert.equal(dataset.cases[0].imagePaths[0], plan.cases[0].imagePath);
  trainsFrom(imported.folder);
});

test('export --to slices: Label Studio tasks point at URLs, by default its local-files URL of the export folder (encoded), or --image-url-prefix', { skip: NO_DATA }, () => {
  const imagesOf = (folder: string) => (JSON.parse(readFileSync(join(folder, 'label-studio-tasks.json'), 'utf8')) as Array<{ data: { image: string; mask: string } }>).map((t) => t.data);
  const byDefault = join(work, `ls export-${++counter}`);
  const cli = spawnSync(process.execPath, [CLI, 'export', planPath, '--to', 'slices', '--out', byDefault, '--no-progress'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const name = `ls%20export-${counter}`;
  const tasks = imagesOf(byDefault);
  assert.equal(tasks.length, BUDGET);
  assert.deepEqual(tasks.slice(0, 2), [
    { image: `/data/local-files/?d=${name}/images/hippocampus_001_slice-005.png`, mask: 'masks/hippocampus_001_slice-005.png', case: 'hippocampus_001', slice_index: 5, slice: 6, position_mm: plan.cases[0].positionsMm[0] },
    { image: `/data/local-files/?d=${name}/images/hippocampus_001_slice-017.png`, mask: 'masks/hippocampus_001_slice-017.png', case: 'hippocampus_001', slice_index: 17, slice: 18, position_mm: plan.cases[0].positionsMm[1] },
  ]);
  const guide = readFileSync(join(byDefault, 'ANNOTATORS.md'), 'utf8');
  assert.ok(guide.includes(`data.image is \`/data/local-files/?d=${name}/\` followed by the\nPNG's`), guide);
  assert.match(guide, /LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT set to the folder that\nholds this one/);

  const custom = fresh('ls-custom');
  const prefixed = spawnSync(process.execPath, [CLI, 'export', planPath, '--to', 'slices', '--out', custom, '--image-url-prefix', 'https://files.example.org/study 1/', '--no-progress'], { encoding: 'utf8' });
  assert.equal(prefixed.status, 0, prefixed.stderr);
  assert.deepEqual(imagesOf(custom).map((t) => t.image).slice(-1), ['https://files.example.org/study 1/images/hippocampus_006_slice-028.png']);
  assert.doesNotMatch(readFileSync(join(custom, 'ANNOTATORS.md'), 'utf8'), /LOCAL_FILES_DOCUMENT_ROOT/);
  // The prefix as given (here none at all: the bare relative paths); the rest of the export is unchanged.
  const bare = fresh('ls-bare');
  assert.equal(spawnSync(process.execPath, [CLI, 'export', planPath, '--to', 'slices', '--out', bare, '--image-url-prefix', '', '--no-progress']).status, 0);
  assert.deepEqual(imagesOf(bare).map((t) => t.image), manifestRows(bare).map((row) => row.file));
  assert.match(readFileSync(join(bare, 'ANNOTATORS.md'), 'utf8'), /data\.image is the\nPNG's path in this folder\. Then/);
  assert.ok(readFileSync(join(bare, 'manifest.csv')).equals(readFileSync(join(custom, 'manifest.csv'))));

  const wrong = spawnSync(process.execPath, [CLI, 'export', planPath, '--to', 'nnunet', '--out', fresh('nn'), '--image-url-prefix', '/x/', '--no-progress'], { encoding: 'utf8' });
  assert.equal(wrong.status, 2);
  assert.equal(wrong.stderr, 'slicewise: --image-url-prefix: only applies to --to slices\n');
});

test('nnunet import: a missing label file or an unpainted template refuses, --allow-missing keeps what is done and lists the rest', { skip: NO_DATA }, async () => {
  const r = await exportNnunet(plan, { outParent: fresh('nn') });
  await paintNnunet(r.folder, [CASE_IDS[0], CASE_IDS[1]]); // 004 left as an unpainted template
  unlinkSync(join(r.folder, 'labelsTr', `${CASE_IDS[3]}.nii.gz`));
  const out = fresh('nn-sparse');
  const message = await userError(importNnunet(r.folder, { out }), /6 planned slices not annotated yet: hippocampus_004 \(all 3\); hippocampus_006 \(all 3\); pass --allow-missing/);
  assert.ok(message.startsWith(r.folder));
  assert.throws(() => readdirSync(out), /ENOENT/);
  const partial = await importNnunet(r.folder, { out, allowMissing: true });
  assert.deepEqual(partial.missing, [
    { caseId: 'hippocampus_004', slices: [6, 19, 31], wholeCase: true },
    { caseId: 'hippocampus_006', slices: [5, 17, 28], wholeCase: true },
  ]);
  await assertEqualsPlan(partial.folder, CASE_IDS.slice(0, 2));
  // Annotators who confirm they are done: the untouched template is all background; a missing file still remains.
  const confirmed = await importNnunet(r.folder, { out: fresh('nn-sparse'), allowMissing: true, emptySlices: 'annotated' });
  assert.deepEqual([confirmed.importedCases, confirmed.emptyAccepted], [3, [{ caseId: 'hippocampus_004', slices: [6, 19, 31] }]]);
  assert.deepEqual(confirmed.missing, [{ caseId: 'hippocampus_006', slices: [5, 17, 28], wholeCase: true }]);
});

/** Voxels of axial slice `k` (axis 2, as for every hippocampus case) that are not background. */
function foregroundOnSlice(labels: Volume, k: number): number {
  const [nx, ny] = labels.shape;
  let n = 0;
  for (let i = k * nx * ny; i < (k + 1) * nx * ny; i++) if (labels.data[i] !== 0) n++;
  return n;
}

test('nnunet --empty-slices annotated: a random plan with 15 planned slices holding no hippocampus round-trips voxel for voxel; by default those cases remain', { skip: NO_DATA }, async () => {
  // The review's plan: budget 40 over 40 random volumes, random slices, seed 4.
  const randomPlan = await makePlan(HIPPOCAMPUS, { budget: 40, allocation: { kind: 'volumes', volumes: 40 }, strategy: 'random', seed: 4 });
  for (const c of randomPlan.cases) if (!real.has(c.id)) real.set(c.id, await readVolume(c.labelPath!));
  assert.ok(randomPlan.cases.every((c) => c.axis === 2 && c.slices.length === 1));
  const empty = randomPlan.cases.filter((c) => foregroundOnSlice(real.get(c.id)!, c.slices[0]) === 0).map((c) => ({ caseId: c.id, slices: c.slices }));
  assert.equal(empty.length, 15);
  assert.deepEqual(empty.slice(0, 3), [
    { caseId: 'hippocampus_011', slices: [2] }, { caseId: 'hippocampus_034', slices: [36] }, { caseId: 'hippocampus_045', slices: [4] },
  ]);
  const ids = randomPlan.cases.map((c) => c.id).sort();
  const r = await exportNnunet(randomPlan, { outParent: fresh('nn-random') });
  await paintNnunet(r.folder, ids, randomPlan);

  // Default (case): a one-slice case whose slice holds nothing looks unpainted, so it remains.
  await userError(importNnunet(r.folder, { out: fresh('x') }), /15 planned slices not annotated yet: hippocampus_011 \(all 1\); hippocampus_034 \(all 1\)/);
  const byCase = await importNnunet(r.folder, { out: fresh('nn-random-case'), allowMissing: true });
  assert.deepEqual([byCase.importedCases, byCase.annotatedSlices, byCase.emptyAccepted], [25, 25, []]);
  assert.deepEqual(byCase.missing, empty.map((e) => ({ ...e, wholeCase: true })));

  const imported = await importNnunet(r.folder, { out: fresh('nn-random-annotated'), emptySlices: 'annotated' });
  assert.deepEqual([imported.importedCases, imported.annotatedSlices, imported.plannedSlices, imported.missing.length], [40, 40, 40, 0]);
  assert.deepEqual(imported.emptyAccepted, empty);
  await assertEqualsPlan(imported.folder, ids, randomPlan);
});

test('nnunet --empty-slices: a half-painted case is imported and its empty slice reported by default (CLI too), and remains under missing', { skip: NO_DATA }, async () => {
  const r = await exportNnunet(plan, { outParent: fresh('nn') });
  // hippocampus_004's planned slice 19 holds 137 hippocampus voxels; the annotator has not painted it yet.
  assert.equal(foregroundOnSlice(real.get('hippocampus_004')!, 19), 137);
  await paintNnunet(r.folder, CASE_IDS, plan, (caseId, slice) => caseId === 'hippocampus_004' && slice === 19);
  const half = plan.cases[2];
  const withSlices = (slices: number[]): PlannedCase => ({ ...half, slices, positionsMm: [] });

  const out = fresh('nn-sparse');
  const cli = spawnSync(process.execPath, [CLI, 'import', r.folder, '--from', 'nnunet', '--out', out, '--no-progress'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stdout, `${out}: 4 cases, 12 of 12 planned slices annotated\nempty planned slice accepted as background: case hippocampus_004 slice 19\n`);
  const byCase = await importNnunet(r.folder, { out: fresh('nn-sparse') });
  assert.deepEqual([byCase.emptyAccepted, byCase.missing], [[{ caseId: 'hippocampus_004', slices: [19] }], []]);
  // Slice 19 is kept as annotated background: the plan's labels on 6 and 31, 0 on 19.
  const dataset = await readSparseDataset(out);
  const imported = await loadSparseCase(dataset, dataset.cases[2]);
  assert.deepEqual(imported.annotatedSlices, [6, 19, 31]);
  const painted = sparseFromPlan(real.get(half.id)!, withSlices([6, 31]), { labelMap: LABELS }).labels.data;
  const [nx, ny] = imported.labels.shape;
  const expected = Array.from(painted, (v, i) => (Math.floor(i / (nx * ny)) === 19 ? 0 : v));
  assert.deepEqual(Array.from(imported.labels.data), expected);

  await userError(importNnunet(r.folder, { out: fresh('x'), emptySlices: 'missing' }), /1 planned slice not annotated yet: hippocampus_004 slice 19; pass --allow-missing/);
  const missing = await importNnunet(r.folder, { out: fresh('nn-sparse'), emptySlices: 'missing', allowMissing: true });
  assert.deepEqual([missing.importedCases, missing.annotatedSlices, missing.emptyAccepted], [4, 11, []]);
  assert.deepEqual(missing.missing, [{ caseId: 'hippocampus_004', slices: [19], wholeCase: false }]);
  const partial = await readSparseDataset(missing.folder);
  const remaining = await loadSparseCase(partial, partial.cases[2]);
  assert.deepEqual(remaining.annotatedSlices, [6, 31]);
  assert.deepEqual(Array.from(remaining.labels.data), Array.from(painted));
  // Not a nnunet option elsewhere.
  const wrong = spawnSync(process.execPath, [CLI, 'import', r.folder, '--from', 'slices', '--empty-slices', 'missing', '--no-progress'], { encoding: 'utf8' });
  assert.equal(wrong.status, 2);
  assert.equal(wrong.stderr, 'slicewise: --empty-slices: only applies to --from nnunet\n');
});

test('import --from plan keeps the planned slices of the dense labels (equals sparseFromPlan) and interpolate runs on it; a case or slice the dataset lacks is one line naming the plan', { skip: NO_DATA }, async () => {
  const out = fresh('from-plan');
  const cli = spawnSync(process.execPath, [CLI, 'import', msd, '--from', 'plan', '--plan', planPath, '--out', out, '--no-progress'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stdout, `${out}: 4 cases, 12 of 12 planned slices annotated\n`);
  await assertEqualsPlan(out);
  const dataset = await readSparseDataset(out);
  assert.deepEqual(dataset.cases[0].imagePaths, [join(msd, 'imagesTr', 'hippocampus_001.nii.gz')]);
  assert.ok(readFileSync(join(out, 'imagesTr', 'hippocampus_001_0000.nii.gz')).equals(readFileSync(plan.cases[0].imagePath)));

  const filled = fresh('from-plan-sdf');
  const interpolate = spawnSync(process.execPath, [CLI, 'interpolate', out, '--method', 'sdf', '--out', filled], { encoding: 'utf8' });
  assert.equal(interpolate.status, 0, interpolate.stderr);
  // Between the first and last planned slice, less the planned ones: 001 and 003 (5..29) 22 each, 004 (6..31) 23, 006 (5..28) 21.
  assert.match(interpolate.stdout, new RegExp(`^${filled}: 4 cases, 12 annotated slices kept, 88 slices interpolated with sdf`));
  const interpolated = await readSparseDataset(filled);
  const first = await loadSparseCase(interpolated, interpolated.cases[0]);
  assert.deepEqual([first.annotatedSlices, first.interpolatedSlices.length, first.interpolatedSlices[0]], [[5, 17, 29], 22, 6]);

  const edited = (name: string, edit: (p: Plan) => void): string => {
    const copy: Plan = JSON.parse(JSON.stringify(plan));
    edit(copy);
    const path = join(work, `${name}-${++counter}.json`);
    writeFileSync(path, JSON.stringify(copy));
    return path;
  };
  const unknownCase = edited('unknown-case', (p) => { p.cases[1].id = 'hippocampus_999'; });
  const beyond = edited('beyond', (p) => { Object.assign(p.cases[0], { sliceCount: 99, slices: [5, 17, 60], positionsMm: [6, 18, 61] }); });
  for (const [path, message] of [
    [unknownCase, `case hippocampus_999 is not in the dataset ${msd}`],
    [beyond, `case hippocampus_001: slice 60 is beyond the volume (35 slices along axis 2 in ${join(msd, 'labelsTr', 'hippocampus_001.nii.gz')})`],
  ]) {
    const target = fresh('from-plan-bad');
    const bad = spawnSync(process.execPath, [CLI, 'import', msd, '--from', 'plan', '--plan', path, '--out', target, '--no-progress'], { encoding: 'utf8' });
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr, `slicewise: ${path}: ${message}\n`);
    assert.equal(existsSync(target), false);
  }
  assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('.')), [], 'no staging folder left behind');
});

test('nnunet import: paint outside the planned slices is reported per slice and dropped', { skip: NO_DATA }, async () => {
  const r = await exportNnunet(plan, { outParent: fresh('nn') });
  await paintNnunet(r.folder);
  const path = join(r.folder, 'labelsTr', `${CASE_IDS[1]}.nii.gz`);
  const painted = await readVolume(path);
  const data = Uint8Array.from(painted.data);
  const [nx, ny] = painted.shape;
  for (let x = 3; x < 8; x++) data[x + nx * 10 + nx * ny * 10] = 1; // 5 voxels on unplanned slice 10
  data[nx * ny * 11] = 0; // and one background voxel on slice 11
  unlinkSync(path);
  await writeVolume(painted.withData(data), path);
  const imported = await importNnunet(r.folder, { out: fresh('nn-sparse') });
  assert.deepEqual(imported.droppedPaint.map(({ caseId, slice, voxels }) => ({ caseId, slice, voxels })), [
    { caseId: 'hippocampus_003', slice: 10, voxels: 5 },
    { caseId: 'hippocampus_003', slice: 11, voxels: 1 },
  ]);
  await assertEqualsPlan(imported.folder);
});

test('nnunet import: an undeclared label value or a label volume of another size is an error naming the file (CLI exit 2)', { skip: NO_DATA }, async () => {
  const r = await exportNnunet(plan, { outParent: fresh('nn') });
  await paintNnunet(r.folder);
  const path = join(r.folder, 'labelsTr', `${CASE_IDS[2]}.nii.gz`);
  const good = await readVolume(path);
  const data = Uint8Array.from(good.data);
  const [nx, ny] = good.shape;
  data[4 + nx * 5 + nx * ny * 19] = 7;
  unlinkSync(path);
  await writeVolume(good.withData(data), path);
  await userError(importNnunet(r.folder, { out: fresh('x') }), new RegExp(`^${path}: label value 7 at voxel 4,5,19 \\(slice 19\\) is not declared`));
  const cli = spawnSync(process.execPath, [CLI, 'import', r.folder, '--from', 'nnunet', '--out', fresh('x'), '--no-progress'], { encoding: 'utf8' });
  assert.equal(cli.status, 2, cli.stderr);
  assert.equal(cli.stderr.trim().split('\n').length, 1);
  assert.match(cli.stderr, /labelsTr\/hippocampus_004\.nii\.gz: label value 7/);
  // Another size: one slice fewer along x.
  const [sx, sy, sz] = good.shape;
  const smaller = new Uint8Array((sx - 1) * sy * sz);
  unlinkSync(path);
  await writeVolume(new Volume(smaller, { ...good.geometry, shape: [sx - 1, sy, sz] }), path);
  await userError(importNnunet(r.folder, { out: fresh('x') }), new RegExp(`^${path}: label volume is ${sx - 1}×${sy}×${sz}, the image is ${sx}×${sy}×${sz}`));
});

test('slices import: missing masks are listed; --allow-missing keeps the finished slices of a half-done case', { skip: NO_DATA }, async () => {
  const r = await exportSlices(plan, { out: fresh('slices') });
  paintSlices(r.folder, (row) => (row.case === 'hippocampus_004' && row.slice_index === '19') || row.case === 'hippocampus_006');
  await userError(importSlices(r.folder, { out: fresh('x') }), /4 planned slices not annotated yet: hippocampus_004 slice 19; hippocampus_006 \(all 3\)/);
  const partial = await importSlices(r.folder, { out: fresh('slices-sparse'), allowMissing: true });
  assert.deepEqual([partial.importedCases, partial.annotatedSlices], [3, 8]);
  assert.deepEqual(partial.missing, [
    { caseId: 'hippocampus_004', slices: [19], wholeCase: false },
    { caseId: 'hippocampus_006', slices: [5, 17, 28], wholeCase: true },
  ]);
  const dataset = await readSparseDataset(partial.folder);
  const half = await loadSparseCase(dataset, dataset.cases[2]);
  assert.deepEqual(half.annotatedSlices, [6, 31]);
  const expected = sparseFromPlan(real.get('hippocampus_004')!, { ...plan.cases[2], slices: [6, 31], positionsMm: [] }, { labelMap: LABELS });
  assert.deepEqual(Array.from(half.labels.data), Array.from(expected.labels.data));

  // Partial work feeds the next plan: the annotated slices are never chosen again, the budget is spent on the rest.
  const cli = spawnSync(process.execPath, [CLI, 'plan', msd, '--budget', '12', '--exclude-annotated', partial.folder, '--out', fresh('plan2'), '--no-progress'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const next: Plan = JSON.parse(readFileSync(join(cli.stdout.match(/wrote (\S+plan\.json)/)![1]), 'utf8'));
  assert.equal(next.cases.reduce((n, c) => n + c.slices.length, 0), 12);
  assert.equal(next.options.excludedAnnotatedSlices, 8);
  for (const c of next.cases) {
    const done = dataset.cases.find((e) => e.id === c.id)?.record?.annotatedSlices ?? [];
    assert.deepEqual(c.slices.filter((k) => done.includes(k)), [], c.id);
  }
  assert.deepEqual(next.cases.map((c) => c.slices), [[6, 18, 28], [6, 18, 28], [7, 19, 32], [5, 17, 28]]);
});

test('slices import: wrong PNG size, undeclared value, colour, stray masks, and a manifest that does not match', { skip: NO_DATA }, async () => {
  const r = await exportSlices(plan, { out: fresh('slices') });
  paintSlices(r.folder);
  const rows = manifestRows(r.folder);
  const maskPath = join(r.folder, 'masks', rows[4].file.split('/').pop()!);
  const original = readFileSync(maskPath);
  const w = Number(rows[4].width), h = Number(rows[4].height);

  writeFileSync(maskPath, encodeGray8(w, h - 1, new Uint8Array(w * (h - 1))));
  await userError(importSlices(r.folder, { out: fresh('x') }), new RegExp(`^${maskPath}: is ${w}×${h - 1}, its image \\(manifest line 6\\) is ${w}×${h}`));

  const bad = new Uint8Array(w * h);
  bad[2 * w + 3] = 5;
  writeFileSync(maskPath, encodeGray8(w, h, bad));
  await userError(importSlices(r.folder, { out: fresh('x') }), new RegExp(`^${maskPath}: pixel 3,2 has value 5, not a declared label \\(0, 1, 2\\)`));

  const colour = new PNG({ width: w, height: h });
  colour.data.fill(255);
  colour.data[0] = 0;
  writeFileSync(maskPath, PNG.sync.write(colour));
  await userError(importSlices(r.folder, { out: fresh('x') }), /is a colour image \(pixel 0,0 is 0,255,255\)/);

  writeFileSync(maskPath, original);
  writeFileSync(join(r.folder, 'masks', 'notes.png'), encodeGray8(2, 2, new Uint8Array(4)));
  const ok = await importSlices(r.folder, { out: fresh('ok') });
  assert.deepEqual(ok.strayFiles, ['masks/notes.png']);

  const manifestPath = join(r.folder, 'manifest.csv');
  const text = readFileSync(manifestPath, 'utf8');
  const lines = text.split('\n');
  writeFileSync(manifestPath, lines.map((l, i) => (i === 3 ? l.replace(',hippocampus_001,29,30,', ',hippocampus_001,28,29,') : l)).join('\n'));
  await userError(importSlices(r.folder, { out: fresh('x') }), new RegExp(`^${manifestPath}: line 4: slice 28 of case hippocampus_001 is not a planned slice`));
  writeFileSync(manifestPath, lines.filter((_, i) => i !== 3).join('\n'));
  await userError(importSlices(r.folder, { out: fresh('x') }), new RegExp(`^${manifestPath}: planned slice 29 of case hippocampus_001 has no row`));
  const header = lines[0].split(',');
  const widthColumn = header.indexOf('width');
  writeFileSync(manifestPath, lines.map((l, i) => (i === 2 ? l.split(',').map((f, j) => (j === widthColumn ? String(Number(f) + 1) : f)).join(',') : l)).join('\n'));
  await userError(importSlices(r.folder, { out: fresh('x') }), new RegExp(`^${manifestPath}: line 3: ${Number(rows[1].width) + 1}×${rows[1].height} does not match case hippocampus_001's slices \\(${rows[1].width}×${rows[1].height} with this transpose\\)`));
  writeFileSync(manifestPath, text);
  await userError(importNnunet(r.folder, { out: fresh('x') }), /was exported --to slices, not nnunet; import it with --from slices/);
});

test('export refuses an existing folder and leaves nothing half-written on a bad image', { skip: NO_DATA }, async () => {
  const out = fresh('slices');
  await exportSlices(plan, { out });
  await userError(exportSlices(plan, { out }), /already exists; choose another --out or pass --overwrite/);
  const broken: Plan = { ...plan, cases: [plan.cases[0], { ...plan.cases[1], sliceCount: 99 }] };
  const parent = fresh('nn');
  await userError(exportNnunet(broken, { outParent: parent }), /has \d+ slices along axis 2, the plan expects 99/);
  assert.deepEqual(readdirSync(parent), []);
  const cli = spawnSync(process.execPath, [CLI, 'export', planPath, '--to', 'slices', '--out', fresh('x'), '--window', '40', '--no-progress'], { encoding: 'utf8' });
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /--window must be level,width/);
});

test('images in other formats are converted to NIfTI; without dataset.json or label files the labels come from --labels', { skip: NO_DATA }, async () => {
  const folder = join(work, 'nrrd-only');
  mkdirSync(folder);
  const image = await readVolume(plan.cases[0].imagePath);
  await writeVolume(image, join(folder, 'scan.nrrd'));
  const nrrdPlan = await makePlan(folder, { budget: 2 });
  await userError(exportNnunet(nrrdPlan, { outParent: fresh('nn') }), /^--labels: the dataset has neither dataset.json labels nor label files/);
  const r = await exportNnunet(nrrdPlan, { outParent: fresh('nn'), name: 'Scans', datasetId: 7, labels: parseLabelsOption('tumour=1, oedema=2') });
  assert.match(r.folder, /Dataset007_Scans$/);
  assert.deepEqual([r.copiedImages, r.convertedImages], [0, 1]);
  assert.deepEqual(JSON.parse(readFileSync(join(r.folder, 'dataset.json'), 'utf8')).labels, { tumour: 1, oedema: 2, background: 0, ignore: 3 });
  const converted = await readVolume(join(r.folder, 'imagesTr', 'scan_0000.nii.gz'));
  assert.deepEqual(converted.geometry, image.geometry);
  assert.deepEqual(Array.from(converted.data), Array.from(image.data));
  assert.throws(() => parseLabelsOption('tumour=1,ignore=2'), /--labels: "ignore" is added by slicewise/);
});

test('plan --exclude-annotated: every strategy avoids annotated slices and spends the whole budget; another axis is refused', { skip: NO_DATA }, async () => {
  const annotated = new Map(plan.cases.map((c) => [c.id, { axis: c.axis, sliceCount: c.sliceCount, slices: c.slices }]));
  for (const strategy of ['random', 'fixed-interval', 'ual', 'ual-coreset', 'ual-pooled']) {
    const next = await makePlan(msd, { budget: 20, strategy, seed: 3, excludeAnnotated: annotated });
    assert.equal(next.cases.reduce((n, c) => n + c.slices.length, 0), 20, strategy);
    for (const c of next.cases) {
      assert.deepEqual(c.slices.filter((k) => annotated.get(c.id)!.slices.includes(k)), [], `${strategy} ${c.id}`);
      assert.deepEqual(c.slices, [...new Set(c.slices)].sort((a, b) => a - b));
    }
  }
  const sideways = new Map([[CASE_IDS[0], { axis: 0 as const, sliceCount: 35, slices: [1] }]]);
  await userError(makePlan(msd, { budget: 4, excludeAnnotated: sideways }), /^--exclude-annotated: case hippocampus_001 was annotated along axis 0/);
});

/** A synthetic volume whose voxel axes are permuted, flipped and slightly oblique in LPS space. */
function obliqueVolume(): Volume {
  const t = (10 * Math.PI) / 180;
  const [c, s] = [Math.cos(t), Math.sin(t)];
  // Columns: voxel axis 0 → mostly inferior (tilted toward A), axis 1 → right, axis 2 → mostly posterior.
  const col0: Vec3 = [0, -s, -c];
  const col1: Vec3 = [-1, 0, 0];
  const col2: Vec3 = [0, c, -s];
  const direction: Mat3 = [col0[0], col1[0], col2[0], col0[1], col1[1], col2[1], col0[2], col1[2], col2[2]];
  const shape: Vec3 = [7, 9, 11];
  return new Volume(new Float32Array(7 * 9 * 11), { shape, spacing: [1.5, 0.8, 2], origin: [3, -4, 5], direction });
}

/** For each plane: moving right / down on the display goes toward the radiological direction, pixel by pixel. */
function assertRadiological(volume: Volume, planes: Record<'axial' | 'coronal' | 'sagittal', 0 | 1 | 2>): void {
  const expectations = { axial: { right: 0, rightSign: 1, down: 1, downSign: 1 }, coronal: { right: 0, rightSign: 1, down: 2, downSign: -1 }, sagittal: { right: 1, rightSign: 1, down: 2, downSign: -1 } };
  const letters = { axial: ['L', 'P'], coronal: ['L', 'I'], sagittal: ['P', 'I'] };
  for (const [plane, axis] of Object.entries(planes) as Array<[keyof typeof expectations, 0 | 1 | 2]>) {
    const display = sliceDisplay(volume.direction, volume.shape, volume.spacing, axis);
    assert.equal(display.plane, plane);
    assert.deepEqual([display.rowsToward, display.columnsToward], letters[plane]);
    const positions: Vec3[] = [];
    const [nx, ny] = volume.shape;
    forEachDisplayPixel(volume.shape, axis, 2, display, (pixel, offset) => {
      positions[pixel] = volume.indexToPhysical(offset % nx, Math.floor(offset / nx) % ny, Math.floor(offset / (nx * ny)));
    });
    assert.equal(positions.length, display.width * display.height);
    const e = expectations[plane];
    for (let row = 0; row < display.height; row++) {
      for (let col = 0; col < display.width; col++) {
        const p = positions[row * display.width + col];
        if (col + 1 < display.width) assert.ok((positions[row * display.width + col + 1][e.right] - p[e.right]) * e.rightSign > 0, `${plane}: right`);
        if (row + 1 < display.height) assert.ok((positions[(row + 1) * display.width + col][e.down] - p[e.down]) * e.downSign > 0, `${plane}: down`);
      }
    }
  }
}

test('display orientation: radiological on an oblique, permuted, flipped volume and on a NIfTI (RAS) volume, all three planes', () => {
  const volume = obliqueVolume();
  assertRadiological(volume, { axial: 0, coronal: 2, sagittal: 1 });
  const ras = new Volume(new Float32Array(5 * 6 * 7), { shape: [5, 6, 7], spacing: [1, 2, 3], origin: [0, 0, 0], direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] });
  assertRadiological(ras, { axial: 2, coronal: 1, sagittal: 0 });
  // The exact transforms for this geometry (stored in the manifest, inverted by import).
  const transform = (axis: 0 | 1 | 2) => {
    const d = sliceDisplay(volume.direction, volume.shape, volume.spacing, axis);
    return [d.transpose, d.flipHorizontal, d.flipVertical, d.width, d.height, d.pixelWidthMm, d.pixelHeightMm];
  };
  assert.deepEqual(transform(0), [false, true, false, 9, 11, 0.8, 2]); // axial: axis 1 (R) across flipped, axis 2 (P) down
  assert.deepEqual(transform(2), [true, true, false, 9, 7, 0.8, 1.5]); // coronal: axis 1 across, axis 0 (I) down
  assert.deepEqual(transform(1), [true, false, false, 11, 7, 2, 1.5]); // sagittal: axis 2 (P) across, axis 0 (I) down
  // LPS identity (a DICOM series in its usual order) needs nothing for axial; RAS identity (NIfTI) flips both.
  const plain = (direction: Mat3) => {
    const d = sliceDisplay(direction, [4, 5, 6], [1, 1, 1], 2);
    return [d.transpose, d.flipHorizontal, d.flipVertical, d.rowsToward, d.columnsToward];
  };
  assert.deepEqual(plain([1, 0, 0, 0, 1, 0, 0, 0, 1]), [false, false, false, 'L', 'P']);
  assert.deepEqual(plain([-1, 0, 0, 0, -1, 0, 0, 0, 1]), [false, true, true, 'L', 'P']);
});

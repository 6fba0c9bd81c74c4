/**
 * Import an nnU-Net export painted in a 3D tool: labelsTr/CASE.nii.gz per planned case. A missing label file,
 * or one whose planned slices are all still 0, is a case not yet annotated. Paint on unplanned slices is
 * reported per slice and set back to ignore; undeclared values, a grid other than the image's, or ignore
 * left on a planned slice refuse the import naming the file.
 */
import { join } from 'node:path';
import { UserError } from '../../io/errors.js';
import { readVolume } from '../../io/read.js';
import { sameGeometry, type Volume } from '../../io/volume.js';
import type { PlannedCase } from '../../plan/types.js';
import { validateSparse, type LabelMap, type SparseLabels } from '../sparse.js';
import { pathExists, readExportFolder, type ExportCase } from '../export/record.js';
import { writeImport, type DroppedPaint, type ImportOptions, type ImportResult, type ImportedCase } from './common.js';

interface CaseLabels { labelMap: LabelMap; ignoreValue: number }

function voxelOf(i: number, shape: readonly number[]): [number, number, number] {
  return [i % shape[0], Math.floor(i / shape[0]) % shape[1], Math.floor(i / (shape[0] * shape[1]))];
}

function checkGrid(volume: Volume, expected: ExportCase['geometry'], path: string): void {
  if (volume.shape.some((n, i) => n !== expected.shape[i])) {
    throw new UserError(`label volume is ${volume.shape.join('×')}, the image is ${expected.shape.join('×')}`, path);
  }
  if (!sameGeometry(volume.geometry, expected)) throw new UserError('label geometry (spacing, origin or direction) differs from the image\'s', path);
}

/**
 * Clean one painted label volume against its planned case: paint outside the planned slices goes back to
 * ignore (and is reported); returns null when the planned slices are all still 0 (not yet annotated).
 */
export function cleanPaintedVolume(volume: Volume, planned: PlannedCase, labels: CaseLabels, path: string, dropped: DroppedPaint[]): SparseLabels | null {
  const { ignoreValue } = labels;
  const allowed = new Set(Object.values(labels.labelMap));
  const planSet = new Set(planned.slices);
  const shape = volume.shape;
  const axis = planned.axis;
  const out = ignoreValue < 256 ? new Uint8Array(volume.data.length) : new Uint16Array(volume.data.length);
  const outsidePerSlice = new Int32Array(shape[axis]);
  const ignoredPerSlice = new Int32Array(shape[axis]);
  let painted = 0;
  const data = volume.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const voxel = voxelOf(i, shape);
    const k = voxel[axis];
    if (v !== ignoreValue && !allowed.has(v)) {
      throw new UserError(`label value ${v} at voxel ${voxel.join(',')} (slice ${k}) is not declared (labels ${[...allowed].sort((a, b) => a - b).join(', ')}, ignore ${ignoreValue})`, path);
    }
    if (!planSet.has(k)) {
      if (v !== ignoreValue) outsidePerSlice[k]++;
      out[i] = ignoreValue;
      continue;
    }
    if (v === ignoreValue) ignoredPerSlice[k]++;
    else if (v !== 0) painted++;
    out[i] = v;
  }
  outsidePerSlice.forEach((voxels, slice) => { if (voxels > 0) dropped.push({ caseId: planned.id, slice, voxels, file: path }); });
  const ignoredSlice = ignoredPerSlice.findIndex((n) => n > 0);
  if (ignoredSlice >= 0) {
    throw new UserError(`planned slice ${ignoredSlice} still holds ${ignoredPerSlice[ignoredSlice]} "ignore" voxels (value ${ignoreValue}); paint them 0 (background) or a label`, path);
  }
  if (painted === 0) return null;
  const sparse: SparseLabels = {
    caseId: planned.id, labels: volume.withData(out), ignoreValue, axis, annotatedSlices: [...planned.slices].sort((a, b) => a - b), interpolatedSlices: [],
  };
  validateSparse(sparse, { labelMap: labels.labelMap, planned });
  return sparse;
}

export async function importNnunet(exportDir: string, options: ImportOptions): Promise<ImportResult> {
  const { root, record, plan } = await readExportFolder(exportDir, 'nnunet');
  const byId = new Map(record.cases.map((c) => [c.id, c]));
  const labels = { labelMap: record.labels, ignoreValue: record.ignoreValue };
  const droppedPaint: DroppedPaint[] = [];
  const result = await writeImport(root, plan, { name: record.name, ...labels }, options, async (index): Promise<ImportedCase> => {
    const planned = plan.cases[index];
    const labelPath = join(root, 'labelsTr', `${planned.id}.nii.gz`);
    const imagePaths = [join(root, 'imagesTr', `${planned.id}_0000.nii.gz`)];
    if (!(await pathExists(labelPath))) return { sparse: null, imagePaths, missing: [...planned.slices] };
    const volume = await readVolume(labelPath);
    checkGrid(volume, byId.get(planned.id)!.geometry, labelPath);
    const sparse = cleanPaintedVolume(volume, planned, labels, labelPath, droppedPaint);
    return sparse ? { sparse, imagePaths, missing: [] } : { sparse: null, imagePaths, missing: [...planned.slices] };
  });
  return { ...result, droppedPaint, strayFiles: [] };
}

/**
 * Import an nnU-Net export painted in a 3D tool: labelsTr/CASE.nii.gz per planned case. A missing label file
 * is a case not yet annotated. A planned slice still all 0 is ambiguous (background, or not done yet), so
 * `emptySlices` decides (see EmptySlicesPolicy). Paint on unplanned slices is reported per slice and set back
 * to ignore; undeclared values, a grid other than the image's, or ignore left on a planned slice refuse the
 * import naming the file.
 */
import { join } from 'node:path';
import { UserError } from '../../io/errors.js';
import { readVolume } from '../../io/read.js';
import { sameGeometry, type Volume } from '../../io/volume.js';
import type { PlannedCase } from '../../plan/types.js';
import { forEachVoxelOfSlice, validateSparse, type LabelMap, type SparseLabels } from '../sparse.js';
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
 * Planned slices that came back all 0 (the template's value):
 * - `case`: a case with paint on any planned slice is done, its empty planned slices are background (and
 *   reported); a case with no paint at all is not annotated yet;
 * - `annotated`: every planned slice is done, empty ones are background (the annotators confirmed the work);
 * - `missing`: an empty planned slice is not annotated yet.
 */
export type EmptySlicesPolicy = 'case' | 'annotated' | 'missing';
export const EMPTY_SLICES_POLICIES: readonly EmptySlicesPolicy[] = ['case', 'annotated', 'missing'];

export interface NnunetImportOptions extends ImportOptions {
  /** Default `case`. */
  emptySlices?: EmptySlicesPolicy;
}

/** Planned slices of one case that held no paint and were imported as background. */
export interface EmptySlicesAccepted {
  caseId: string;
  slices: number[];
}

export interface NnunetImportResult extends ImportResult {
  emptyAccepted: EmptySlicesAccepted[];
}

/** A painted label volume cleaned against its plan: ignore off the planned slices, as painted on them. */
export interface CleanedVolume {
  labels: Volume;
  /** Planned slices holding no label other than 0, ascending. */
  unpainted: number[];
}

/**
 * Clean one painted label volume against its planned case: paint outside the planned slices goes back to
 * ignore (and is reported in `dropped`).
 */
export function cleanPaintedVolume(volume: Volume, planned: PlannedCase, labels: CaseLabels, path: string, dropped: DroppedPaint[]): CleanedVolume {
  const { ignoreValue } = labels;
  const allowed = new Set(Object.values(labels.labelMap));
  const planSet = new Set(planned.slices);
  const shape = volume.shape;
  const axis = planned.axis;
  const out = ignoreValue < 256 ? new Uint8Array(volume.data.length) : new Uint16Array(volume.data.length);
  const outsidePerSlice = new Int32Array(shape[axis]);
  const ignoredPerSlice = new Int32Array(shape[axis]);
  const paintedPerSlice = new Int32Array(shape[axis]);
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
    else if (v !== 0) paintedPerSlice[k]++;
    out[i] = v;
  }
  outsidePerSlice.forEach((voxels, slice) => { if (voxels > 0) dropped.push({ caseId: planned.id, slice, voxels, file: path }); });
  const ignoredSlice = ignoredPerSlice.findIndex((n) => n > 0);
  if (ignoredSlice >= 0) {
    throw new UserError(`planned slice ${ignoredSlice} still holds ${ignoredPerSlice[ignoredSlice]} "ignore" voxels (value ${ignoreValue}); paint them 0 (background) or a label`, path);
  }
  return { labels: volume.withData(out), unpainted: planned.slices.filter((k) => paintedPerSlice[k] === 0) };
}

/** Which planned slices count as annotated, which remain to do, and which empty ones were taken as background. */
export function applyEmptySlicesPolicy(planned: readonly number[], unpainted: readonly number[], policy: EmptySlicesPolicy): { annotated: number[]; remaining: number[]; acceptedEmpty: number[] } {
  const painted = planned.filter((k) => !unpainted.includes(k));
  if (policy === 'annotated' || (policy === 'case' && painted.length > 0)) return { annotated: [...planned], remaining: [], acceptedEmpty: [...unpainted] };
  if (policy === 'case') return { annotated: [], remaining: [...planned], acceptedEmpty: [] };
  return { annotated: painted, remaining: [...unpainted], acceptedEmpty: [] };
}

export async function importNnunet(exportDir: string, options: NnunetImportOptions): Promise<NnunetImportResult> {
  const { root, record, plan } = await readExportFolder(exportDir, 'nnunet');
  const policy = options.emptySlices ?? 'case';
  const byId = new Map(record.cases.map((c) => [c.id, c]));
  const labels = { labelMap: record.labels, ignoreValue: record.ignoreValue };
  const droppedPaint: DroppedPaint[] = [];
  const emptyAccepted: EmptySlicesAccepted[] = [];
  const result = await writeImport(root, plan, { name: record.name, ...labels }, options, async (index): Promise<ImportedCase> => {
    const planned = plan.cases[index];
    const labelPath = join(root, 'labelsTr', `${planned.id}.nii.gz`);
    const imagePaths = [join(root, 'imagesTr', `${planned.id}_0000.nii.gz`)];
    if (!(await pathExists(labelPath))) return { sparse: null, imagePaths, missing: [...planned.slices] };
    const volume = await readVolume(labelPath);
    checkGrid(volume, byId.get(planned.id)!.geometry, labelPath);
    const cleaned = cleanPaintedVolume(volume, planned, labels, labelPath, droppedPaint);
    const { annotated, remaining, acceptedEmpty } = applyEmptySlicesPolicy(planned.slices, cleaned.unpainted, policy);
    if (annotated.length === 0) return { sparse: null, imagePaths, missing: remaining };
    if (acceptedEmpty.length > 0) emptyAccepted.push({ caseId: planned.id, slices: acceptedEmpty });
    // A planned slice left for later is unknown, not background.
    const data = cleaned.labels.data;
    for (const k of remaining) forEachVoxelOfSlice(volume.shape, planned.axis, k, (offset) => { data[offset] = labels.ignoreValue; });
    const sparse: SparseLabels = {
      caseId: planned.id, labels: cleaned.labels, ignoreValue: labels.ignoreValue, axis: planned.axis, annotatedSlices: annotated, interpolatedSlices: [],
    };
    validateSparse(sparse, { labelMap: labels.labelMap });
    return { sparse, imagePaths, missing: remaining };
  });
  return { ...result, droppedPaint, strayFiles: [], emptyAccepted };
}

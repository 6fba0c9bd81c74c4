/**
 * Export a plan as an nnU-Net raw dataset for 3D annotation tools (3D Slicer, ITK-SNAP):
 *   DatasetNNN_Name/imagesTr/CASE_0000.nii.gz   the image as it is (NIfTI copied byte for byte, others converted)
 *   DatasetNNN_Name/labelsTr/CASE.nii.gz        template: planned slices 0, every other voxel `ignore`
 *   dataset.json (labels with `ignore` highest), plan.json, slicewise-export.json, ANNOTATORS.md
 */
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UserError, fileSystemError } from '../../io/errors.js';
import { intensityRange } from '../../io/normalize.js';
import { readVolume, writeFileAtomic, writeVolume } from '../../io/read.js';
import type { Volume } from '../../io/volume.js';
import type { Plan } from '../../plan/types.js';
import { forEachVoxelOfSlice, type LabelMap } from '../sparse.js';
import {
  CT_MINIMUM_HU, EXPORT_FORMAT_VERSION, EXPORT_PLAN_FILE, caseGeometry, resolveExportLabels, withStagingFolder, writeExportRecord,
  type ExportCase, type ResolvedLabels,
} from './record.js';

export const DEFAULT_DATASET_ID = 500;

export interface NnunetExportOptions {
  /** Folder the DatasetNNN_Name folder is written into (nnU-Net's nnUNet_raw). */
  outParent: string;
  datasetId?: number;
  /** Dataset name (letters and digits); default from the plan's dataset folder. */
  name?: string;
  labels?: LabelMap;
  overwrite?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface NnunetExportResult {
  folder: string;
  cases: number;
  slices: number;
  labels: ResolvedLabels;
  copiedImages: number;
  convertedImages: number;
}

/** "msd-hippocampus" → "MsdHippocampus": nnU-Net dataset names are one word. */
export function datasetNameFrom(text: string): string {
  const name = text.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
  return name || 'Slicewise';
}

export function nnunetFolderName(datasetId: number, name: string): string {
  if (!Number.isInteger(datasetId) || datasetId < 1 || datasetId > 999) throw new UserError(`must be an integer in 1..999, got ${datasetId}`, '--dataset-id');
  if (!/^[A-Za-z0-9]+$/.test(name)) throw new UserError(`"${name}" must be letters and digits only`, '--name');
  return `Dataset${String(datasetId).padStart(3, '0')}_${name}`;
}

/** Label template: 0 on the planned slices, the ignore value everywhere else, on the image's grid. */
export function labelTemplate(image: Volume, axis: 0 | 1 | 2, slices: readonly number[], ignoreValue: number): Volume {
  const data = ignoreValue < 256 ? new Uint8Array(image.data.length) : new Uint16Array(image.data.length);
  data.fill(ignoreValue);
  for (const k of slices) forEachVoxelOfSlice(image.shape, axis, k, (o) => { data[o] = 0; });
  return image.withData(data);
}

async function placeImage(source: string, target: string, image: Volume): Promise<'copied' | 'converted'> {
  const lower = source.toLowerCase();
  try {
    if (lower.endsWith('.nii.gz')) {
      await copyFile(source, target);
      return 'copied';
    }
    if (lower.endsWith('.nii')) {
      // nnU-Net wants one file ending: the same bytes, gzipped.
      await writeFileAtomic(target, gzipSync(await readFile(source)));
      return 'copied';
    }
  } catch (err) {
    throw fileSystemError(err, source);
  }
  await writeVolume(image, target);
  return 'converted';
}

export async function exportNnunet(plan: Plan, options: NnunetExportOptions): Promise<NnunetExportResult> {
  const labels = await resolveExportLabels(plan, options.labels);
  const name = options.name ?? datasetNameFrom(plan.dataset.split(/[\\/]/).filter(Boolean).pop() ?? '');
  const folderName = nnunetFolderName(options.datasetId ?? DEFAULT_DATASET_ID, name);
  if (plan.cases.length === 0) throw new UserError('plans no case; nothing to export', EXPORT_PLAN_FILE);
  let copiedImages = 0, convertedImages = 0;
  let allCt = true;
  const cases: ExportCase[] = [];
  const { path } = await withStagingFolder(join(options.outParent, folderName), options.overwrite ?? false, async (folder) => {
    const imagesDir = await folder.mkdir('imagesTr');
    const labelsDir = await folder.mkdir('labelsTr');
    for (const [i, planned] of plan.cases.entries()) {
      const image = await readVolume(planned.imagePath);
      if (image.shape[planned.axis] !== planned.sliceCount) {
        throw new UserError(`has ${image.shape[planned.axis]} slices along axis ${planned.axis}, the plan expects ${planned.sliceCount}`, planned.imagePath);
      }
      allCt &&= intensityRange(image.data)[0] <= CT_MINIMUM_HU;
      const how = await placeImage(planned.imagePath, join(imagesDir, `${planned.id}_0000.nii.gz`), image);
      if (how === 'copied') copiedImages++; else convertedImages++;
      await writeVolume(labelTemplate(image, planned.axis, planned.slices, labels.ignoreValue), join(labelsDir, `${planned.id}.nii.gz`));
      cases.push({ id: planned.id, sourceImage: planned.imagePath, geometry: caseGeometry(image) });
      options.onProgress?.(i + 1, plan.cases.length);
    }
    const datasetJson = {
      name: folderName,
      description: 'slicewise export: paint the planned slices (voxels 0 in labelsTr); every other voxel is "ignore" and must stay so',
      // nnU-Net picks its normalization from the channel name: "CT" for Hounsfield units, z-score otherwise.
      channel_names: { '0': allCt ? 'CT' : 'MRI' },
      labels: { ...labels.labelMap, ignore: labels.ignoreValue },
      numTraining: plan.cases.length,
      file_ending: '.nii.gz',
    };
    await writeFileAtomic(join(folder.path, 'dataset.json'), JSON.stringify(datasetJson, null, 2) + '\n');
    await writeFileAtomic(join(folder.path, EXPORT_PLAN_FILE), JSON.stringify(plan, null, 2) + '\n');
    await writeFileAtomic(join(folder.path, 'ANNOTATORS.md'), annotatorsGuide(plan, labels));
    await writeExportRecord(folder.path, {
      format: 'slicewise-export', version: EXPORT_FORMAT_VERSION, to: 'nnunet', name: folderName,
      labels: labels.labelMap, ignoreValue: labels.ignoreValue, cases,
    });
  });
  const slices = plan.cases.reduce((n, c) => n + c.slices.length, 0);
  return { folder: path, cases: plan.cases.length, slices, labels, copiedImages, convertedImages };
}

function labelTable(labels: ResolvedLabels): string {
  const rows = Object.entries(labels.labelMap).sort((a, b) => a[1] - b[1]).map(([name, value]) => `| ${value} | ${name} |`);
  return ['| value | label |', '|---|---|', ...rows, `| ${labels.ignoreValue} | ignore (not annotated: leave as it is) |`].join('\n');
}

function annotatorsGuide(plan: Plan, labels: ResolvedLabels): string {
  const lines = plan.cases.map((c) => `| ${c.id} | ${c.axis} | ${c.slices.map((s) => s + 1).join(', ')} | ${c.slices.join(', ')} |`);
  return `# Annotating this export

Open each image \`imagesTr/CASE_0000.nii.gz\` with its label file \`labelsTr/CASE.nii.gz\` as the segmentation
(3D Slicer: load the label file as a segmentation / labelmap; ITK-SNAP: Segmentation → Open Segmentation).

**Paint only the planned slices.** On them every voxel starts as 0 (background); paint each structure with its
value below and leave true background at 0. Every voxel of every other slice carries the value
${labels.ignoreValue} (\`ignore\`): do not paint there — paint outside the planned slices is dropped on import.

${labelTable(labels)}

Planned slices per case (voxel axis, slice numbers 1-based as most viewers show them, and 0-based indices):

| case | axis | slices (1-based) | indices (0-based) |
|---|---|---|---|
${lines.join('\n')}

**Save** the label file under the same name in \`labelsTr/\` (NIfTI, .nii.gz), replacing the template, on the
same grid as the image. A case whose planned slices are all still 0 counts as not yet annotated. When you are
done, hand the whole folder back; it is read by \`slicewise import <this folder> --from nnunet\`.
`;
}

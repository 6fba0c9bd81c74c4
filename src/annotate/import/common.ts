/**
 * What both importers share: options, the result (what came back, what is missing, what paint was dropped),
 * and the write: every case goes through SparseDatasetWriter, which renames the dataset into place only when
 * complete, so a refused import leaves nothing behind.
 */
import { UserError } from '../../io/errors.js';
import type { AxisChoice } from '../../io/geometry.js';
import type { AnnotatedSlices } from '../../plan/exclude.js';
import type { Plan } from '../../plan/types.js';
import { SparseDatasetWriter, loadSparseCase, readSparseDataset } from '../sparse-dataset.js';
import type { LabelMap, SparseLabels } from '../sparse.js';

export interface ImportOptions {
  /** Output sparse dataset folder. */
  out: string;
  /** Import what is done when planned slices are missing, instead of refusing. */
  allowMissing?: boolean;
  overwrite?: boolean;
  /** 'symlink' (default) links the images into imagesTr/ so nnU-Net and slicewise train from the folder as is. */
  images?: 'symlink' | 'reference';
  onProgress?: (done: number, total: number) => void;
}

export interface MissingSlices {
  caseId: string;
  /** Planned slices (0-based) not annotated yet. */
  slices: number[];
  /** True when nothing of the case came back. */
  wholeCase: boolean;
}

export interface DroppedPaint {
  caseId: string;
  /** 0-based slice index outside the plan. */
  slice: number;
  voxels: number;
  /** The file it was found in. */
  file: string;
}

export interface ImportResult {
  folder: string;
  importedCases: number;
  annotatedSlices: number;
  plannedSlices: number;
  missing: MissingSlices[];
  droppedPaint: DroppedPaint[];
  /** Files in the export that match no planned slice (ignored). */
  strayFiles: string[];
}

/** One case as an importer produced it: the sparse labels when anything came back, the missing slices. */
export interface ImportedCase {
  sparse: SparseLabels | null;
  imagePaths: string[];
  missing: number[];
}

export function missingSummary(missing: MissingSlices[], limit = 6): string {
  const total = missing.reduce((n, m) => n + m.slices.length, 0);
  const parts = missing.slice(0, limit).map((m) => (m.wholeCase ? `${m.caseId} (all ${m.slices.length})` : `${m.caseId} slice${m.slices.length > 1 ? 's' : ''} ${m.slices.join(', ')}`));
  const more = missing.length > limit ? `, and ${missing.length - limit} more case(s)` : '';
  return `${total} planned slice${total === 1 ? '' : 's'} not annotated yet: ${parts.join('; ')}${more}`;
}

/**
 * Run the per-case importer over the plan and write the sparse dataset. Missing slices refuse the import
 * (naming them) unless `allowMissing`; nothing at all annotated always refuses.
 */
export async function writeImport(
  exportRoot: string, plan: Plan, labels: { name: string; labelMap: LabelMap; ignoreValue: number }, options: ImportOptions,
  importCase: (index: number) => Promise<ImportedCase>,
): Promise<Omit<ImportResult, 'droppedPaint' | 'strayFiles'>> {
  const writer = await SparseDatasetWriter.create(options.out, {
    name: labels.name, labelMap: labels.labelMap, ignoreValue: labels.ignoreValue, images: options.images ?? 'symlink', overwrite: options.overwrite,
  });
  const missing: MissingSlices[] = [];
  let importedCases = 0, annotatedSlices = 0;
  try {
    for (let i = 0; i < plan.cases.length; i++) {
      const planned = plan.cases[i];
      const imported = await importCase(i);
      if (imported.missing.length > 0) missing.push({ caseId: planned.id, slices: imported.missing, wholeCase: imported.sparse === null });
      if (imported.sparse) {
        await writer.add(imported.sparse, imported.imagePaths);
        importedCases++;
        annotatedSlices += imported.sparse.annotatedSlices.length;
      }
      options.onProgress?.(i + 1, plan.cases.length);
    }
    if (importedCases === 0) throw new UserError(`nothing is annotated yet (${missingSummary(missing)})`, exportRoot);
    if (missing.length > 0 && !options.allowMissing) {
      throw new UserError(`${missingSummary(missing)}; pass --allow-missing to import what is done`, exportRoot);
    }
    const folder = await writer.commit();
    const plannedSlices = plan.cases.reduce((n, c) => n + c.slices.length, 0);
    return { folder, importedCases, annotatedSlices, plannedSlices, missing };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/**
 * The annotated slices of a sparse dataset, per case (for `plan --exclude-annotated`): from its record, or
 * from the ignore voxels (along `axis`) for cases it does not record.
 */
export async function readAnnotatedSlices(path: string, axis?: AxisChoice): Promise<AnnotatedSlices> {
  const dataset = await readSparseDataset(path);
  const out: AnnotatedSlices = new Map();
  for (const entry of dataset.cases) {
    if (entry.record) {
      out.set(entry.id, { axis: entry.record.axis, sliceCount: entry.record.sliceCount, slices: entry.record.annotatedSlices });
    } else {
      const sparse = await loadSparseCase(dataset, entry, axis);
      out.set(entry.id, { axis: sparse.axis, sliceCount: sparse.labels.shape[sparse.axis], slices: sparse.annotatedSlices });
    }
  }
  return out;
}

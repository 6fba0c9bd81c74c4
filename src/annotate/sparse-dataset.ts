/**
 * Sparse datasets on disk, in nnU-Net's convention so nnU-Net can train on them as they are:
 *   dataset.json            labels by name, `ignore` as the highest value, file_ending, numTraining
 *   labelsTr/CASE.nii.gz    label volumes; unannotated voxels carry the ignore value
 *   imagesTr/CASE_0000.nii.gz  optional symbolic links to the images (never copies)
 *   slicewise-sparse.json   per case: axis, annotated slices, interpolated (derived) slices, image paths
 * The record is what keeps interpolated slices apart from annotated ones; without it, annotated slices are
 * inferred from the ignore voxels. Other sources (per-slice PNG masks from 2D annotation tools) only need to
 * produce `SparseLabels` and go through `SparseDatasetWriter` like any other.
 */
import { mkdir, readdir, stat, symlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { UserError, fileSystemError } from '../io/errors.js';
import { parseLabelMap } from '../io/dataset.js';
import { readJsonFile } from '../io/json.js';
import { resolveAxis, type AxisChoice } from '../io/geometry.js';
import { readVolume, stripVolumeExtension, writeFileAtomic, writeVolume } from '../io/read.js';
import { StagingFolder } from '../io/staging.js';
import { sparseFromIgnoreVolume, type LabelMap, type SparseLabels } from './sparse.js';

export const SPARSE_RECORD_FILE = 'slicewise-sparse.json';
export const SPARSE_FORMAT_VERSION = 1;

const caseRecordSchema = z.object({
  id: z.string().min(1),
  axis: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  sliceCount: z.number().int().positive(),
  annotatedSlices: z.array(z.number().int().nonnegative()),
  interpolatedSlices: z.array(z.number().int().nonnegative()),
  /** Image files, relative to the dataset folder (or absolute). */
  imagePaths: z.array(z.string()),
});

const recordSchema = z.object({
  format: z.literal('slicewise-sparse'),
  version: z.literal(SPARSE_FORMAT_VERSION),
  /** How the interpolated slices were made; null when there are none. */
  interpolation: z.object({ method: z.string(), extrapolate: z.enum(['unknown', 'background']) }).nullable(),
  cases: z.array(caseRecordSchema),
});

export type SparseCaseRecord = z.infer<typeof caseRecordSchema>;
export type SparseRecord = z.infer<typeof recordSchema>;

export interface SparseCaseEntry {
  id: string;
  labelPath: string;
  /** Absolute image paths (may be empty). */
  imagePaths: string[];
  record: SparseCaseRecord | null;
}

export interface SparseDataset {
  root: string;
  name: string;
  /** Declared labels without `ignore`. */
  labelMap: LabelMap;
  ignoreValue: number;
  interpolation: SparseRecord['interpolation'];
  cases: SparseCaseEntry[];
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** The labels of a dataset.json: the map without ignore, and the ignore value (which must be declared). */
export async function readSparseLabelMap(datasetJson: string): Promise<{ labelMap: LabelMap; ignoreValue: number; name: string }> {
  const raw = (await readJsonFile(datasetJson)) as { labels?: unknown; name?: unknown };
  const all = parseLabelMap(raw.labels, datasetJson);
  if (!('ignore' in all)) throw new UserError('declares no "ignore" label; a sparse dataset marks unannotated voxels with it', datasetJson);
  const { ignore, ...labelMap } = all;
  return { labelMap, ignoreValue: ignore, name: typeof raw.name === 'string' ? raw.name : basename(dirname(datasetJson)) };
}

/** Read a sparse dataset folder (dataset.json with ignore, labelsTr/, optional slicewise-sparse.json). */
export async function readSparseDataset(root: string): Promise<SparseDataset> {
  root = resolve(root);
  if (!(await exists(root))) throw new UserError('no such file or folder', root);
  if (!(await exists(join(root, 'dataset.json')))) {
    throw new UserError('is not a sparse dataset (no dataset.json declaring an "ignore" label); make one with slicewise import, e.g. --from plan to keep a plan\'s slices of dense labels', root);
  }
  const { labelMap, ignoreValue, name } = await readSparseLabelMap(join(root, 'dataset.json'));
  const labelsDir = join(root, 'labelsTr');
  let files: string[];
  try {
    files = (await readdir(labelsDir)).filter((f) => f.endsWith('.nii.gz') && !f.startsWith('.')).sort();
  } catch (err) {
    throw fileSystemError(err, labelsDir);
  }
  const recordPath = join(root, SPARSE_RECORD_FILE);
  let record: SparseRecord | null = null;
  if (await exists(recordPath)) {
    const parsed = recordSchema.safeParse(await readJsonFile(recordPath));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UserError(`${issue.path.join('.') || 'record'}: ${issue.message}`, recordPath);
    }
    record = parsed.data;
  }
  const byId = new Map(record?.cases.map((c) => [c.id, c]) ?? []);
  const cases: SparseCaseEntry[] = files.map((file) => {
    const id = stripVolumeExtension(file);
    const entry = byId.get(id) ?? null;
    if (record && !entry) throw new UserError(`labelsTr/${file} has no entry in ${SPARSE_RECORD_FILE}`, recordPath);
    byId.delete(id);
    const imagePaths = (entry?.imagePaths ?? []).map((p) => (isAbsolute(p) ? p : join(root, p)));
    return { id, labelPath: join(labelsDir, file), imagePaths, record: entry };
  });
  const orphan = [...byId.keys()][0];
  if (orphan !== undefined) throw new UserError(`case ${orphan} is recorded but labelsTr/${orphan}.nii.gz is missing`, recordPath);
  if (cases.length === 0) throw new UserError('holds no label volumes (labelsTr/*.nii.gz)', labelsDir);
  return { root, name, labelMap, ignoreValue, interpolation: record?.interpolation ?? null, cases };
}

/**
 * Load one case as validated `SparseLabels`. With a record, its annotated slices must match the ignore
 * voxels exactly; without one, `axis` (default: axial) says which way the slices go.
 */
export async function loadSparseCase(dataset: Pick<SparseDataset, 'labelMap' | 'ignoreValue'>, entry: SparseCaseEntry, axis?: AxisChoice): Promise<SparseLabels> {
  const volume = await readVolume(entry.labelPath);
  const record = entry.record;
  const resolvedAxis = record ? record.axis : resolveAxis(axis, volume.direction);
  if (record && record.sliceCount !== volume.shape[resolvedAxis]) {
    throw new UserError(`recorded with ${record.sliceCount} slices along axis ${resolvedAxis}, ${entry.labelPath} has ${volume.shape[resolvedAxis]}`, `case ${entry.id}`);
  }
  const sparse = sparseFromIgnoreVolume(entry.id, volume, {
    axis: resolvedAxis, ignoreValue: dataset.ignoreValue, labelMap: dataset.labelMap, interpolatedSlices: record?.interpolatedSlices,
  });
  if (record) {
    const recorded = new Set(record.annotatedSlices);
    const unrecorded = sparse.annotatedSlices.find((k) => !recorded.has(k));
    if (unrecorded !== undefined) throw new UserError(`slice ${unrecorded} is fully labelled but not recorded as annotated or interpolated`, `case ${entry.id}`);
    const found = new Set(sparse.annotatedSlices);
    const missing = record.annotatedSlices.find((k) => !found.has(k));
    if (missing !== undefined) {
      throw new UserError(missing >= volume.shape[resolvedAxis]
        ? `annotated slice ${missing} is beyond the volume (0..${volume.shape[resolvedAxis] - 1} along axis ${resolvedAxis})`
        : `annotated slice ${missing} holds ignore voxels`, `case ${entry.id}`);
    }
  }
  return sparse;
}

export interface WriterOptions {
  name: string;
  labelMap: LabelMap;
  ignoreValue: number;
  interpolation?: SparseRecord['interpolation'];
  /** 'symlink' also makes imagesTr/CASE_000N.nii.gz links to the images; 'reference' only records their paths. */
  images?: 'reference' | 'symlink';
  /** Replace an existing output folder (only once the new one is complete). */
  overwrite?: boolean;
}

/**
 * Writes a sparse dataset into a temporary folder beside `root` and renames it into place on `commit()`,
 * so a crash or an error never leaves a half-written dataset behind.
 */
export class SparseDatasetWriter {
  readonly root: string;
  private readonly tmp: string;
  private readonly cases: SparseCaseRecord[] = [];

  private constructor(private readonly staging: StagingFolder, private readonly options: WriterOptions) {
    this.root = staging.target;
    this.tmp = staging.path;
  }

  static async create(root: string, options: WriterOptions): Promise<SparseDatasetWriter> {
    const staging = await StagingFolder.create(root, options.overwrite ?? false);
    await staging.mkdir('labelsTr');
    return new SparseDatasetWriter(staging, options);
  }

  async add(sparse: SparseLabels, imagePaths: string[] = []): Promise<void> {
    await writeVolume(sparse.labels, join(this.tmp, 'labelsTr', `${sparse.caseId}.nii.gz`));
    if (this.options.images === 'symlink') {
      await mkdir(join(this.tmp, 'imagesTr'), { recursive: true });
      for (const [channel, path] of imagePaths.entries()) {
        const link = join(this.tmp, 'imagesTr', `${sparse.caseId}_${String(channel).padStart(4, '0')}.nii.gz`);
        await symlink(resolve(path), link).catch((err) => { throw fileSystemError(err, link); });
      }
    }
    this.cases.push({
      id: sparse.caseId,
      axis: sparse.axis,
      sliceCount: sparse.labels.shape[sparse.axis],
      annotatedSlices: [...sparse.annotatedSlices],
      interpolatedSlices: [...sparse.interpolatedSlices],
      imagePaths: imagePaths.map((p) => relative(this.root, resolve(p))),
    });
  }

  async commit(): Promise<string> {
    const { name, labelMap, ignoreValue } = this.options;
    const datasetJson = {
      name,
      description: 'sparse slice annotations written by slicewise; unannotated voxels carry the ignore label',
      channel_names: { '0': 'image' },
      labels: { ...labelMap, ignore: ignoreValue },
      numTraining: this.cases.length,
      file_ending: '.nii.gz',
    };
    const record: SparseRecord = { format: 'slicewise-sparse', version: SPARSE_FORMAT_VERSION, interpolation: this.options.interpolation ?? null, cases: this.cases };
    await writeFileAtomic(join(this.tmp, 'dataset.json'), JSON.stringify(datasetJson, null, 2) + '\n');
    await writeFileAtomic(join(this.tmp, SPARSE_RECORD_FILE), JSON.stringify(record, null, 1) + '\n');
    return this.staging.commit();
  }

  async abort(): Promise<void> {
    await this.staging.abort();
  }
}

/**
 * Interpolate every case of a sparse dataset folder (or a single ignore-label volume) and write the result
 * as a new sparse dataset: filled labels in labelsTr/, and slicewise-sparse.json recording annotated and
 * interpolated slices apart, so the derived slices are never mistaken for annotated ones.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError, fileSystemError } from '../io/errors.js';
import type { AxisChoice } from '../io/geometry.js';
import { isVolumePath, readVolume, stripVolumeExtension } from '../io/read.js';
import { interpolateSparse, type Extrapolation } from './interpolate.js';
import type { InterpolationMethodName } from './interpolation/registry.js';
import { SparseDatasetWriter, loadSparseCase, readSparseDataset, readSparseLabelMap, type SparseDataset } from './sparse-dataset.js';
import type { LabelMap } from './sparse.js';

export interface InterpolateDatasetOptions {
  method: InterpolationMethodName;
  extrapolate: Extrapolation;
  /** Output folder; default: beside the input, named `<input>-interpolated-<method>`. */
  out?: string;
  overwrite?: boolean;
  /** Slicing axis for cases without a slicewise-sparse.json record (default axial). */
  axis?: AxisChoice;
  /** Ignore value of a single volume without a dataset.json beside it (default: its highest value). */
  ignoreValue?: number;
  onProgress?: (done: number, total: number, extra?: string) => void;
  onNotice?: (message: string) => void;
}

export interface InterpolateDatasetResult {
  out: string;
  cases: Array<{ id: string; annotated: number; interpolated: number; milliseconds: number }>;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (err) {
    throw fileSystemError(err, path);
  }
}

async function firstExisting(paths: string[]): Promise<string | null> {
  for (const p of paths) if (await stat(p).then(() => true, () => false)) return p;
  return null;
}

/** A single ignore-label volume as a one-case dataset; labels from a dataset.json beside it when there is one. */
async function singleFileDataset(path: string, options: InterpolateDatasetOptions): Promise<SparseDataset> {
  if (!isVolumePath(path)) throw new UserError('is not a volume file (.nii.gz, .nii, .nrrd, .mha) or a sparse dataset folder', path);
  const datasetJson = await firstExisting([join(dirname(path), 'dataset.json'), join(dirname(dirname(path)), 'dataset.json')]);
  let labelMap: LabelMap;
  let ignoreValue: number;
  if (datasetJson && options.ignoreValue === undefined) {
    ({ labelMap, ignoreValue } = await readSparseLabelMap(datasetJson));
  } else {
    const volume = await readVolume(path);
    let highest = 0;
    const values = new Set<number>();
    for (let i = 0; i < volume.data.length; i++) values.add(volume.data[i]);
    for (const v of values) highest = Math.max(highest, v);
    ignoreValue = options.ignoreValue ?? highest;
    if (options.ignoreValue === undefined) options.onNotice?.(`no dataset.json beside ${path}: taking its highest value ${highest} as the ignore label (set --ignore-value otherwise)`);
    labelMap = { background: 0 };
    for (const v of [...values].sort((a, b) => a - b)) if (v !== 0 && v < ignoreValue) labelMap[`label_${v}`] = v;
  }
  const id = stripVolumeExtension(basename(path));
  return { root: dirname(resolve(path)), name: id, labelMap, ignoreValue, interpolation: null, cases: [{ id, labelPath: resolve(path), imagePaths: [], record: null }] };
}

export async function interpolateDataset(input: string, options: InterpolateDatasetOptions): Promise<InterpolateDatasetResult> {
  const single = await isFile(input);
  const dataset = single ? await singleFileDataset(input, options) : await readSparseDataset(input);
  if (dataset.interpolation) {
    throw new UserError(`is already interpolated (method ${dataset.interpolation.method}); interpolate the sparse dataset it came from`, input);
  }
  const stem = single ? join(dirname(resolve(input)), stripVolumeExtension(basename(input))) : resolve(input);
  const out = resolve(options.out ?? `${stem}-interpolated-${options.method}`);
  const writer = await SparseDatasetWriter.create(out, {
    name: `${dataset.name}-interpolated-${options.method}`,
    labelMap: dataset.labelMap,
    ignoreValue: dataset.ignoreValue,
    interpolation: { method: options.method, extrapolate: options.extrapolate },
    overwrite: options.overwrite,
  });
  const cases: InterpolateDatasetResult['cases'] = [];
  try {
    for (const [i, entry] of dataset.cases.entries()) {
      const sparse = await loadSparseCase(dataset, entry, options.axis);
      const result = await interpolateSparse(sparse, { method: options.method, extrapolate: options.extrapolate });
      await writer.add(result.sparse, entry.imagePaths);
      cases.push({ id: entry.id, annotated: sparse.annotatedSlices.length, interpolated: result.interpolatedSlices.length, milliseconds: result.milliseconds });
      options.onProgress?.(i + 1, dataset.cases.length, entry.id);
    }
    await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return { out, cases };
}

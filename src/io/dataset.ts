/**
 * Datasets: the Medical Segmentation Decathlon / nnU-Net layout (imagesTr/, labelsTr/, optional imagesTs/
 * and dataset.json), a plain pair of image / label folders matched by file name, a single volume file, or a
 * folder holding one DICOM series. Files that pair with nothing are reported in `unpaired`, never dropped.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { UserError, fileSystemError } from './errors.js';
import { isVolumePath, readVolume, stripVolumeExtension } from './read.js';
import { sameGeometry, type Volume } from './volume.js';

export interface Case {
  id: string;
  /** One path per channel, in channel order (`_0000`, `_0001`, ...). */
  imagePaths: string[];
  labelPath?: string;
}

export interface Dataset {
  root: string;
  name: string;
  layout: 'msd' | 'pair-folders' | 'flat-folder' | 'single-file' | 'dicom-series';
  /** Label names → values, from dataset.json when present (may include `ignore`). */
  labels: Record<string, number> | null;
  /** The ignore label's value when declared (nnU-Net convention: the highest value). */
  ignoreValue: number | null;
  cases: Case[];
  testCases: Case[];
  unpaired: Array<{ path: string; reason: string }>;
}

const CHANNEL_SUFFIX = /^(.*)_(\d{4})$/;
const LABEL_SUFFIX = /_(seg|label|labels|mask)$/i;

async function listVolumes(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (err) {
    throw fileSystemError(err, folder);
  }
  return entries
    .filter((e) => !e.name.startsWith('.') && !e.name.startsWith('._') && (isVolumePath(e.name) || e.isDirectory()))
    .filter((e) => isVolumePath(e.name))
    .map((e) => join(folder, e.name))
    .sort();
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** dataset.json labels in either MSD form ({"0": "background"}) or nnU-Net v2 form ({"background": 0}). */
export function parseLabelMap(raw: unknown, file: string): Record<string, number> {
  if (!raw || typeof raw !== 'object') throw new UserError('"labels" must be an object', file);
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value === 'string' && /^\d+$/.test(key)) out[value] = Number(key);
    else if (typeof value === 'number' && Number.isInteger(value)) out[key] = value;
    else if (Array.isArray(value) && value.every((v) => Number.isInteger(v))) out[key] = Math.max(...(value as number[]));
    else throw new UserError(`label "${key}" has an invalid value ${JSON.stringify(value)}`, file);
  }
  if ('ignore' in out) {
    const highest = Math.max(...Object.values(out));
    if (out.ignore !== highest) throw new UserError(`the "ignore" label must have the highest value (${highest}), it has ${out.ignore}`, file);
  }
  return out;
}

/** Group image files into cases by id, channels by their `_NNNN` suffix. */
function groupChannels(paths: string[]): Map<string, string[]> {
  const byCase = new Map<string, Array<{ channel: number; path: string }>>();
  for (const path of paths) {
    const stem = stripVolumeExtension(basename(path));
    const m = CHANNEL_SUFFIX.exec(stem);
    const id = m ? m[1] : stem;
    const channel = m ? Number(m[2]) : 0;
    const list = byCase.get(id) ?? [];
    list.push({ channel, path });
    byCase.set(id, list);
  }
  const out = new Map<string, string[]>();
  for (const [id, list] of byCase) out.set(id, list.sort((a, b) => a.channel - b.channel).map((c) => c.path));
  return out;
}

function pairCases(images: string[], labels: string[], unpaired: Dataset['unpaired']): Case[] {
  const channels = groupChannels(images);
  const labelById = new Map(labels.map((p) => [stripVolumeExtension(basename(p)), p]));
  const cases: Case[] = [];
  for (const [id, imagePaths] of channels) {
    const labelPath = labelById.get(id);
    if (labels.length > 0 && !labelPath) unpaired.push({ path: imagePaths[0], reason: 'image has no label file' });
    cases.push({ id, imagePaths, labelPath });
    labelById.delete(id);
  }
  for (const [, path] of labelById) unpaired.push({ path, reason: 'label has no image file' });
  return cases.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export async function discoverDataset(path: string): Promise<Dataset> {
  const root = resolve(path);
  let info;
  try {
    info = await stat(root);
  } catch (err) {
    throw fileSystemError(err, path);
  }
  const unpaired: Dataset['unpaired'] = [];
  if (info.isFile()) {
    if (!isVolumePath(root)) throw new UserError('is not a volume file (.nii.gz, .nii, .nrrd, .mha, .mhd) or dataset folder', path);
    return {
      root, name: stripVolumeExtension(basename(root)), layout: 'single-file', labels: null, ignoreValue: null,
      cases: [{ id: stripVolumeExtension(basename(root)), imagePaths: [root] }], testCases: [], unpaired,
    };
  }
  let labels: Record<string, number> | null = null;
  let name = basename(root);
  const jsonPath = join(root, 'dataset.json');
  if (await exists(jsonPath)) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await readFile(jsonPath, 'utf8'));
    } catch (err) {
      throw new UserError(`is not valid JSON (${(err as Error).message})`, jsonPath);
    }
    if (json.labels !== undefined) labels = parseLabelMap(json.labels, jsonPath);
    if (typeof json.name === 'string') name = json.name;
  }
  const ignoreValue = labels && 'ignore' in labels ? labels.ignore : null;
  if (await exists(join(root, 'imagesTr'))) {
    const images = await listVolumes(join(root, 'imagesTr'));
    const labelFiles = (await exists(join(root, 'labelsTr'))) ? await listVolumes(join(root, 'labelsTr')) : [];
    const testImages = (await exists(join(root, 'imagesTs'))) ? await listVolumes(join(root, 'imagesTs')) : [];
    if (images.length === 0) throw new UserError('imagesTr/ holds no volume files', root);
    const cases = pairCases(images, labelFiles, unpaired);
    const testCases = [...groupChannels(testImages)].map(([id, imagePaths]) => ({ id, imagePaths }));
    return { root, name, layout: 'msd', labels, ignoreValue, cases, testCases, unpaired };
  }
  for (const [imagesDir, labelsDir] of [['images', 'labels'], ['imgs', 'masks'], ['images', 'masks']]) {
    if ((await exists(join(root, imagesDir))) && (await exists(join(root, labelsDir)))) {
      const images = await listVolumes(join(root, imagesDir));
      const labelFiles = await listVolumes(join(root, labelsDir));
      if (images.length === 0) throw new UserError(`${imagesDir}/ holds no volume files`, root);
      return { root, name, layout: 'pair-folders', labels, ignoreValue, cases: pairCases(images, labelFiles, unpaired), testCases: [], unpaired };
    }
  }
  const volumes = await listVolumes(root);
  if (volumes.length > 0) {
    // A flat folder: CASE.nii.gz with CASE_seg / _label / _labels / _mask beside it as its label.
    const isLabel = (p: string) => LABEL_SUFFIX.test(stripVolumeExtension(basename(p)));
    const labelFiles = volumes.filter(isLabel);
    const images = volumes.filter((p) => !isLabel(p));
    const renamed = new Map(labelFiles.map((p) => [p, stripVolumeExtension(basename(p)).replace(LABEL_SUFFIX, '')]));
    const cases = pairCases(images, [], unpaired);
    const byId = new Map(cases.map((c) => [c.id, c]));
    for (const [path, id] of renamed) {
      const c = byId.get(id);
      if (c) c.labelPath = path;
      else unpaired.push({ path, reason: 'label has no image file' });
    }
    return { root, name, layout: 'flat-folder', labels, ignoreValue, cases, testCases: [], unpaired };
  }
  const entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.'));
  if (entries.length === 0) throw new UserError('folder is empty (expected imagesTr/ and labelsTr/, images/ and labels/, volume files or a DICOM series)', path);
  return { root, name, layout: 'dicom-series', labels, ignoreValue, cases: [{ id: basename(root), imagePaths: [root] }], testCases: [], unpaired };
}

export interface LoadedCase {
  case: Case;
  /** Channel 0 (slicewise trains single-channel models; further channels are listed but not loaded). */
  image: Volume;
  label?: Volume;
}

/** Check a label volume: integer values, and image and label on the same grid. */
export function validateLabel(image: Volume, label: Volume, labelPath: string, labels?: Record<string, number> | null): void {
  if (!sameGeometry(image.geometry, label.geometry)) {
    const shapeDiffers = image.shape.some((n, i) => n !== label.shape[i]);
    throw new UserError(
      shapeDiffers
        ? `label shape ${label.shape.join('×')} differs from the image's ${image.shape.join('×')}`
        : 'label geometry (spacing, origin or direction) differs from the image\'s',
      labelPath,
    );
  }
  const data = label.data;
  if (data instanceof Float32Array || data instanceof Float64Array) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isInteger(data[i])) throw new UserError(`label volume has a non-integer value ${data[i]} (voxel index ${i})`, labelPath);
    }
  }
  if (labels) {
    const allowed = new Set(Object.values(labels));
    for (let i = 0; i < data.length; i++) {
      if (!allowed.has(data[i])) throw new UserError(`label value ${data[i]} is not declared in dataset.json`, labelPath);
    }
  }
}

export async function loadCase(dataset: Pick<Dataset, 'labels'>, c: Case, options: { withLabel?: boolean } = {}): Promise<LoadedCase> {
  const image = await readVolume(c.imagePaths[0]);
  if (options.withLabel === false || !c.labelPath) return { case: c, image };
  const label = await readVolume(c.labelPath);
  validateLabel(image, label, c.labelPath, dataset.labels);
  return { case: c, image, label };
}

/** Label value → voxel count. */
export function labelCounts(label: Volume): Map<number, number> {
  const counts = new Map<number, number>();
  const data = label.data;
  if (data instanceof Uint8Array) {
    const hist = new Float64Array(256);
    for (let i = 0; i < data.length; i++) hist[data[i]]++;
    hist.forEach((n, v) => { if (n > 0) counts.set(v, n); });
    return counts;
  }
  for (let i = 0; i < data.length; i++) counts.set(data[i], (counts.get(data[i]) ?? 0) + 1);
  return new Map([...counts].sort((a, b) => a[0] - b[0]));
}

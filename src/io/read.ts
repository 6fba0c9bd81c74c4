import { readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { UserError, fileSystemError } from './errors.js';
import { decodeNiftiFile, encodeNiftiFile, isNiftiPath } from './nifti.js';
import { readDicomSeries, readWithItk, writeWithItk } from './itk.js';
import type { Volume } from './volume.js';

export const VOLUME_EXTENSIONS = ['.nii.gz', '.nii', '.nrrd', '.nhdr', '.mha', '.mhd'];

export function isVolumePath(path: string): boolean {
  const lower = path.toLowerCase();
  return VOLUME_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** The file name without its volume extension (".nii.gz" counts as one). */
export function stripVolumeExtension(name: string): string {
  const lower = name.toLowerCase();
  for (const ext of VOLUME_EXTENSIONS) if (lower.endsWith(ext)) return name.slice(0, -ext.length);
  return name.slice(0, name.length - extname(name).length);
}

export interface ReadOptions {
  /** Refuse NaN and infinite voxels (default true). */
  requireFinite?: boolean;
}

/** Read a volume file, or a folder holding one DICOM series. */
export async function readVolume(path: string, options: ReadOptions = {}): Promise<Volume> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw fileSystemError(err, path);
  }
  let volume: Volume;
  if (info.isDirectory()) {
    const entries = (await readdir(path, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.'));
    if (entries.length === 0) throw new UserError('folder is empty (expected one DICOM series)', path);
    const files = entries.map((e) => join(path, e.name)).sort();
    volume = await readDicomSeries(files, path);
  } else if (isNiftiPath(path)) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw fileSystemError(err, path);
    }
    if (bytes.length === 0) throw new UserError('file is empty', path);
    volume = await decodeNiftiFile(bytes, path);
  } else {
    if (info.size === 0) throw new UserError('file is empty', path);
    volume = await readWithItk(path);
  }
  if (options.requireFinite !== false) assertFinite(volume, path);
  return volume;
}

export function assertFinite(volume: Volume, path: string): void {
  const data = volume.data;
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) {
      const [nx, ny] = volume.shape;
      const voxel = [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))];
      throw new UserError(`contains ${Number.isNaN(v) ? 'NaN' : 'infinite'} voxels (first at voxel ${voxel.join(',')})`, path);
    }
  }
}

/** Write to a temporary name beside the target, then rename, so a crash never leaves half a file. */
export async function writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw fileSystemError(err, path);
  }
}

/** Write a volume: NIfTI natively, NRRD / MHA through itk-wasm; geometry kept exactly. */
export async function writeVolume(volume: Volume, path: string): Promise<void> {
  if (isNiftiPath(path)) {
    await writeFileAtomic(path, await encodeNiftiFile(volume, path));
    return;
  }
  const lower = path.toLowerCase();
  if (lower.endsWith('.mhd') || lower.endsWith('.nhdr')) {
    // Header + data pair: itk-wasm names the data file itself, so write in place.
    await writeWithItk(volume, path);
    return;
  }
  const ext = VOLUME_EXTENSIONS.find((e) => lower.endsWith(e)) ?? extname(path);
  if (!ext) throw new UserError('has no volume file extension (.nii.gz, .nii, .nrrd, .mha)', path);
  const tmp = join(dirname(path), `.${basename(path, ext)}.tmp-${process.pid}${ext}`);
  try {
    await writeWithItk(volume, tmp);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err instanceof UserError ? err : new UserError(`could not be written (${(err as Error).message})`, path);
  }
}

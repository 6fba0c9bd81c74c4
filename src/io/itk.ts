/**
 * The bridge to itk-wasm for NRRD, MHA/MHD and DICOM series (and any other format ITK reads).
 * itk-wasm images are plain objects whose direction is row-major, like our Mat3 (checked against
 * nibabel on a rotated volume). Data is copied on the way out: itk-wasm may transfer the buffer.
 */
import { open } from 'node:fs/promises';
import { UserError } from './errors.js';
import { Volume, dataTypeOf, type DataType, type Mat3, type Vec3, type VoxelArray } from './volume.js';

// Loaded lazily: the wasm modules take a moment to load and most commands read NIfTI only.
type ItkImage = {
  imageType: { dimension: number; componentType: string; pixelType: string; components: number };
  name?: string;
  origin: number[] | Float64Array;
  spacing: number[] | Float64Array;
  direction: Float64Array | number[];
  size: number[];
  metadata?: Map<string, unknown>;
  data: VoxelArray | null;
};

function toVolume(image: ItkImage, file: string): Volume {
  const { dimension, components } = image.imageType;
  if (components !== 1) throw new UserError(`has ${components} components per voxel; slicewise reads scalar volumes`, file);
  if (dimension !== 3 && dimension !== 2) throw new UserError(`is ${dimension}D; slicewise reads 3D volumes`, file);
  if (!image.data) throw new UserError('holds no voxel data', file);
  const d = dimension;
  const shape = [image.size[0], image.size[1] ?? 1, d === 3 ? image.size[2] : 1] as Vec3;
  const spacing = [image.spacing[0], image.spacing[1], d === 3 ? image.spacing[2] : 1] as Vec3;
  const origin = [image.origin[0], image.origin[1], d === 3 ? image.origin[2] : 0] as Vec3;
  const direction: number[] = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) direction[r * 3 + c] = Number(image.direction[r * d + c]) + 0;
  const data = image.data as VoxelArray;
  if (!(data instanceof Uint8Array || data instanceof Int8Array || data instanceof Uint16Array || data instanceof Int16Array ||
        data instanceof Uint32Array || data instanceof Int32Array || data instanceof Float32Array || data instanceof Float64Array)) {
    throw new UserError(`voxel type ${image.imageType.componentType} is not supported`, file);
  }
  return new Volume(data, { shape, spacing, origin, direction: direction as Mat3 });
}

const COMPONENT_TYPE: Record<DataType, string> = {
  uint8: 'uint8', int8: 'int8', uint16: 'uint16', int16: 'int16', uint32: 'uint32', int32: 'int32', float32: 'float32', float64: 'float64',
};

export function toItkImage(volume: Volume): ItkImage {
  const direction = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) direction[r * 3 + c] = volume.direction[r * 3 + c];
  return {
    imageType: { dimension: 3, componentType: COMPONENT_TYPE[dataTypeOf(volume.data)], pixelType: 'Scalar', components: 1 },
    name: 'image',
    origin: [...volume.origin],
    spacing: [...volume.spacing],
    direction,
    size: [...volume.shape],
    metadata: new Map(),
    data: volume.data.slice(),
  };
}

export function fromItkImage(image: unknown, file: string): Volume {
  return toVolume(image as ItkImage, file);
}

/**
 * Run an itk-wasm call without its console chatter: on a C++ exception it prints "Exception while running
 * pipeline" lines and its emscripten runtime may set process.exitCode. We report our own one-line error.
 */
let quietDepth = 0;
const saved = { log: console.log, error: console.error };
export async function quietly<T>(call: () => Promise<T>): Promise<T> {
  const exitCode = process.exitCode;
  if (quietDepth++ === 0) {
    console.log = () => undefined;
    console.error = () => undefined;
  }
  try {
    return await call();
  } finally {
    if (--quietDepth === 0) {
      console.log = saved.log;
      console.error = saved.error;
    }
    process.exitCode = exitCode;
  }
}

function describe(err: unknown): string {
  // itk-wasm's release builds throw a bare number (a C++ exception pointer) with no message.
  if (typeof err === 'number') return 'the ITK reader/writer raised an exception';
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].slice(0, 200) || 'unreadable';
}

export async function readWithItk(path: string): Promise<Volume> {
  const { readImageNode } = await import('@itk-wasm/image-io');
  let image: unknown;
  try {
    image = await quietly(() => readImageNode(path));
  } catch (err) {
    throw new UserError(`could not be read as an image (${describe(err)})`, path);
  }
  return toVolume(image as ItkImage, path);
}

export async function writeWithItk(volume: Volume, path: string): Promise<void> {
  const { writeImageNode } = await import('@itk-wasm/image-io');
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await quietly(() => writeImageNode(toItkImage(volume) as any, path, { useCompression: true }));
  } catch (err) {
    throw new UserError(`could not be written as ${volume.dataType} (${describe(err)})`, path);
  }
}

/** Read one DICOM series from a list of files (sorted by ITK/GDCM by position). */
export async function readDicomSeries(files: string[], folder: string): Promise<Volume> {
  const { readImageDicomFileSeriesNode } = await import('@itk-wasm/dicom');
  let result: { outputImage: unknown };
  try {
    result = await quietly(() => readImageDicomFileSeriesNode({ inputImages: files, singleSortedSeries: false }));
  } catch (err) {
    // ITK names no file; the usual culprit is a file that is not DICOM at all, so name the first one.
    const notDicom = await firstFileWithoutDicomMarker(files);
    if (notDicom) throw new UserError('is not a DICOM file (no "DICM" marker at byte 128), so the series could not be read', notDicom);
    throw new UserError(`could not be read as a DICOM series (${describe(err)})`, folder);
  }
  return toVolume(result.outputImage as ItkImage, folder);
}

/** DICOM Part 10 files carry "DICM" after a 128-byte preamble. */
async function firstFileWithoutDicomMarker(files: readonly string[]): Promise<string | null> {
  const marker = Buffer.alloc(4);
  for (const file of files) {
    const handle = await open(file, 'r').catch(() => null);
    if (!handle) return file;
    try {
      const { bytesRead } = await handle.read(marker, 0, 4, 128);
      if (bytesRead < 4 || marker.toString('latin1') !== 'DICM') return file;
    } finally {
      await handle.close();
    }
  }
  return null;
}

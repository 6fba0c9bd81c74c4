/**
 * Prediction: 2D models slice by slice along the slicing axis (batched, each slice centred on a canvas the
 * U-Net can pool), 3D models by Gaussian-weighted sliding window with overlap. Output label maps keep the
 * input's geometry exactly.
 */
import { readFile, readdir, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { discoverDataset } from '../io/dataset.js';
import { UserError, fileSystemError } from '../io/errors.js';
import { resolveAxis, type Axis } from '../io/geometry.js';
import { writeVolume } from '../io/read.js';
import { Volume } from '../io/volume.js';
import { channelCount, channelView, modelInput, readChannels } from './channels.js';
import { trainConfigSchema, type TrainConfig } from './config.js';
import { UNetModel, setThreads } from './engine.js';
import { canvasOffset, extractPlane, minOf, planeAxes, roundUp } from './samples.js';

/** What prediction needs of a case: its normalized image (channel-major), channel count, shape and slicing axis. */
export interface PredictionInput {
  image: Float32Array;
  channels: number;
  shape: [number, number, number];
  axis: Axis;
}

const SLICES_PER_BATCH = 32;

/** Class index per voxel (volume layout, axis 0 fastest). */
export async function predictTrainingCase(model: UNetModel, input: PredictionInput, config: TrainConfig): Promise<Uint8Array> {
  return config.model === '2d' ? predict2D(model, input, config) : predict3D(model, input, config);
}

async function predict2D(model: UNetModel, input: PredictionInput, config: TrainConfig): Promise<Uint8Array> {
  const { image, channels, shape, axis } = input;
  const [a, b] = planeAxes(axis);
  const w = shape[a], h = shape[b];
  const divisor = 2 ** (config.network.depth - 1);
  const H = Math.max(config.inputSize[0], roundUp(h, divisor));
  const W = Math.max(config.inputSize[1], roundUp(w, divisor));
  const [ou, ov] = canvasOffset(w, h, W, H);
  const count = shape[axis];
  const volumes = Array.from({ length: channels }, (_, k) => channelView(image, channels, k));
  const fills = volumes.map(minOf);
  const out = new Uint8Array(volumes[0].length);
  const strides = [1, shape[0], shape[0] * shape[1]];
  const plane = new Float32Array(w * h);
  for (let first = 0; first < count; first += SLICES_PER_BATCH) {
    const n = Math.min(SLICES_PER_BATCH, count - first);
    const batch = new Float32Array(n * channels * H * W);
    for (let s = 0; s < n; s++) {
      volumes.forEach((volume, k) => {
        const offset = (s * channels + k) * H * W;
        batch.fill(fills[k], offset, offset + H * W);
        extractPlane(volume, shape, axis, first + s, plane);
        for (let v = 0; v < h; v++) batch.set(plane.subarray(v * w, v * w + w), offset + (v + ov) * W + ou);
      });
    }
    const classes = await model.predict(batch, [n, channels, H, W], { argmax: true });
    for (let s = 0; s < n; s++) {
      const base = (first + s) * strides[axis];
      for (let v = 0; v < h; v++) {
        for (let u = 0; u < w; u++) out[base + u * strides[a] + v * strides[b]] = classes[s * H * W + (v + ov) * W + u + ou];
      }
    }
  }
  return out;
}

async function predict3D(model: UNetModel, input: PredictionInput, config: TrainConfig): Promise<Uint8Array> {
  const { image, channels, shape } = input;
  const [nx, ny, nz] = shape;
  const patch = config.inputSize as [number, number, number];
  // Pad each axis up to the patch when the volume is smaller (the sliding window needs at least one tile).
  const D = Math.max(nz, patch[0]), H = Math.max(ny, patch[1]), W = Math.max(nx, patch[2]);
  const [oz, oy, ox] = [Math.floor((D - nz) / 2), Math.floor((H - ny) / 2), Math.floor((W - nx) / 2)];
  const padded = D === nz && H === ny && W === nx;
  let volume = image;
  if (!padded) {
    volume = new Float32Array(channels * D * H * W);
    for (let k = 0; k < channels; k++) {
      const src = channelView(image, channels, k), dst = channelView(volume, channels, k);
      dst.fill(minOf(src));
      for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) dst.set(src.subarray((z * ny + y) * nx, (z * ny + y + 1) * nx), ((z + oz) * H + y + oy) * W + ox);
    }
  }
  const classes = await model.predictSlidingWindow(volume, [channels, D, H, W], { patchSize: patch, overlap: 0.5, gaussian: true, argmax: true });
  if (padded) return classes;
  const out = new Uint8Array(nx * ny * nz);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) out.set(classes.subarray(((z + oz) * H + y + oy) * W + ox, ((z + oz) * H + y + oy) * W + ox + nx), (z * ny + y) * nx);
  return out;
}

export interface LoadedRun {
  runDir: string;
  config: TrainConfig;
  model: UNetModel;
}

export async function loadRun(runDir: string): Promise<LoadedRun> {
  const dir = resolve(runDir);
  const configPath = join(dir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError('is not a run folder (no config.json)', dir);
    throw err instanceof SyntaxError ? new UserError(`is not valid JSON (${err.message})`, configPath) : fileSystemError(err, configPath);
  }
  const parsed = trainConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${issue.path.join('.')}: ${issue.message}`, configPath);
  }
  const config = parsed.data;
  const model = UNetModel.load(join(dir, 'model.pt'), { device: config.device });
  const info = model.info();
  if (info.model.classes !== config.labelValues.length || info.model.depth !== config.network.depth || (info.model.dims === 2) !== (config.model === '2d')
    || info.model.inChannels !== config.inChannels) {
    throw new UserError(`the checkpoint (${info.model.dims}D, ${channelCount(info.model.inChannels)}, ${info.model.classes} classes, depth ${info.model.depth}) does not match config.json`, join(dir, 'model.pt'));
  }
  setThreads(config.threads);
  return { runDir: dir, config, model };
}

/**
 * Predict one volume (or its image channels, in channel order): a label map with the run's label values and
 * the input's geometry, 2D models slicing along the run's axis.
 */
export async function predictVolume(run: LoadedRun, channels: Volume | readonly Volume[]): Promise<Volume> {
  const volumes = channels instanceof Volume ? [channels] : channels;
  const image = volumes[0];
  if (volumes.length !== run.config.inChannels) {
    throw new UserError(`the model takes ${channelCount(run.config.inChannels)}, the input has ${volumes.length}`, run.runDir);
  }
  const axis = resolveAxis(run.config.axis, image.direction);
  const input = { image: modelInput(volumes), channels: volumes.length, shape: [...image.shape] as [number, number, number], axis };
  const classes = await predictTrainingCase(run.model, input, run.config);
  const values = run.config.labelValues;
  const maxValue = Math.max(...values);
  const out = maxValue < 256 ? new Uint8Array(classes.length) : new Uint16Array(classes.length);
  for (let i = 0; i < classes.length; i++) out[i] = values[classes[i]];
  return image.withData(out);
}

export interface PredictFolderResult {
  outputs: Array<{ id: string; path: string }>;
  failed: Array<{ id: string; error: string }>;
}

/** Predict every image of a dataset folder (imagesTr/imagesTs or plain), a folder of volumes, or one file. */
export async function predictImages(runDir: string, imagesPath: string, outDir: string, options: { caseIds?: string[]; overwrite?: boolean; onProgress?: (done: number, total: number) => void } = {}): Promise<PredictFolderResult> {
  // Label maps of two runs in one folder would be evaluated as one: refuse unless asked.
  if (!options.overwrite && (await readdir(outDir).catch(() => [])).some((f) => /\.nii(\.gz)?$/.test(f))) {
    throw new UserError('already holds label maps; pass --overwrite to write into it, or choose another --out', resolve(outDir));
  }
  const run = await loadRun(runDir);
  const dataset = await discoverDataset(imagesPath);
  let cases = [...dataset.cases, ...dataset.testCases];
  if (options.caseIds) {
    const wanted = new Set(options.caseIds);
    cases = cases.filter((c) => wanted.has(c.id));
  }
  if (cases.length === 0) throw new UserError('holds no images to predict', imagesPath);
  await mkdir(outDir, { recursive: true }).catch((err) => { throw fileSystemError(err, outDir); });
  const result: PredictFolderResult = { outputs: [], failed: [] };
  let done = 0;
  for (const c of cases) {
    try {
      const label = await predictVolume(run, await readChannels(c));
      const path = join(outDir, `${c.id}.nii.gz`);
      await writeVolume(label, path);
      result.outputs.push({ id: c.id, path });
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      result.failed.push({ id: c.id, error: err.message });
    }
    options.onProgress?.(++done, cases.length);
  }
  return result;
}

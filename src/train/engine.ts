/**
 * The training engine: the only module that loads the native libtorch addon (native/, built by
 * `node scripts/build-native.mjs`, which `npm ci` runs). Everything else in slicewise talks to it through
 * this typed API.
 *
 *   const model = UNetModel.create({ dims: 2, inChannels: 1, classes: 3, depth: 4, baseWidth: 32 },
 *                                  { seed: 1, training: { ignoreIndex: 255, totalSteps: 1000 } });
 *   const { loss } = await model.trainStep({ images, labels, shape: [N, 1, H, W] });  // lr: poly schedule
 *   const classes = await model.predict(images, [N, 1, H, W], { argmax: true });        // Uint8Array N×H×W
 *   const seg = await model.predictSlidingWindow(volume, [1, D, H, W], { patchSize: [40, 56, 40] });
 *   model.save('run/model.pt');  const again = UNetModel.load('run/model.pt');
 *
 * Layouts: images are float32 N×C×H×W (2D) or N×C×D×H×W (3D), last axis fastest; labels are class indices
 * N×H×W / N×D×H×W (Uint8Array or Int32Array) where `training.ignoreIndex` marks voxels without supervision;
 * optional per-voxel loss weights have the labels' layout. Arrays are read in place by a worker thread:
 * do not modify them until the returned Promise settles.
 *
 * Model: nnU-Net's U-Net (two conv 3 → norm → LeakyReLU blocks per stage, stride-2 convolutions down,
 * transposed convolutions up, widths baseWidth·2^stage capped at maxWidth), He initialization.
 * Loss: cross-entropy + (1 − mean foreground soft Dice) over annotated voxels only (weighted when weights
 * are given); a batch without an annotated voxel gives loss 0 and leaves the model untouched (`skipped`).
 * Optimizer: SGD with Nesterov momentum 0.99, weight decay 3e-5, poly learning-rate decay (exponent 0.9)
 * over `totalSteps`, or Adam; global gradient-norm clipping at 12. Pass `learningRate` to a step to drive
 * the schedule from TypeScript instead.
 * Determinism: the same seed gives the same initial weights; on CPU with the same thread count, the same
 * steps give the same weights.
 * Threads and memory: setThreads(n) sets libtorch's intra-op threads for every later call (each worker
 * thread applies it). Loading the engine installs a caching CPU allocator in the process: blocks of
 * 256 KiB and more freed by one step are reused by the next (at most 2 GiB kept; releaseEngineMemory()
 * frees them; SLICEWISE_CACHING_ALLOCATOR=0 disables it). Long calls run on libuv's thread pool, one at
 * a time per model.
 * CUDA: device 'cuda' needs a CUDA libtorch (LIBTORCH=<dir>); the loss then still runs on the CPU.
 * Errors: a missing addon is a UserError saying how to build it; an unreadable checkpoint, or one of
 * another architecture, is a UserError naming the file; shape, type or label mismatches reject the
 * returned Promise with the native message. The process never aborts on a native error.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../io/errors.js';

export type Norm = 'instance' | 'batch';

export interface ModelConfig {
  dims: 2 | 3;
  inChannels: number;
  /** Output classes, background included (2..255). */
  classes: number;
  /** Resolution stages; spatial sizes must be multiples of 2^(depth − 1) for training. */
  depth: number;
  baseWidth: number;
  /** Width cap; default nnU-Net's 512 (2D) / 320 (3D). */
  maxWidth?: number;
  norm?: Norm;
  /** Extra loss heads on the lower decoder stages (nnU-Net weights 1, ½, ¼, ..., lowest left out). */
  deepSupervision?: boolean;
}

export interface TrainingOptions {
  optimizer?: 'sgd' | 'adam';
  /** Initial learning rate (default 0.01). */
  learningRate?: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Max global gradient norm; 0 disables clipping (default 12). */
  gradClip?: number;
  /** Poly decay exponent (default 0.9). */
  polyExponent?: number;
  /** Length of the poly schedule (default 1000). */
  totalSteps?: number;
  /** Label value excluded from the loss (default -1: none). */
  ignoreIndex?: number;
  /** Dice over the whole batch (default) rather than per sample. */
  batchDice?: boolean;
}

export interface CreateOptions {
  seed?: number;
  training?: TrainingOptions;
  /** 'cpu' (default) or 'cuda[:N]' with a CUDA libtorch (LIBTORCH=<dir>). */
  device?: string;
  /** Channels-last activations (default false: slower on CPU with libtorch 1.13; the numbers are the same). */
  channelsLast?: boolean;
}

export interface TrainBatch {
  images: Float32Array;
  labels: Uint8Array | Int32Array;
  weights?: Float32Array | null;
  /** [N, C, H, W] or [N, C, D, H, W]. */
  shape: readonly number[];
}

export interface StepResult {
  /** Loss of this batch before the update (deep-supervision weighted). */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  learningRate: number;
  /** Steps taken so far, this one included. */
  step: number;
  /** True when the batch had no annotated voxel: no forward pass, no update. */
  skipped: boolean;
}

export interface SlidingWindowOptions {
  /** Patch size per spatial axis, each a multiple of 2^(depth − 1). */
  patchSize: readonly number[];
  /** Fraction of the patch shared by neighbouring tiles (default 0.5). */
  overlap?: number;
  /** Tiles per forward pass (default 2). */
  batchSize?: number;
  /** Gaussian tile weighting (σ = patch/8, default true) instead of a plain average. */
  gaussian?: boolean;
}

export interface ModelInfo {
  model: Required<ModelConfig> & { channelsLast: boolean };
  training: Required<TrainingOptions>;
  step: number;
  /** The poly schedule's learning rate for the next step. */
  learningRate: number;
}

export interface LossResult {
  loss: number;
  /** Sum of voxel weights over annotated voxels. */
  annotated: number;
  /** d loss / d logits, logits' layout. */
  grad: Float32Array;
}

// ---- the addon ----------------------------------------------------------------------------------------

interface NativeModel {
  trainStep(images: Float32Array, labels: Uint8Array | Int32Array, weights: Float32Array | null, shape: number[], lr: number): Promise<StepResult>;
  predict(images: Float32Array, shape: number[], argmax: boolean): Promise<Float32Array | Uint8Array>;
  predictSlidingWindow(volume: Float32Array, shape: number[], options: SlidingWindowOptions & { argmax: boolean }): Promise<Float32Array | Uint8Array>;
  save(path: string): void;
  loadState(path: string): void;
  parameterChecksum(): number;
  parameterVector(): Float32Array;
  info(): ModelInfo;
  setTraining(options: TrainingOptions): void;
}

interface NativeEngine {
  Model: new (options: object) => NativeModel;
  setThreads(n: number): void;
  getThreads(): number;
  manualSeed(seed: number): void;
  maskedLoss(logits: Float32Array, shape: number[], labels: Uint8Array | Int32Array, weights: Float32Array | null,
    options: { ignoreIndex?: number; batchDice?: boolean }): LossResult;
  buildInfo(): { torchVersion: string; cuda: boolean; parallel: string };
  releaseMemory(): number;
}

const ADDON_NAME = 'slicewise_engine.node';
const HOW_TO_BUILD =
  'the training engine (native libtorch addon) is not built: install libtorch (Debian: apt-get install libtorch-dev, ' +
  'or set LIBTORCH=<unpacked libtorch dir>) and run `node scripts/build-native.mjs` in the slicewise folder';

let cached: NativeEngine | null = null;
let loadError: string | null = null;

/** The addon's path: SLICEWISE_ENGINE, else native/build/Release under the package root. */
export function enginePath(): string {
  if (process.env.SLICEWISE_ENGINE) return resolve(process.env.SLICEWISE_ENGINE);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'native', 'binding.gyp'))) return join(dir, 'native', 'build', 'Release', ADDON_NAME);
    dir = dirname(dir);
  }
  return join(process.cwd(), 'native', 'build', 'Release', ADDON_NAME);
}

/** Loads the addon once; throws a UserError that says how to build it when it is missing or unloadable. */
export function loadEngine(): NativeEngine {
  if (cached) return cached;
  const path = enginePath();
  if (!existsSync(path)) throw new UserError(HOW_TO_BUILD, path);
  try {
    cached = createRequire(import.meta.url)(path) as NativeEngine;
    return cached;
  } catch (err) {
    loadError = (err as Error).message;
    throw new UserError(`cannot load the training engine (${loadError}); rebuild it with \`node scripts/build-native.mjs\``, path);
  }
}

/** Whether the addon is built and loads (for skipping tests and choosing code paths). */
export function engineAvailable(): boolean {
  try {
    loadEngine();
    return true;
  } catch {
    return false;
  }
}

/** Why the engine is unavailable, or null when it loads. */
export function engineUnavailableReason(): string | null {
  try {
    loadEngine();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export function engineBuildInfo(): { torchVersion: string; cuda: boolean; parallel: string } {
  return loadEngine().buildInfo();
}

/**
 * Refuses a device the engine cannot use with a UserError: called before any data is loaded, and by
 * create/load, so a CPU-only libtorch asked for 'cuda' never surfaces as a native exception.
 */
export function checkDevice(device: string): void {
  if (device === 'cpu') return;
  if (!/^cuda(:\d+)?$/.test(device)) throw new UserError(`must be cpu or cuda[:N], got "${device}"`, '--device');
  if (!loadEngine().buildInfo().cuda) {
    throw new UserError(`${device} is not available: this libtorch has no usable CUDA device (a CUDA build needs LIBTORCH=<dir> npm ci and a GPU); use --device cpu`, '--device');
  }
}

/** Intra-op threads for every engine call (process-wide). */
export function setThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new UserError(`must be a positive integer, got ${threads}`, '--threads');
  loadEngine().setThreads(threads);
}

export function getThreads(): number {
  return loadEngine().getThreads();
}

/** Gives the engine's cached activation memory back to the system (e.g. between training and a long
 * idle phase); returns the bytes released. */
export function releaseEngineMemory(): number {
  return loadEngine().releaseMemory();
}

/** Seeds libtorch's global generator (model creation seeds it too). */
export function setSeed(seed: number): void {
  loadEngine().manualSeed(seed);
}

/** nnU-Net's poly schedule: initial · (1 − step/total)^exponent. */
export function polyLearningRate(initial: number, step: number, totalSteps: number, exponent = 0.9): number {
  return initial * Math.pow(1 - Math.min(1, Math.max(0, step / totalSteps)), exponent);
}

/** The engine's masked Dice + CE loss and its gradient on given logits [N, K, ...spatial] (for tests and tools). */
export function maskedLoss(logits: Float32Array, shape: readonly number[], labels: Uint8Array | Int32Array,
  options: { weights?: Float32Array | null; ignoreIndex?: number; batchDice?: boolean } = {}): LossResult {
  return loadEngine().maskedLoss(logits, [...shape], labels, options.weights ?? null, { ignoreIndex: options.ignoreIndex ?? -1, batchDice: options.batchDice ?? true });
}

function validateConfig(config: ModelConfig): void {
  const int = (value: unknown, name: string, lo: number, hi: number) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi)
      throw new UserError(`must be an integer in ${lo}..${hi}, got ${String(value)}`, `model.${name}`);
  };
  if (config.dims !== 2 && config.dims !== 3) throw new UserError(`must be 2 or 3, got ${String(config.dims)}`, 'model.dims');
  int(config.inChannels, 'inChannels', 1, 64);
  int(config.classes, 'classes', 2, 255);
  int(config.depth, 'depth', 1, 8);
  int(config.baseWidth, 'baseWidth', 1, 4096);
  if (config.maxWidth !== undefined) int(config.maxWidth, 'maxWidth', 1, 4096);
  if (config.norm !== undefined && config.norm !== 'instance' && config.norm !== 'batch')
    throw new UserError(`must be 'instance' or 'batch', got ${String(config.norm)}`, 'model.norm');
}

// ---- the model ----------------------------------------------------------------------------------------

export class UNetModel {
  private constructor(private readonly native: NativeModel) {}

  static create(config: ModelConfig, options: CreateOptions = {}): UNetModel {
    validateConfig(config);
    checkDevice(options.device ?? 'cpu');
    const engine = loadEngine();
    return new UNetModel(new engine.Model({
      model: { ...config, channelsLast: options.channelsLast ?? false },
      training: options.training ?? {},
      seed: options.seed ?? 0,
      device: options.device ?? 'cpu',
    }));
  }

  /** A model restored from a checkpoint: architecture, weights, optimizer state, step and training options. */
  static load(path: string, options: { device?: string } = {}): UNetModel {
    const engine = loadEngine();
    checkDevice(options.device ?? 'cpu');
    try {
      return new UNetModel(new engine.Model({ checkpoint: resolve(path), device: options.device ?? 'cpu' }));
    } catch (err) {
      throw new UserError(stripPath((err as Error).message, path), path);
    }
  }

  /** One optimizer step; `learningRate` overrides the poly schedule for this step. */
  async trainStep(batch: TrainBatch, options: { learningRate?: number } = {}): Promise<StepResult> {
    return this.native.trainStep(batch.images, batch.labels, batch.weights ?? null, [...batch.shape], options.learningRate ?? -1);
  }

  /** Softmax probabilities [N, K, ...spatial], or the argmax class [N, ...spatial]; any spatial size. */
  predict(images: Float32Array, shape: readonly number[], options: { argmax: true }): Promise<Uint8Array>;
  predict(images: Float32Array, shape: readonly number[], options?: { argmax?: false }): Promise<Float32Array>;
  async predict(images: Float32Array, shape: readonly number[], options: { argmax?: boolean } = {}): Promise<Float32Array | Uint8Array> {
    return this.native.predict(images, [...shape], options.argmax ?? false);
  }

  /** A whole volume [C, ...spatial] by overlapping Gaussian-weighted tiles: argmax [...spatial] or probabilities [K, ...spatial]. */
  predictSlidingWindow(volume: Float32Array, shape: readonly number[], options: SlidingWindowOptions & { argmax?: true }): Promise<Uint8Array>;
  predictSlidingWindow(volume: Float32Array, shape: readonly number[], options: SlidingWindowOptions & { argmax: false }): Promise<Float32Array>;
  async predictSlidingWindow(volume: Float32Array, shape: readonly number[], options: SlidingWindowOptions & { argmax?: boolean }): Promise<Float32Array | Uint8Array> {
    return this.native.predictSlidingWindow(volume, [...shape], { ...options, patchSize: [...options.patchSize], argmax: options.argmax ?? true });
  }

  /** Writes weights, configuration, optimizer state and step (to a temporary name, then renamed). */
  save(path: string): void {
    try {
      this.native.save(resolve(path));
    } catch (err) {
      throw new UserError((err as Error).message, path);
    }
  }

  /** Replaces weights, optimizer state and step from a checkpoint of the same architecture. */
  loadState(path: string): void {
    try {
      this.native.loadState(resolve(path));
    } catch (err) {
      throw new UserError(stripPath((err as Error).message, path), path);
    }
  }

  /** Changes training options (optimizer, ignoreIndex, schedule length, ...) from the next step on. */
  setTraining(options: TrainingOptions): void {
    this.native.setTraining(options);
  }

  /** Σp + ½Σp² over all parameters: a quick fingerprint of the weights. */
  parameterChecksum(): number {
    return this.native.parameterChecksum();
  }

  /** All parameters, concatenated in registration order (a copy). */
  parameterVector(): Float32Array {
    return this.native.parameterVector();
  }

  info(): ModelInfo {
    return this.native.info();
  }

  get config(): ModelInfo['model'] {
    return this.native.info().model;
  }

  get step(): number {
    return this.native.info().step;
  }
}

// The native message starts with the resolved path; UserError prefixes the path the user gave.
function stripPath(message: string, path: string): string {
  const full = resolve(path);
  return message.startsWith(`${full}: `) ? message.slice(full.length + 2) : message;
}

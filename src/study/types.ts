/**
 * The contract between the study machinery (grid, store, queues, report) and whatever trains a model
 * inside a cell. A cell is plain data; its id is the sha256 of its canonical JSON, so the same cell
 * always has the same id, whichever process, machine or retry runs it.
 */
import type { AxisChoice } from '../io/geometry.js';
import type { Split } from '../train/split.js';

export const MODEL_KINDS = ['2d', '3d'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export const STUDY_STRATEGIES = ['random', 'fixed-interval', 'ual', 'ual-coreset', 'ual-pooled'] as const;
export type StudyStrategy = (typeof STUDY_STRATEGIES)[number];

export const STUDY_INTERPOLATIONS = ['none', 'mci', 'sdf'] as const;
export type StudyInterpolation = (typeof STUDY_INTERPOLATIONS)[number];

/**
 * How a cell's budget is spread, already resolved against the budget and the training split (the same
 * shapes as `AllocationRule` in src/plan/allocation.ts, so the executor passes it to `makePlan` as is).
 */
export type CellAllocation =
  /** s volumes, B/s slices each (remainder spread round-robin). */
  | { kind: 'volumes'; volumes: number }
  /** ⌈B/k⌉ volumes with k slices each (the last one gets the remainder); only when k does not divide B. */
  | { kind: 'slices-per-volume'; slicesPerVolume: number };

/** What defines a cell; its canonical JSON is hashed into the cell id. */
export interface CellConfig {
  /** Annotation budget in slices (fractions are resolved against the training split's slice total). */
  budget: number;
  allocation: CellAllocation;
  strategy: StudyStrategy;
  interpolation: StudyInterpolation;
  model: ModelKind;
  /** Seeds the plan (volume and slice choice) and the training run. */
  seed: number;
  /** The training schedule, opaque here: passed through to the executor unchanged. */
  training: Record<string, unknown>;
}

/** One cell of the grid, as handed to an executor. */
export interface CellSpec {
  /** sha256 (hex) of the canonical JSON of `config`. */
  id: string;
  config: CellConfig;
  /** Volumes that receive slices (s), for reports; equals the allocation's volumes when given that way. */
  volumes: number;
  /** Mean annotated slices per chosen volume (B / s). */
  slicesPerVolume: number;
}

/** The study's fixed case split; every cell trains on `train` and is evaluated on `test`. */
export type StudySplit = Split;

export interface CellContext {
  /** Absolute path of the dataset folder (a worker may remap it). */
  datasetRoot: string;
  split: StudySplit;
  /** The slicing axis every plan uses. */
  axis: AxisChoice;
  /** CPU threads this cell may use (cores / parallel cells); the executor sets its training threads to it. */
  threads: number;
  /** The study's output folder; an executor may write scratch files under `<studyDir>/cells/<id>/`. */
  studyDir: string;
  /** Progress inside the cell: fraction in [0, 1] and a short message (e.g. "step 120/400 loss 0.31"). */
  onProgress(fraction: number, message: string): void;
}

/** Metrics of one label on one test case. HD95 in mm; null when undefined (an empty mask on one side). */
export interface LabelMetrics {
  dice: number;
  iou: number;
  hd95: number | null;
}

export interface CaseResult {
  caseId: string;
  /** Label value → metrics, for every foreground label of the dataset (background excluded). */
  labels: Record<string, LabelMetrics>;
}

export interface CellResult {
  /** The plan the cell trained from (src/plan/types.ts `Plan`), stored as JSON. */
  plan: unknown;
  /** Seconds per phase, e.g. { plan, annotate, interpolate, train, predict, evaluate }. */
  timings: Record<string, number>;
  /** One entry per test case of the split. */
  cases: CaseResult[];
  /** Anything else worth keeping (training steps, final loss, ...), stored as JSON. */
  extra?: Record<string, unknown>;
}

/**
 * Trains and evaluates one cell. Runs inside a child process (local pool) or a sandboxed queue processor,
 * never in the coordinator. A bad cell (a corrupt case, an impossible allocation) throws a UserError.
 */
export type CellExecutor = (cell: CellSpec, context: CellContext) => Promise<CellResult>;

/** An executor module exports `executeCell`. */
export interface CellExecutorModule {
  executeCell: CellExecutor;
}

/**
 * `runStudy`: dataset → split (written once, reused) → grid → store → queue → results, with progress.
 * The coordinator only schedules and records; cells run in child processes (or remote workers). Each
 * finished cell is committed on its own, so a killed study resumes (`resume: true`) where it stopped.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discoverDataset } from '../io/dataset.js';
import { UserError } from '../io/errors.js';
import { engineUnavailableReason } from '../train/engine.js';
import { canonicalJson, expandGrid, type SkippedCombination } from './grid.js';
import { LocalPool } from './local-pool.js';
import { StudyProgress, type ProgressMode } from './progress.js';
import type { CellQueue } from './queue.js';
import { labelledCaseIds, makeSplit, readSplit, trainingSliceCounts, writeSplit } from './split.js';
import { StudyStore } from './store.js';
import type { StudyConfig } from './config.js';
import type { CellSpec, StudySplit } from './types.js';

/** The real cell executor; the product path never runs any other. */
export const DEFAULT_EXECUTOR = join(dirname(fileURLToPath(import.meta.url)), 'cell.js');
export const STORE_FILE = 'study.sqlite';
export const SPLIT_FILE = 'split.json';

export interface RunStudyOptions {
  outDir: string;
  /** Dataset folder; defaults to the config's `dataset`. */
  dataset?: string;
  /** Parallel cells of the local pool (default: the cores). */
  workers?: number;
  /** Continue a study folder that already holds results (finished cells are skipped). */
  resume?: boolean;
  /** Module exporting `executeCell` (default: the real executor, src/study/cell.ts). */
  executor?: string;
  /** Another queue backend (BullMQ); default a local pool. */
  queue?: CellQueue;
  progress?: ProgressMode;
  /** One-line notes (split written, combinations skipped, ...). */
  onInfo?: (message: string) => void;
}

export interface StudySummary {
  outDir: string;
  storePath: string;
  cells: number;
  /** Cells finished before this run (resume). */
  alreadyDone: number;
  done: number;
  failed: number;
  skipped: SkippedCombination[];
  seconds: number;
}

/**
 * Stops before any work on a machine without the training engine (the libtorch addon), which the real
 * executor needs: otherwise every cell would fail, one after another. One line naming the addon and how to
 * build it; `hint` is appended.
 */
export function requireEngine(hint = ''): void {
  const reason = engineUnavailableReason();
  if (reason) throw new UserError(reason + hint);
}

async function prepareSplit(config: StudyConfig, outDir: string, caseIds: string[], info: (m: string) => void): Promise<StudySplit> {
  const splitPath = join(outDir, SPLIT_FILE);
  if (existsSync(splitPath)) return readSplit(splitPath, caseIds);
  const split = 'file' in config.split
    ? await readSplit(config.split.file, caseIds)
    : makeSplit(caseIds, config.split.seed, config.split.testFraction);
  await writeSplit(split, splitPath);
  info(`split: ${split.train.length} training and ${split.test.length} test cases written to ${splitPath}`);
  return split;
}

export async function runStudy(config: StudyConfig, options: RunStudyOptions): Promise<StudySummary> {
  const started = Date.now();
  const info = options.onInfo ?? (() => undefined);
  const executor = options.executor ?? DEFAULT_EXECUTOR;
  // Queue workers check for themselves: the coordinator only schedules and records.
  if (!options.queue && executor === DEFAULT_EXECUTOR) requireEngine('; or run the cells on machines that have it with --queue');
  const datasetPath = options.dataset ?? config.dataset;
  if (!datasetPath) throw new UserError('no dataset given (pass <dataset> or set "dataset" in the config)', 'study');
  const dataset = await discoverDataset(datasetPath);
  const caseIds = labelledCaseIds(dataset);
  if (caseIds.length < 2) throw new UserError(`has ${caseIds.length} labelled case(s); a study needs at least 2`, datasetPath);
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  const storePath = join(outDir, STORE_FILE);
  const hadStore = existsSync(storePath);
  const store = new StudyStore(storePath);
  let queue: CellQueue | undefined;
  try {
    const studyConfig = { ...config, dataset: dataset.root };
    const stored = store.getMeta<StudyConfig>('config');
    if (hadStore && stored && store.countCells() > 0) {
      if (!options.resume) throw new UserError('already holds a study; pass --resume to continue it, or choose another --out', outDir);
      if (canonicalJson({ ...stored, dataset: undefined }) !== canonicalJson({ ...studyConfig, dataset: undefined })) {
        throw new UserError("the study's configuration differs from the one this folder was started with; resume with the same preset or config, or choose another --out", outDir);
      }
    }
    const split = await prepareSplit(config, outDir, caseIds, info);
    const splitKey = canonicalJson(split);
    let sliceCounts = store.getMeta<{ split: string; counts: number[] }>('trainingSliceCounts');
    if (!sliceCounts || sliceCounts.split !== splitKey) {
      sliceCounts = { split: splitKey, counts: await trainingSliceCounts(dataset, split, config.axis, info) };
      store.setMeta('trainingSliceCounts', sliceCounts);
    }
    const grid = expandGrid(config, { sliceCounts: sliceCounts.counts });
    for (const s of grid.skipped) info(`skipped ${s.experiment}: budget ${s.budget}, ${s.allocation}: ${s.reason}`);
    if (grid.cells.length === 0) throw new UserError('no cell of the design can run on this dataset (see the skipped combinations above)', 'study');
    store.setMeta('config', studyConfig);
    store.setMeta('dataset', { root: dataset.root, name: dataset.name, labels: dataset.labels });
    store.setMeta('grid', { cells: grid.cells.length, skipped: grid.skipped });
    store.addCells(grid.cells, grid.experimentsOf);
    store.resetInterrupted();

    const states = new Map(store.cells().map((c) => [c.spec.id, c]));
    const todo: CellSpec[] = grid.cells.filter((c) => states.get(c.id)?.status !== 'done');
    const alreadyDone = grid.cells.length - todo.length;
    if (alreadyDone > 0) info(`resuming: ${alreadyDone} of ${grid.cells.length} cells already done`);
    queue = options.queue ?? new LocalPool({ workers: options.workers, executorModule: executor });
    info(`running ${todo.length} cells on a ${queue.description}`);
    const byId = new Map(todo.map((c) => [c.id, c]));
    const previousAttempts = new Map(todo.map((c) => [c.id, store.attempts(c.id)]));
    const mode = options.progress ?? (process.stderr.isTTY ? 'tty' : 'lines');
    const progress = new StudyProgress(new Map(byId), alreadyDone, grid.cells.length, queue.concurrency, mode);
    let done = 0, failed = 0;

    // Ctrl-C / SIGTERM: stop the children; finished cells are already committed.
    const stop = () => void queue?.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      if (todo.length > 0) {
        await queue.enqueue(todo, { datasetRoot: dataset.root, split, axis: config.axis, studyDir: outDir, maxAttempts: config.maxAttempts });
        for await (const event of queue.events()) {
          const cell = byId.get(event.cellId);
          if (!cell) continue;
          if (event.type === 'started') {
            store.markRunning(cell.id, event.at, event.worker);
            progress.cellStarted(cell, event.attempt);
          } else if (event.type === 'progress') {
            progress.progress(cell.id, event.fraction, event.message);
          } else {
            const t = event.timing;
            const attempt = { startedAt: t.startedAt, finishedAt: t.finishedAt, seconds: t.seconds, attempts: (previousAttempts.get(cell.id) ?? 0) + t.attempt, worker: t.worker };
            if (event.type === 'done') {
              if (store.recordResult(cell.id, event.result, attempt)) done++;
              progress.cellFinished(cell, { seconds: t.seconds, final: true });
            } else {
              if (event.final) {
                store.recordFailure(cell.id, event.error, attempt);
                failed++;
              }
              progress.cellFinished(cell, { seconds: t.seconds, error: event.error, final: event.final });
            }
          }
        }
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      progress.end();
    }
    return { outDir, storePath, cells: grid.cells.length, alreadyDone, done, failed, skipped: grid.skipped, seconds: (Date.now() - started) / 1000 };
  } finally {
    await queue?.close();
    store.close();
  }
}

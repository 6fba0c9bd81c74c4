/**
 * The sandboxed BullMQ processor of `slicewise worker`: BullMQ forks a child process that imports this file,
 * so a cell's CPU-heavy training never blocks the worker's event loop (which renews the job's lock in
 * Redis). The worker passes its settings through the environment (see worker.ts); the dataset root the
 * coordinator sent is replaced by the worker's --data-root when it has one.
 */
import { mkdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { SandboxedJob } from 'bullmq';
import { isUserError } from '../io/errors.js';
import type { CellJobData, CellJobProgress, CellJobResult } from './bullmq-queue.js';
import type { CellExecutorModule } from './types.js';

/** Environment the worker sets for its sandboxed children. */
export const CELL_JOB_ENV = {
  executor: 'SLICEWISE_CELL_EXECUTOR',
  dataRoot: 'SLICEWISE_DATA_ROOT',
  scratchDir: 'SLICEWISE_SCRATCH_DIR',
  threads: 'SLICEWISE_CELL_THREADS',
  workerId: 'SLICEWISE_WORKER_ID',
} as const;

/** Progress messages at most this often: progress must never cost the cell time or flood Redis. */
const PROGRESS_INTERVAL_MS = 500;

let executor: Promise<CellExecutorModule> | null = null;

function loadExecutor(): Promise<CellExecutorModule> {
  const path = process.env[CELL_JOB_ENV.executor];
  if (!path) throw new Error(`${CELL_JOB_ENV.executor} is not set (the processor must be started by slicewise worker)`);
  executor ??= import(pathToFileURL(path).href).then((module: Partial<CellExecutorModule>) => {
    if (typeof module.executeCell !== 'function') throw new Error(`executor module ${path} does not export executeCell`);
    return module as CellExecutorModule;
  });
  return executor;
}

export default async function processCellJob(job: SandboxedJob<CellJobData, CellJobResult>): Promise<CellJobResult> {
  const { cell, context } = job.data;
  const { executeCell } = await loadExecutor();
  const scratchDir = process.env[CELL_JOB_ENV.scratchDir];
  if (scratchDir) mkdirSync(scratchDir, { recursive: true });
  let lastSent = 0;
  const started = new Date();
  const t0 = performance.now();
  try {
    const result = await executeCell(cell, {
      datasetRoot: process.env[CELL_JOB_ENV.dataRoot] || context.datasetRoot,
      split: context.split,
      axis: context.axis,
      // The coordinator's folder may not exist on this machine: scratch files go to the worker's own.
      studyDir: scratchDir || context.studyDir,
      threads: Math.max(1, Number(process.env[CELL_JOB_ENV.threads]) || 1),
      onProgress: (fraction, message) => {
        const now = Date.now();
        if (now - lastSent < PROGRESS_INTERVAL_MS && fraction < 1) return;
        lastSent = now;
        void job.updateProgress({ fraction, message } satisfies CellJobProgress);
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    return { result, worker: process.env[CELL_JOB_ENV.workerId] ?? `pid ${process.pid}`, startedAt: started.toISOString(), finishedAt: new Date().toISOString(), seconds };
  } catch (err) {
    // A bad cell (corrupt case, impossible allocation) fails the same way every time: no retry.
    // BullMQ recognises UnrecoverableError by name (it crosses the process boundary as JSON); naming it here
    // spares every cell process from loading all of bullmq.
    if (isUserError(err)) throw Object.assign(new Error((err as Error).message.split('\n')[0]), { name: 'UnrecoverableError' });
    throw err;
  }
}

// If the worker dies (SIGKILL), the IPC channel closes: stop too, so no orphan keeps training.
process.on('disconnect', () => process.exit(3));

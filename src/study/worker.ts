/**
 * A study worker: takes cell jobs from the BullMQ queue and runs each in a sandboxed child process
 * (cell-job.ts), `concurrency` at a time. The worker's own event loop stays free, so it renews the jobs'
 * locks while training runs; a worker that dies (SIGKILL, a lost machine) stops renewing, its jobs stall
 * and another worker's stalled check puts them back in the queue. A worker only makes outgoing
 * connections (to Redis); it listens on no address.
 */
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { bullConnection, probeRedis, QUEUE_NAME, QUEUE_PREFIX, type CellJobData, type CellJobResult } from './bullmq-queue.js';
import { CELL_JOB_ENV } from './cell-job.js';
import { describeRedisUrl } from './redis-url.js';

const CELL_JOB_PROCESSOR = join(dirname(fileURLToPath(import.meta.url)), 'cell-job.js');

export interface CellWorkerOptions {
  /** redis:// or rediss:// URL of the queue. */
  url: string;
  /** Cells at once, each in its own child process (default 1). */
  concurrency?: number;
  /** Dataset folder on this machine, replacing the path the coordinator sent. */
  dataRoot?: string;
  /** Scratch folder for the cells' temporary files (default <tmp>/slicewise-worker). */
  scratchDir?: string;
  /** Module exporting `executeCell` (compiled JavaScript); the CLI passes the real executor. */
  executorModule: string;
  /** How long a job's lock lives without renewal (ms): a dead worker's cell is retried after about this long. */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs of dead workers (ms). */
  stalledIntervalMs?: number;
  /** Times a job may stall (its worker died) before it fails for good. */
  maxStalledCount?: number;
  /** One line per event (cell started, done, failed, connection trouble). */
  onInfo?: (message: string) => void;
}

export interface CellWorker {
  /** host:pid, as recorded with each result. */
  readonly id: string;
  /** Resolves when the worker is connected and taking jobs. */
  ready(): Promise<void>;
  /** Waits for running cells to finish (or, with force, abandons them), then disconnects. */
  close(force?: boolean): Promise<void>;
}

export async function startCellWorker(options: CellWorkerOptions): Promise<CellWorker> {
  const redis = await probeRedis(options.url);
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const id = `${hostname()}:${process.pid}`;
  const info = options.onInfo ?? (() => undefined);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [CELL_JOB_ENV.executor]: resolve(options.executorModule),
    [CELL_JOB_ENV.dataRoot]: options.dataRoot ? resolve(options.dataRoot) : '',
    [CELL_JOB_ENV.scratchDir]: resolve(options.scratchDir ?? join(tmpdir(), 'slicewise-worker')),
    [CELL_JOB_ENV.threads]: String(Math.max(1, Math.floor(availableParallelism() / concurrency))),
    [CELL_JOB_ENV.workerId]: id,
  };
  const lockDuration = options.lockDurationMs ?? 30_000;
  const worker = new Worker<CellJobData, CellJobResult>(QUEUE_NAME, CELL_JOB_PROCESSOR, {
    connection: bullConnection(redis),
    prefix: QUEUE_PREFIX,
    name: id,
    concurrency,
    lockDuration,
    stalledInterval: options.stalledIntervalMs ?? lockDuration,
    maxStalledCount: options.maxStalledCount ?? 2,
    // Finished jobs keep their result until the coordinator collects it (removal is set per job).
    workerForkOptions: { env, stdio: 'inherit' },
  });
  worker.on('error', (err) => info(`worker: ${err.message}`));
  worker.on('active', (job) => info(`started cell ${job.data.cell.id.slice(0, 12)} (attempt ${job.attemptsStarted})`));
  worker.on('completed', (job, result) => info(`done cell ${job.data.cell.id.slice(0, 12)} in ${result.seconds.toFixed(1)} s`));
  worker.on('failed', (job, err) => info(`failed cell ${job?.data.cell.id.slice(0, 12) ?? '?'}: ${err.message.split('\n')[0]}`));
  info(`worker ${id} on ${describeRedisUrl(options.url)}: ${concurrency} cell${concurrency === 1 ? '' : 's'} at once`);
  return {
    id,
    ready: () => worker.waitUntilReady().then(() => undefined),
    close: (force = false) => worker.close(force),
  };
}

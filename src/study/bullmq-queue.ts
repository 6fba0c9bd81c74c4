/**
 * The distributed queue backend: each cell is a BullMQ job in Redis, run by `slicewise worker` processes
 * anywhere that sees the dataset. The coordinator only enqueues and listens; results come back as job
 * return values and the coordinator alone records them, once per cell id.
 *
 * Job ids are `<study key>-<cell id>` (the study key hashes the study folder, dataset, split and axis), so
 * enqueueing a cell again is a no-op: a restarted coordinator re-attaches to its jobs, picks up results
 * finished while it was away, and waits for the rest. Events arrive through QueueEvents (a Redis stream,
 * resumed after a reconnect); a periodic reconciliation reads the jobs' states as well, so nothing is lost
 * when Redis restarts, and a job that Redis lost (no persistence) is enqueued again.
 */
import { createHash } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { UserError } from '../io/errors.js';
import { canonicalJson } from './grid.js';
import { EventChannel, type AttemptTiming, type CellEvent, type CellQueue, type QueueContext } from './queue.js';
import { describeRedisUrl, parseRedisUrl, type RedisConnectionOptions } from './redis-url.js';
import type { CellResult, CellSpec } from './types.js';

/** One queue per Redis database; studies share it, told apart by the study key in job ids. */
export const QUEUE_NAME = 'cells';
export const QUEUE_PREFIX = 'slicewise';
/** Finished jobs stay this long, so a coordinator that was down can still collect their results. */
const KEEP_FINISHED_SECONDS = 14 * 24 * 3600;

/** What a job carries: the cell and what every cell of its study shares. */
export interface CellJobData {
  studyKey: string;
  cell: CellSpec;
  context: Omit<QueueContext, 'maxAttempts'>;
}

/** A job's return value: the executor's result and when and where it ran (measured inside the processor). */
export interface CellJobResult {
  result: CellResult;
  worker: string;
  startedAt: string;
  finishedAt: string;
  seconds: number;
}

export interface CellJobProgress {
  fraction: number;
  message: string;
}

/** ioredis options for bullmq. Every command waits through a Redis restart instead of failing. */
export function bullConnection(redis: RedisConnectionOptions) {
  return { ...redis, maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: (times: number) => Math.min(100 * times, 2000) };
}

/** Connect once, failing fast: an unreachable server or a wrong password is a UserError naming the option. */
export async function probeRedis(url: string, option = '--queue'): Promise<RedisConnectionOptions> {
  const redis = parseRedisUrl(url, option);
  const client = new Redis({ ...redis, lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // ioredis reports the cause (ECONNREFUSED, WRONGPASS, a TLS error) as an event; the promise only says "closed".
  let cause: Error | null = null;
  client.on('error', (err: Error) => (cause ??= err));
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    const reason = (cause ?? (err as Error)).message.split('\n')[0];
    throw new UserError(`cannot use Redis at ${describeRedisUrl(url)}: ${reason}`, option);
  } finally {
    client.disconnect();
  }
  return redis;
}

export function studyKeyOf(context: Omit<QueueContext, 'maxAttempts'>): string {
  const { datasetRoot, split, axis, studyDir } = context;
  return createHash('sha256').update(canonicalJson({ datasetRoot, split, axis, studyDir })).digest('hex').slice(0, 16);
}

export interface BullMqCellQueueOptions {
  /** Seconds between reconciliations of the jobs' states with Redis (default 5). */
  reconcileSeconds?: number;
  /** Errors talking to Redis (it is restarting, ...), one line each; the queue keeps trying. */
  onWarning?: (message: string) => void;
}

export class BullMqCellQueue implements CellQueue {
  readonly description: string;
  private readonly queue: Queue<CellJobData, CellJobResult>;
  private readonly queueEvents: QueueEvents;
  private readonly channel = new EventChannel<CellEvent>();
  /** Job id → cell, for cells not yet done or finally failed. */
  private readonly unsettled = new Map<string, CellSpec>();
  private readonly known = new Set<string>();
  private readonly warn: (message: string) => void;
  private readonly reconcileMs: number;
  private timer: NodeJS.Timeout | null = null;
  private reconciling = false;
  private data: Omit<CellJobData, 'cell'> | null = null;
  private maxAttempts = 1;
  private closed = false;

  private constructor(url: string, redis: RedisConnectionOptions, readonly concurrency: number, options: BullMqCellQueueOptions) {
    this.description = `BullMQ queue at ${describeRedisUrl(url)} (${concurrency} worker${concurrency === 1 ? '' : 's'} connected)`;
    const connection = bullConnection(redis);
    this.queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    this.queueEvents = new QueueEvents(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    this.warn = options.onWarning ?? (() => undefined);
    this.reconcileMs = (options.reconcileSeconds ?? 5) * 1000;
    this.queue.on('error', (err) => this.warn(`queue: ${err.message}`));
    this.queueEvents.on('error', (err) => this.warn(`queue events: ${err.message}`));
    this.queueEvents.on('active', ({ jobId }) => void this.onActive(jobId).catch((err) => this.warn(`active ${jobId}: ${err.message}`)));
    this.queueEvents.on('progress', ({ jobId, data }) => {
      const cell = this.unsettled.get(jobId);
      const p = data as Partial<CellJobProgress>;
      if (cell && typeof p === 'object' && typeof p.fraction === 'number') this.channel.push({ type: 'progress', cellId: cell.id, fraction: p.fraction, message: String(p.message ?? '') });
    });
    this.queueEvents.on('completed', ({ jobId }) => void this.inspect(jobId).catch((err) => this.warn(`completed ${jobId}: ${err.message}`)));
    this.queueEvents.on('failed', ({ jobId }) => void this.inspect(jobId, true).catch((err) => this.warn(`failed ${jobId}: ${err.message}`)));
  }

  /** Checks that Redis answers (UserError naming `option` if not) and counts the connected workers. */
  static async open(url: string, options: BullMqCellQueueOptions & { option?: string } = {}): Promise<BullMqCellQueue> {
    const redis = await probeRedis(url, options.option);
    const probe = new Queue(QUEUE_NAME, { connection: bullConnection(redis), prefix: QUEUE_PREFIX });
    let workers = 0;
    try {
      workers = await probe.getWorkersCount();
    } finally {
      await probe.close();
    }
    const queue = new BullMqCellQueue(url, redis, Math.max(1, workers), options);
    await queue.queueEvents.waitUntilReady();
    return queue;
  }

  async enqueue(cells: readonly CellSpec[], context: QueueContext): Promise<void> {
    const { datasetRoot, split, axis, studyDir, maxAttempts } = context;
    const shared = { datasetRoot, split, axis, studyDir };
    this.data = { studyKey: studyKeyOf(shared), context: shared };
    this.maxAttempts = maxAttempts;
    const fresh: CellSpec[] = [];
    for (const cell of cells) {
      const jobId = this.jobIdOf(cell);
      if (this.known.has(jobId)) continue;
      this.known.add(jobId);
      this.unsettled.set(jobId, cell);
      fresh.push(cell);
    }
    for (const cell of fresh) {
      const jobId = this.jobIdOf(cell);
      const existing = await this.queue.getJob(jobId);
      // A job that failed for good in an earlier run is run again, as the local pool reruns failed cells on resume.
      if (existing && (await existing.getState()) === 'failed') await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    }
    await this.addJobs(fresh);
    // Jobs that finished while no coordinator listened are settled now; the timer catches whatever events miss.
    await this.reconcile();
    if (this.unsettled.size === 0) this.channel.end();
    else this.timer ??= setInterval(() => void this.reconcile(), this.reconcileMs);
  }

  events(): AsyncIterable<CellEvent> {
    return this.channel;
  }

  /** Stops listening. Jobs stay in Redis: workers keep running them and a restarted coordinator collects them. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.channel.end();
    await Promise.allSettled([this.queueEvents.close(), this.queue.close()]);
  }

  private jobIdOf(cell: CellSpec): string {
    return `${this.data!.studyKey}-${cell.id}`;
  }

  private async addJobs(cells: CellSpec[]): Promise<void> {
    if (cells.length === 0) return;
    const attempts = this.maxAttempts;
    await this.queue.addBulk(cells.map((cell) => ({
      name: 'cell',
      data: { ...this.data!, cell },
      opts: { jobId: this.jobIdOf(cell), attempts, removeOnComplete: { age: KEEP_FINISHED_SECONDS }, removeOnFail: { age: KEEP_FINISHED_SECONDS } },
    })));
  }

  private async onActive(jobId: string): Promise<void> {
    const cell = this.unsettled.get(jobId);
    if (!cell) return;
    const job = await this.queue.getJob(jobId);
    if (!job || !this.unsettled.has(jobId)) return;
    this.channel.push({
      type: 'started', cellId: cell.id, attempt: Math.max(1, job.attemptsStarted ?? job.attemptsMade + 1),
      worker: job.processedBy ?? 'worker', at: new Date(job.processedOn ?? Date.now()).toISOString(),
    });
  }

  /** Reads one job and settles its cell if it is done or failed for good; `failedEvent` reports a retried failure too. */
  private async inspect(jobId: string, failedEvent = false): Promise<'open' | 'settled' | 'missing'> {
    const cell = this.unsettled.get(jobId);
    if (!cell) return 'settled';
    const job = (await this.queue.getJob(jobId)) as Job<CellJobData, CellJobResult> | undefined;
    if (!job) return 'missing';
    const state = await job.getState();
    if (!this.unsettled.has(jobId)) return 'settled';
    const attempt = Math.max(1, job.attemptsStarted ?? job.attemptsMade);
    if (state === 'completed' && job.returnvalue) {
      const r = job.returnvalue;
      this.settle(jobId, { type: 'done', cellId: cell.id, result: r.result, timing: { startedAt: r.startedAt, finishedAt: r.finishedAt, seconds: r.seconds, attempt, worker: r.worker } });
      return 'settled';
    }
    if (state === 'failed' || failedEvent) {
      const final = state === 'failed';
      const error = job.failedReason || 'failed without a message';
      // A job failed before using its attempts by an UnrecoverableError, which the processor throws for a UserError.
      const userError = final && job.attemptsMade < (job.opts.attempts ?? 1) && !/stalled/i.test(error);
      const event: CellEvent = { type: 'failed', cellId: cell.id, error, userError, final, timing: this.timingOf(job, attempt) };
      if (final) this.settle(jobId, event);
      else this.channel.push(event);
      return final ? 'settled' : 'open';
    }
    return 'open';
  }

  private timingOf(job: Job, attempt: number): AttemptTiming {
    const started = job.processedOn ?? job.timestamp;
    const finished = job.finishedOn ?? Date.now();
    return {
      startedAt: new Date(started).toISOString(), finishedAt: new Date(finished).toISOString(),
      seconds: Math.max(0, finished - started) / 1000, attempt, worker: job.processedBy ?? 'worker',
    };
  }

  private settle(jobId: string, event: CellEvent): void {
    if (!this.unsettled.delete(jobId)) return;
    this.channel.push(event);
    if (this.unsettled.size === 0) {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      this.channel.end();
    }
  }

  private async reconcile(): Promise<void> {
    if (this.reconciling || this.closed) return;
    this.reconciling = true;
    try {
      const missing: CellSpec[] = [];
      for (const [jobId, cell] of [...this.unsettled]) {
        if ((await this.inspect(jobId)) === 'missing') missing.push(cell);
      }
      if (missing.length > 0) {
        this.warn(`${missing.length} job(s) missing from Redis (restarted without persistence?): enqueued again`);
        await this.addJobs(missing);
      }
    } catch (err) {
      this.warn(`reconcile: ${(err as Error).message}`);
    } finally {
      this.reconciling = false;
    }
  }
}

export interface QueueCounts {
  waiting: number;
  active: number;
  done: number;
  failed: number;
  workers: number;
}

/** Counts of the whole queue (every study that uses this Redis database). */
export async function queueStatus(url: string, option = '<url>'): Promise<QueueCounts> {
  const redis = await probeRedis(url, option);
  const queue = new Queue(QUEUE_NAME, { connection: bullConnection(redis), prefix: QUEUE_PREFIX });
  try {
    const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0),
      active: c.active ?? 0, done: c.completed ?? 0, failed: c.failed ?? 0, workers: await queue.getWorkersCount(),
    };
  } finally {
    await queue.close();
  }
}

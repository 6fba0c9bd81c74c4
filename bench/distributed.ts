/**
 * npm run bench -- distributed
 * The quick preset's grid (15 cells on msd-hippocampus) run through a BullMQ queue on a redis-server of its
 * own (127.0.0.1, no persistence) by 1, 2 and 4 `slicewise worker` processes, each cell the fake executor
 * (test/study/fake-executor.ts) with a fixed cell time of CELL_MS, so the figures measure the queue, not
 * training. Yardstick: the local process pool (one forked process per cell) with as many slots, same cells.
 *
 * Wall time runs from enqueue to the last result recorded (the split and grid before it are the same for
 * both backends). Queue overhead per cell = (wall − rounds × cell work) / rounds, rounds = ⌈cells / slots⌉
 * being the cells the busiest slot runs one after another (15 cells on 2 slots: 8) and the cell work the
 * fake executor's fixed time: everything a slot spends not running the cell's own work (dispatch,
 * processes, Redis round trips, recording, timer slack). Workers
 * are warmed by one earlier study (their sandboxed processes are reused from cell to cell, as in a long
 * study); the cold figure of that first study is printed too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BullMqCellQueue } from '../src/study/bullmq-queue.js';
import { LocalPool } from '../src/study/local-pool.js';
import { presetConfig } from '../src/study/presets.js';
import type { CellEvent, CellQueue, QueueContext } from '../src/study/queue.js';
import { runStudy } from '../src/study/runner.js';
import { StudyStore } from '../src/study/store.js';
import type { CellSpec } from '../src/study/types.js';
import { HIPPOCAMPUS, REPO_ROOT, freePort } from '../test/helpers.js';
import { printBenchLine, round } from './_report.js';

const CELL_MS = 1000;
const WORKER_COUNTS = [1, 2, 4];
const FAKE_WORKER = join(REPO_ROOT, 'dist', 'test', 'study', 'run-fake-worker.js');
const FAKE_EXECUTOR = join(REPO_ROOT, 'dist', 'test', 'study', 'fake-executor.js');

/** Times a queue from the first enqueue to its last event. */
class TimedQueue implements CellQueue {
  started = 0;
  ended = 0;
  constructor(private readonly inner: CellQueue) {}
  get description() { return this.inner.description; }
  get concurrency() { return this.inner.concurrency; }
  enqueue(cells: readonly CellSpec[], context: QueueContext): Promise<void> {
    this.started = performance.now();
    return this.inner.enqueue(cells, context);
  }
  async *events(): AsyncIterable<CellEvent> {
    for await (const event of this.inner.events()) {
      yield event;
      this.ended = performance.now();
    }
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Measure { wallSeconds: number; overheadMs: number; cells: number }

async function measure(queue: CellQueue, slots: number, outDir: string): Promise<Measure> {
  const timed = new TimedQueue(queue);
  const summary = await runStudy(presetConfig('quick'), { dataset: HIPPOCAMPUS, outDir, queue: timed, progress: 'lines', onInfo: () => undefined });
  if (summary.done !== summary.cells) throw new Error(`${summary.cells - summary.done} cells not done in ${outDir}`);
  const store = new StudyStore(summary.storePath, { readonly: true });
  // The fake executor reports its fixed cell time as `train`; both backends are charged the same work.
  const work = store.cells().reduce((sum, c) => sum + Number((c.timings as Record<string, number> | null)?.train ?? 0), 0);
  store.close();
  const wallSeconds = (timed.ended - timed.started) / 1000;
  // Equal cells: the busiest slot runs ⌈cells / slots⌉ of them back to back, and the wall time is theirs.
  const rounds = Math.ceil(summary.cells / slots);
  return { wallSeconds, overheadMs: ((wallSeconds - rounds * (work / summary.cells)) / rounds) * 1000, cells: summary.cells };
}

function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child[stream]!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before "${text}": ${out}`)));
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'slicewise-bench-distributed-'));
const children: ChildProcess[] = [];
process.env.FAKE_CELL_MS = String(CELL_MS);
try {
  const redisDir = join(scratch, 'redis');
  mkdirSync(redisDir);
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(redis);
  await waitForLine(redis, 'stdout', 'Ready to accept connections');
  let baseline = 0;
  for (const [index, workers] of WORKER_COUNTS.entries()) {
    const url = `redis://127.0.0.1:${port}/${index}`;
    const started = Array.from({ length: workers }, () => {
      const child = spawn(process.execPath, [FAKE_WORKER, url], { stdio: ['ignore', 'pipe', 'ignore'], env: process.env });
      children.push(child);
      return child;
    });
    await Promise.all(started.map((child) => waitForLine(child, 'stdout', 'ready ')));
    const cold = await measure(await BullMqCellQueue.open(url), workers, join(scratch, `warmup-${workers}`));
    const warm = await measure(await BullMqCellQueue.open(url), workers, join(scratch, `bullmq-${workers}`));
    for (const child of started) child.kill('SIGTERM');
    const local = await measure(new LocalPool({ workers, executorModule: FAKE_EXECUTOR }), workers, join(scratch, `local-${workers}`));
    if (workers === 1) baseline = warm.wallSeconds;
    const extra = { workers, cells: warm.cells, cell_ms: CELL_MS, executor: 'fake (fixed cell time)' };
    printBenchLine({ bench: 'distributed', metric: `wall_s_${workers}_workers`, slicewise: warm.wallSeconds, yardstick: 'local process pool, same slots', yardstick_value: local.wallSeconds },
      { ...extra, speedup: round(baseline / warm.wallSeconds) });
    printBenchLine({ bench: 'distributed', metric: `queue_overhead_ms_per_cell_${workers}_workers`, slicewise: warm.overheadMs, yardstick: 'local process pool, same slots', yardstick_value: local.overheadMs },
      { ...extra, cold_overhead_ms: round(cold.overheadMs), target_ms: 50, under_target: warm.overheadMs < 50 });
  }
} finally {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  rmSync(scratch, { recursive: true, force: true });
}

/**
 * The local queue backend: each cell runs in its own child process (cell-process.ts), `workers` at a time,
 * so CPU-heavy training never blocks the coordinator's event loop. A crashed process (signal, out of memory)
 * is retried up to `maxAttempts`; a UserError from the executor is final at once. Each cell's stdout and
 * stderr go to `<studyDir>/logs/<cell id>.log`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CellProcessMessage, RunCellMessage } from './cell-process.js';
import { EventChannel, type AttemptTiming, type CellEvent, type CellQueue, type QueueContext } from './queue.js';
import type { CellResult, CellSpec } from './types.js';

const CELL_PROCESS = join(dirname(fileURLToPath(import.meta.url)), 'cell-process.js');

export interface LocalPoolOptions {
  /** Cells at once (default: the machine's cores). */
  workers?: number;
  /** Path of the module that exports `executeCell` (compiled JavaScript). */
  executorModule: string;
}

interface Job {
  cell: CellSpec;
  attempt: number;
}

export class LocalPool implements CellQueue {
  readonly concurrency: number;
  readonly description: string;
  private readonly executorModule: string;
  private readonly channel = new EventChannel<CellEvent>();
  private readonly waiting: Job[] = [];
  private readonly known = new Set<string>();
  private readonly running = new Map<string, ChildProcess>();
  private readonly freeSlots: number[];
  private context: QueueContext | null = null;
  private unsettled = 0;
  private closed = false;

  constructor(options: LocalPoolOptions) {
    this.concurrency = Math.max(1, options.workers ?? availableParallelism());
    this.executorModule = options.executorModule;
    this.description = `local pool of ${this.concurrency} process${this.concurrency === 1 ? '' : 'es'}`;
    this.freeSlots = Array.from({ length: this.concurrency }, (_, i) => this.concurrency - i);
  }

  async enqueue(cells: readonly CellSpec[], context: QueueContext): Promise<void> {
    this.context = context;
    for (const cell of cells) {
      if (this.known.has(cell.id)) continue;
      this.known.add(cell.id);
      this.unsettled++;
      this.waiting.push({ cell, attempt: 1 });
    }
    if (this.unsettled === 0) this.channel.end();
    this.pump();
  }

  events(): AsyncIterable<CellEvent> {
    return this.channel;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting.length = 0;
    const exits = [...this.running.values()].map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }));
    await Promise.all(exits);
    this.channel.end();
  }

  private pump(): void {
    while (!this.closed && this.context && this.waiting.length > 0 && this.freeSlots.length > 0) {
      this.start(this.waiting.shift()!, this.freeSlots.pop()!, this.context);
    }
  }

  private start(job: Job, slot: number, context: QueueContext): void {
    const { cell } = job;
    const startedAt = new Date();
    const worker = `${hostname()}:local:${slot}`;
    const logDir = join(context.studyDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const log = createWriteStream(join(logDir, `${cell.id}.log`), { flags: 'a' });
    log.write(`--- attempt ${job.attempt} on ${worker}, ${startedAt.toISOString()}\n`);
    const child = fork(CELL_PROCESS, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.running.set(cell.id, child);
    this.channel.push({ type: 'started', cellId: cell.id, attempt: job.attempt, worker, at: startedAt.toISOString() });

    let outcome: { result: CellResult } | { error: string; userError: boolean } | null = null;
    child.on('message', (message: CellProcessMessage) => {
      if (message.type === 'progress') this.channel.push({ type: 'progress', cellId: cell.id, fraction: message.fraction, message: message.message });
      else if (message.type === 'result') outcome = { result: message.result as CellResult };
      else if (message.type === 'error') {
        outcome = { error: message.message, userError: message.userError };
        if (message.stack) log.write(message.stack + '\n');
      }
    });
    child.on('error', (err) => {
      outcome ??= { error: `cell process could not run: ${err.message}`, userError: false };
    });
    child.once('exit', (code, signal) => {
      this.running.delete(cell.id);
      this.freeSlots.push(slot);
      log.end(`--- exit ${signal ?? code}\n`);
      if (this.closed) return;
      const finishedAt = new Date();
      const timing: AttemptTiming = {
        startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(),
        seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000, attempt: job.attempt, worker,
      };
      const settled = outcome ?? { error: `cell process ${signal ? `killed by ${signal}` : `exited with code ${code}`} before reporting a result`, userError: false };
      if ('result' in settled) {
        this.channel.push({ type: 'done', cellId: cell.id, result: settled.result, timing });
        this.settle();
      } else {
        const final = settled.userError || job.attempt >= context.maxAttempts;
        this.channel.push({ type: 'failed', cellId: cell.id, error: settled.error, userError: settled.userError, final, timing });
        if (final) this.settle();
        else this.waiting.push({ cell, attempt: job.attempt + 1 });
      }
      this.pump();
    });
    const message: RunCellMessage = {
      type: 'run', executorModule: this.executorModule, cell,
      context: {
        datasetRoot: context.datasetRoot, split: context.split, axis: context.axis, studyDir: context.studyDir,
        threads: Math.max(1, Math.floor(availableParallelism() / this.concurrency)),
      },
    };
    child.send(message);
  }

  private settle(): void {
    this.unsettled--;
    if (this.unsettled === 0) this.channel.end();
  }
}

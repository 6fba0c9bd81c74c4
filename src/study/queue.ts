/**
 * The queue between the study coordinator and whatever runs cells: the local process pool
 * (local-pool.ts) and the distributed BullMQ backend both implement `CellQueue`. The coordinator enqueues
 * cells and consumes events; it alone writes the store, so results are recorded once per cell id.
 */
import type { AxisChoice } from '../io/geometry.js';
import type { CellResult, CellSpec, StudySplit } from './types.js';

/** What every cell of a study shares (the per-cell `CellContext` minus its progress callback). */
export interface QueueContext {
  datasetRoot: string;
  split: StudySplit;
  axis: AxisChoice;
  studyDir: string;
  /** Attempts per cell in this run before it is reported failed for good. */
  maxAttempts: number;
}

export interface AttemptTiming {
  /** ISO times of the attempt. */
  startedAt: string;
  finishedAt: string;
  seconds: number;
  /** 1 for the first attempt in this run. */
  attempt: number;
  /** Who ran it: "local:3" (pool slot), a worker's host and pid, ... */
  worker: string;
}

export type CellEvent =
  | { type: 'started'; cellId: string; attempt: number; worker: string; at: string }
  | { type: 'progress'; cellId: string; fraction: number; message: string }
  | { type: 'done'; cellId: string; result: CellResult; timing: AttemptTiming }
  /** `final` false: the queue retries the cell; true: no attempts left (or a user error, never retried). */
  | { type: 'failed'; cellId: string; error: string; userError: boolean; final: boolean; timing: AttemptTiming };

export interface CellQueue {
  /** Short name for messages ("local pool of 2", "redis://host:6379/0"). */
  readonly description: string;
  /** Parallel slots, for the ETA. */
  readonly concurrency: number;
  /** Queue cells; an id already queued or running is not queued twice. */
  enqueue(cells: readonly CellSpec[], context: QueueContext): Promise<void>;
  /** Events in arrival order; ends when every enqueued cell is done or finally failed, or after close(). */
  events(): AsyncIterable<CellEvent>;
  /** Stop: running cells are abandoned (the local pool kills its processes), resources released. */
  close(): Promise<void>;
}

/** An unbounded async queue of events with a single consumer; queue backends push, the runner iterates. */
export class EventChannel<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private ended = false;

  push(item: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: item, done: false });
    } else {
      this.buffer.push(item);
    }
  }

  end(): void {
    this.ended = true;
    if (this.waiting && this.buffer.length === 0) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift() as T, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
    };
  }
}

/**
 * Runs planner tasks (per-volume selection, k-means) on worker threads, results in task order. Each task
 * carries its own random stream, so the answer does not depend on the number of threads.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PlanTask, PlanTaskResult, ReplyMessage } from './messages.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** Posting a typed-array view clones its whole buffer: copy views of a larger buffer down to their own. */
function ownBuffer(a: Float32Array): Float32Array {
  return a.byteLength === a.buffer.byteLength ? a : a.slice();
}

function compact(task: PlanTask): PlanTask {
  if (task.kind === 'kmeans') return { ...task, points: ownBuffer(task.points) };
  const features = task.volume.features;
  return features ? { ...task, volume: { ...task.volume, features: ownBuffer(features) } } : task;
}

export function defaultPlanThreads(): number {
  return Math.max(1, availableParallelism());
}

export async function runPlanTasks<T extends PlanTask>(tasks: readonly T[], threads: number): Promise<Array<Extract<PlanTaskResult, { kind: T['kind'] }>>> {
  const results = new Array<PlanTaskResult>(tasks.length);
  const workers = Array.from({ length: Math.max(1, Math.min(threads, tasks.length)) }, () => new Worker(WORKER_URL));
  let next = 0;
  try {
    await Promise.all(workers.map((worker) => new Promise<void>((resolve, reject) => {
      let finished = false;
      const feed = () => {
        if (next >= tasks.length) { finished = true; return resolve(); }
        const id = next++;
        worker.postMessage({ id, task: compact(tasks[id]) });
      };
      worker.on('message', (reply: ReplyMessage) => {
        if ('error' in reply) return reject(new Error(`planner worker: ${reply.error}`));
        results[reply.id] = reply.result;
        feed();
      });
      worker.on('error', reject);
      worker.on('exit', (code) => { if (!finished) reject(new Error(`planner worker exited with code ${code}`)); });
      feed();
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results as Array<Extract<PlanTaskResult, { kind: T['kind'] }>>;
}

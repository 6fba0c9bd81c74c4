/** A planner worker thread: runs the CPU-bound tasks of messages.ts, one at a time. */
import { parentPort } from 'node:worker_threads';
import { Random } from '../../util/random.js';
import { kmeans } from '../kmeans.js';
import { getStrategy } from '../strategies/registry.js';
import type { PlanTask, PlanTaskResult, ReplyMessage, TaskMessage } from './messages.js';

function run(task: PlanTask): PlanTaskResult {
  const random = Random.restore(task.random);
  if (task.kind === 'kmeans') {
    const result = kmeans(task.points, task.n, task.d, task.k, { random, maxIterations: task.maxIterations, tolerance: task.tolerance });
    return { kind: 'kmeans', inertia: result.inertia, iterations: result.iterations };
  }
  const strategy = getStrategy(task.strategy);
  if (strategy.kind !== 'per-volume') throw new Error(`strategy ${task.strategy} does not select per volume`);
  return { kind: 'select', slices: strategy.select(task.volume, task.k, random, task.options) };
}

parentPort!.on('message', ({ id, task }: TaskMessage) => {
  let reply: ReplyMessage;
  try {
    reply = { id, result: run(task) };
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});

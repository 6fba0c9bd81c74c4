/**
 * Entry of one cell's child process (forked by the local pool): loads the executor module named in the
 * first message, runs one cell, reports progress and the result over IPC, and exits. If the coordinator
 * dies, the IPC channel closes and the process exits too, so no orphan keeps training.
 */
import { pathToFileURL } from 'node:url';
import { isUserError } from '../io/errors.js';
import type { CellExecutorModule, CellSpec } from './types.js';
import type { QueueContext } from './queue.js';

export interface RunCellMessage {
  type: 'run';
  executorModule: string;
  cell: CellSpec;
  context: Omit<QueueContext, 'maxAttempts'> & { threads: number };
}

export type CellProcessMessage =
  | { type: 'progress'; fraction: number; message: string }
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string; stack?: string; userError: boolean };

function send(message: CellProcessMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, undefined, {}, (err) => (err ? reject(err) : resolve())));
}

async function run(message: RunCellMessage): Promise<void> {
  try {
    const module = (await import(pathToFileURL(message.executorModule).href)) as Partial<CellExecutorModule>;
    if (typeof module.executeCell !== 'function') throw new Error(`executor module ${message.executorModule} does not export executeCell`);
    let lastSent = 0;
    const result = await module.executeCell(message.cell, {
      ...message.context,
      onProgress: (fraction, text) => {
        // At most ~5 messages a second: progress must never cost the cell time.
        const now = Date.now();
        if (now - lastSent < 200 && fraction < 1) return;
        lastSent = now;
        process.send!({ type: 'progress', fraction, message: text } satisfies CellProcessMessage);
      },
    });
    await send({ type: 'result', result });
    process.exit(0);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    await send({ type: 'error', message: e.message.split('\n')[0], stack: e.stack, userError: isUserError(err) }).catch(() => undefined);
    process.exit(1);
  }
}

if (!process.send) {
  process.stderr.write('cell-process: must be started by the study runner (child_process.fork)\n');
  process.exit(2);
}
process.on('disconnect', () => process.exit(3));
process.once('message', (message: RunCellMessage) => void run(message));

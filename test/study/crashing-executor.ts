/**
 * The fake executor (fake-executor.ts) plus a cell that crashes every time with an ordinary error (not a
 * UserError), so the queue retries it until its attempts run out. FAKE_CRASH="strategy:seed" picks it.
 */
import type { CellExecutor } from '../../src/study/types.js';
import { executeCell as fakeExecuteCell } from './fake-executor.js';

export const executeCell: CellExecutor = async (cell, context) => {
  const [strategy, seed] = (process.env.FAKE_CRASH ?? '').split(':');
  if (strategy && cell.config.strategy === strategy && String(cell.config.seed) === seed) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    throw new Error(`simulated crash (${strategy}, seed ${seed})`);
  }
  return fakeExecuteCell(cell, context);
};

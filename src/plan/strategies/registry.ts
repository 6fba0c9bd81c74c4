/** Every slice-selection strategy, by name. A new strategy is one file and one line here. */
import { UserError } from '../../io/errors.js';
import { fixedIntervalStrategy } from './fixed-interval.js';
import { randomStrategy } from './random.js';
import type { Strategy } from './types.js';
import { ualCoresetStrategy } from './ual-coreset.js';
import { ualPooledStrategy } from './ual-pooled.js';
import { ualStrategy } from './ual.js';

export const STRATEGIES: readonly Strategy[] = [randomStrategy, fixedIntervalStrategy, ualStrategy, ualCoresetStrategy, ualPooledStrategy];

export const STRATEGY_NAMES = STRATEGIES.map((s) => s.name);

export function getStrategy(name: string): Strategy {
  const found = STRATEGIES.find((s) => s.name === name);
  if (!found) throw new UserError(`unknown strategy "${name}" (use ${STRATEGY_NAMES.join(', ')})`, '--strategy');
  return found;
}

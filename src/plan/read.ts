import { readValidatedJson } from '../io/json.js';
import { planSchema, type Plan } from './types.js';

/** Read and validate a plan.json written by `slicewise plan`. */
export function readPlanFile(path: string): Promise<Plan> {
  return readValidatedJson(path, planSchema, 'a slicewise plan');
}

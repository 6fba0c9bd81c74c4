/**
 * StudyConfig: the study's design as validated data. A config is one factorial block (budgets ×
 * allocations × strategies × interpolations × models, at the top level) or several named blocks under
 * `experiments` (the findings preset tests each finding with its own small block); seeds, the split and the
 * training schedule are shared. An invalid config is a UserError naming the field path, e.g.
 * `study.json: budgets[2]: must be a positive integer or a fraction in (0, 1]`.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError, fileSystemError } from '../io/errors.js';
import { MODEL_KINDS, STUDY_INTERPOLATIONS, STUDY_STRATEGIES } from './types.js';

/** A budget: an integer number of slices, or a fraction in (0, 1] of all training slices (1 = all of them). */
const BUDGET_MESSAGE = 'must be a positive integer or a fraction in (0, 1]';
export const budgetSchema = z.number({ error: BUDGET_MESSAGE }).refine((v) => v > 0 && (v <= 1 || Number.isSafeInteger(v)), BUDGET_MESSAGE);

const positiveInt = () => z.number({ error: 'must be a positive integer' }).refine((v) => Number.isSafeInteger(v) && v > 0, 'must be a positive integer');

const ALLOCATION_MESSAGE = 'must be "spread", {"volumes": s}, {"volumesFraction": f} or {"slicesPerVolume": k}';
/**
 * How a budget is spread, before it is resolved against a budget and the split: as many volumes as the
 * budget allows ("spread", the first finding's advice), s volumes, a fraction of the training volumes, or k
 * slices per volume.
 */
export const allocationSchema = z.union([
  z.literal('spread'),
  z.strictObject({ volumes: positiveInt() }),
  z.strictObject({ volumesFraction: z.number({ error: 'must be in (0, 1]' }).refine((v) => v > 0 && v <= 1, 'must be in (0, 1]') }),
  z.strictObject({ slicesPerVolume: positiveInt() }),
], { error: ALLOCATION_MESSAGE });
export type AllocationChoice = z.infer<typeof allocationSchema>;

/** A non-empty list of distinct values. */
function distinctList<T extends z.ZodType>(item: T, what: string) {
  return z.array(item, { error: `must be a list of ${what}` })
    .min(1, `must list at least one of ${what}`)
    .refine((list) => new Set(list.map((v) => JSON.stringify(v))).size === list.length, 'must not repeat a value');
}

const enumOf = <T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of ${values.join(', ')}` });

const factorShape = {
  budgets: distinctList(budgetSchema, 'budgets'),
  allocations: distinctList(allocationSchema, 'allocations'),
  strategies: distinctList(enumOf(STUDY_STRATEGIES), 'strategies'),
  interpolations: distinctList(enumOf(STUDY_INTERPOLATIONS), 'interpolations'),
  models: distinctList(enumOf(MODEL_KINDS), 'models'),
};

export const experimentSchema = z.strictObject({
  /** What the block tests, e.g. "allocation"; shown in the report. */
  name: z.string({ error: 'must be a string' }).min(1, 'must not be empty'),
  ...factorShape,
});
export type Experiment = z.infer<typeof experimentSchema>;

export const splitConfigSchema = z.union([
  z.strictObject({
    seed: z.number({ error: 'must be an integer' }).refine(Number.isSafeInteger, 'must be an integer').default(0),
    testFraction: z.number({ error: 'must be a number in (0, 1)' }).refine((v) => v > 0 && v < 1, 'must be a number in (0, 1)').default(0.2),
  }),
  z.strictObject({ file: z.string({ error: 'must be a path' }).min(1, 'must be a path') }),
], { error: 'must be {"seed": n, "testFraction": f} or {"file": "split.json"}' });

const sharedShape = {
  /** Dataset folder; the CLI's <dataset> argument overrides it. */
  dataset: z.string({ error: 'must be a path' }).min(1, 'must be a path').optional(),
  split: splitConfigSchema.default({ seed: 0, testFraction: 0.2 }),
  axis: z.union([z.enum(['axial', 'sagittal', 'coronal']), z.literal(0), z.literal(1), z.literal(2)], { error: 'must be axial, sagittal, coronal, 0, 1 or 2' }).default('axial'),
  seeds: z.array(z.number({ error: 'must be an integer' }).refine(Number.isSafeInteger, 'must be an integer'), { error: 'must be a list of integers' })
    .min(3, 'must list at least 3 seeds')
    .refine((s) => new Set(s).size === s.length, 'must not repeat a seed'),
  /** The training schedule (steps, batch size, ...): opaque here, passed to the executor unchanged. */
  training: z.record(z.string(), z.unknown(), { error: 'must be an object' }).default({}),
  /** Attempts per cell before it is recorded as failed (a crash or an error). */
  maxAttempts: positiveInt().default(1),
};

const blocksSchema = z.strictObject({
  ...sharedShape,
  experiments: z.array(experimentSchema, { error: 'must be a list of experiments' }).min(1, 'must list at least one experiment')
    .refine((list) => new Set(list.map((e) => e.name)).size === list.length, 'experiment names must be distinct'),
});

const flatSchema = z.strictObject({ ...sharedShape, ...factorShape });

export type StudyConfig = z.infer<typeof blocksSchema>;
export type StudyAxis = StudyConfig['axis'];

/** `budgets[2]`, `experiments[0].models`, `split.seed`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out;
}

/** Validate a parsed config. `source` names it in errors (a file path, or "preset quick"). */
export function parseStudyConfig(raw: unknown, source: string): StudyConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError('must be a JSON object', source);
  const blocks = 'experiments' in raw;
  const result = blocks ? blocksSchema.safeParse(raw) : flatSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    // A union reports its own message on the union's path; unrecognized keys name the key.
    const where = formatPath(issue.path);
    const message = issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    throw new UserError(where ? `${where}: ${message}` : message, source);
  }
  if (blocks) return result.data as StudyConfig;
  const { budgets, allocations, strategies, interpolations, models, ...shared } = result.data as z.infer<typeof flatSchema>;
  return { ...shared, experiments: [{ name: 'factorial', budgets, allocations, strategies, interpolations, models }] };
}

export async function loadStudyConfig(path: string): Promise<StudyConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fileSystemError(err, path);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`is not valid JSON (${(err as Error).message})`, path);
  }
  return parseStudyConfig(raw, path);
}

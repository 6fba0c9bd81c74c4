/**
 * The fixed, seeded train/test split of a dataset's labelled cases: a seeded shuffle of the ids (sorted
 * first, so the split depends only on the ids and the seed), written once to a file that training,
 * prediction, evaluation and the study all reuse. A split file given by the user is checked against the
 * dataset's cases.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError, fileSystemError } from '../io/errors.js';
import { writeFileAtomic } from '../io/read.js';
import { Random } from '../util/random.js';

export interface Split {
  format: 'slicewise-split';
  version: 1;
  /** Seed of the shuffle; null when the split was given as a file without one. */
  seed: number | null;
  testFraction: number | null;
  train: string[];
  test: string[];
}

const splitFileSchema = z.object({
  format: z.literal('slicewise-split').optional(),
  version: z.literal(1).optional(),
  seed: z.number().int().nullable().optional(),
  testFraction: z.number().nullable().optional(),
  train: z.array(z.string().min(1)).min(1),
  test: z.array(z.string().min(1)).min(1),
});

export function makeSplit(caseIds: readonly string[], seed = 0, testFraction = 0.2): Split {
  const ids = [...new Set(caseIds)].sort();
  const testCount = Math.round(ids.length * testFraction);
  if (ids.length < 2 || testCount < 1 || testCount >= ids.length) {
    throw new UserError(`${ids.length} labelled cases cannot be split ${Math.round((1 - testFraction) * 100)}/${Math.round(testFraction * 100)} into non-empty train and test sets`, 'split');
  }
  const shuffled = new Random(seed).shuffle(ids);
  return {
    format: 'slicewise-split', version: 1, seed, testFraction,
    train: shuffled.slice(testCount).sort(),
    test: shuffled.slice(0, testCount).sort(),
  };
}

/** Read a split file; with `caseIds`, every id must be one of them. */
export async function readSplit(path: string, caseIds?: readonly string[]): Promise<Split> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new UserError(`is not valid JSON (${err.message})`, path);
    throw fileSystemError(err, path);
  }
  const parsed = splitFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${issue.path.join('.') || 'split'}: ${issue.message} (expected {"train": [ids], "test": [ids]})`, path);
  }
  const { train, test } = parsed.data;
  const known = caseIds ? new Set(caseIds) : null;
  for (const id of [...train, ...test]) {
    if (known && !known.has(id)) throw new UserError(`case "${id}" is not a labelled case of the dataset`, path);
  }
  const trainSet = new Set(train);
  const overlap = test.find((id) => trainSet.has(id));
  if (overlap) throw new UserError(`case "${overlap}" is in both train and test`, path);
  if (trainSet.size !== train.length || new Set(test).size !== test.length) throw new UserError('a case is listed twice', path);
  return { format: 'slicewise-split', version: 1, seed: parsed.data.seed ?? null, testFraction: parsed.data.testFraction ?? null, train: [...train].sort(), test: [...test].sort() };
}

export async function writeSplit(split: Split, path: string): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(split, null, 2) + '\n');
}

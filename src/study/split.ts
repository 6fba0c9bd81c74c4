/**
 * The study's fixed train/test split: a seeded shuffle of the labelled cases (sorted by id first, so the
 * split depends only on the ids and the seed), written once to `<study>/split.json` and reused by every
 * cell and every resume. A split file given by the user is checked against the dataset.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Dataset } from '../io/dataset.js';
import { UserError, fileSystemError } from '../io/errors.js';
import { resolveAxis, type AxisChoice } from '../io/geometry.js';
import { readVolume, writeFileAtomic } from '../io/read.js';
import { Random } from '../util/random.js';
import type { StudySplit } from './types.js';

const splitFileSchema = z.object({
  format: z.literal('slicewise-split').optional(),
  version: z.literal(1).optional(),
  seed: z.number().int().nullable().optional(),
  testFraction: z.number().nullable().optional(),
  train: z.array(z.string().min(1)).min(1),
  test: z.array(z.string().min(1)).min(1),
});

export function labelledCaseIds(dataset: Dataset): string[] {
  return dataset.cases.filter((c) => c.labelPath).map((c) => c.id).sort();
}

export function makeSplit(caseIds: readonly string[], seed: number, testFraction: number): StudySplit {
  const ids = [...caseIds].sort();
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

/** Read a split file and check it against the dataset's labelled cases. */
export async function readSplit(path: string, caseIds: readonly string[]): Promise<StudySplit> {
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
  const known = new Set(caseIds);
  const { train, test } = parsed.data;
  for (const id of [...train, ...test]) {
    if (!known.has(id)) throw new UserError(`case "${id}" is not a labelled case of the dataset`, path);
  }
  const trainSet = new Set(train);
  const overlap = test.find((id) => trainSet.has(id));
  if (overlap) throw new UserError(`case "${overlap}" is in both train and test`, path);
  if (trainSet.size !== train.length || new Set(test).size !== test.length) throw new UserError('a case is listed twice', path);
  return { format: 'slicewise-split', version: 1, seed: parsed.data.seed ?? null, testFraction: parsed.data.testFraction ?? null, train: [...train].sort(), test: [...test].sort() };
}

export async function writeSplit(split: StudySplit, path: string): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(split, null, 2) + '\n');
}

/** Slices along the study's axis for each training case (images only, a few read at once). */
export async function trainingSliceCounts(dataset: Dataset, split: StudySplit, axis: AxisChoice, concurrency = 4): Promise<number[]> {
  const byId = new Map(dataset.cases.map((c) => [c.id, c]));
  const counts = new Array<number>(split.train.length);
  let next = 0;
  const worker = async () => {
    while (next < split.train.length) {
      const i = next++;
      const c = byId.get(split.train[i]);
      if (!c) throw new UserError(`case "${split.train[i]}" of the split is not in the dataset`, dataset.root);
      const volume = await readVolume(c.imagePaths[0], { requireFinite: false });
      counts[i] = volume.shape[resolveAxis(axis, volume.direction)];
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, split.train.length) }, worker));
  return counts;
}

/**
 * The fixed, seeded train/test split of a dataset's labelled cases, written once to a file that training,
 * evaluation and the study all reuse (so every cell of a study is tested on the same cases).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../io/errors.js';
import { writeFileAtomic } from '../io/read.js';
import { Random } from '../util/random.js';

export const splitSchema = z.object({
  format: z.literal('slicewise-split'),
  version: z.literal(1),
  seed: z.number().int(),
  testFraction: z.number().gt(0).lt(1),
  train: z.array(z.string()),
  test: z.array(z.string()),
});
export type Split = z.infer<typeof splitSchema>;

/** Seeded split of case ids: ids are sorted first, so the split does not depend on listing order. */
export function makeSplit(caseIds: string[], options: { seed?: number; testFraction?: number } = {}): Split {
  const seed = options.seed ?? 0;
  const testFraction = options.testFraction ?? 0.2;
  const ids = [...new Set(caseIds)].sort();
  if (ids.length < 2) throw new UserError(`a train/test split needs at least 2 labelled cases, found ${ids.length}`);
  const shuffled = new Random(seed).shuffle(ids);
  const nTest = Math.min(ids.length - 1, Math.max(1, Math.round(ids.length * testFraction)));
  return {
    format: 'slicewise-split', version: 1, seed, testFraction,
    train: shuffled.slice(nTest).sort(),
    test: shuffled.slice(0, nTest).sort(),
  };
}

export async function writeSplit(split: Split, path: string): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(split, null, 2) + '\n');
}

export async function readSplit(path: string): Promise<Split> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new UserError(`is not a readable split file (${(err as Error).message.split('\n')[0]})`, path);
  }
  const parsed = splitSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${issue.path.join('.') || 'split'}: ${issue.message}`, path);
  }
  return parsed.data;
}

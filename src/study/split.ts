/**
 * The study's side of the fixed train/test split (made, read and written by src/train/split.ts, which
 * `slicewise split` and `train --split` use too): written once to `<study>/split.json` and reused by
 * every cell and every resume.
 */
import type { Dataset } from '../io/dataset.js';
import { UserError, isUserError } from '../io/errors.js';
import { resolveAxis, type AxisChoice } from '../io/geometry.js';
import { readVolume } from '../io/read.js';
export { makeSplit, readSplit, writeSplit } from '../train/split.js';
import type { StudySplit } from './types.js';

export function labelledCaseIds(dataset: Dataset): string[] {
  return dataset.cases.filter((c) => c.labelPath).map((c) => c.id).sort();
}

/**
 * Slices along the study's axis for each training case (images only, a few read at once). An unreadable
 * image counts 0 slices and is reported: the planner leaves such a case out of every cell too.
 */
export async function trainingSliceCounts(dataset: Dataset, split: StudySplit, axis: AxisChoice, onUnreadable: (message: string) => void = () => undefined, concurrency = 4): Promise<number[]> {
  const byId = new Map(dataset.cases.map((c) => [c.id, c]));
  const counts = new Array<number>(split.train.length);
  let next = 0;
  const worker = async () => {
    while (next < split.train.length) {
      const i = next++;
      const c = byId.get(split.train[i]);
      if (!c) throw new UserError(`case "${split.train[i]}" of the split is not in the dataset`, dataset.root);
      try {
        const volume = await readVolume(c.imagePaths[0], { requireFinite: false });
        counts[i] = volume.shape[resolveAxis(axis, volume.direction)];
      } catch (err) {
        if (!isUserError(err)) throw err;
        counts[i] = 0;
        onUnreadable(`left out unreadable training case ${c.id}: ${err.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, split.train.length) }, worker));
  return counts;
}

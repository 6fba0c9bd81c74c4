import type { Command } from 'commander';
import { discoverDataset } from '../io/dataset.js';
import { makeSplit, writeSplit } from '../train/split.js';
import { parseIntOption, parseNumberOption } from './common.js';
import { UserError } from '../io/errors.js';

export function registerSplit(program: Command): void {
  program
    .command('split')
    .description('write the fixed, seeded train/test split of a dataset\'s labelled cases (reused by train, predict, evaluate and study)')
    .argument('<dataset>', 'dataset folder')
    .option('--test-fraction <f>', 'fraction of labelled cases held out for testing', parseNumberOption('--test-fraction'), 0.2)
    .option('--seed <n>', 'random seed of the split', parseIntOption('--seed'), 0)
    .option('--out <file>', 'where to write the split', 'split.json')
    .action(async (dataset: string, opts: { testFraction: number; seed: number; out: string }) => {
      if (!(opts.testFraction > 0 && opts.testFraction < 1)) throw new UserError('must be between 0 and 1 (exclusive)', '--test-fraction');
      const ds = await discoverDataset(dataset);
      const split = makeSplit(ds.cases.filter((c) => c.labelPath).map((c) => c.id), opts.seed, opts.testFraction);
      await writeSplit(split, opts.out);
      process.stdout.write(`split ${split.train.length} training / ${split.test.length} test cases (seed ${split.seed}) → ${opts.out}\n`);
    });
}

import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { UserError } from '../io/errors.js';
import { BullMqCellQueue } from '../study/bullmq-queue.js';
import { loadStudyConfig, type StudyConfig } from '../study/config.js';
import { isPresetName, presetConfig, PRESET_NAMES } from '../study/presets.js';
import { formatDuration } from '../study/progress.js';
import { runStudy } from '../study/runner.js';
import { parseIntOption } from './common.js';

interface StudyCliOptions {
  preset?: string;
  config?: string;
  workers: number;
  out?: string;
  resume?: boolean;
  queue?: string;
}

export function registerStudy(program: Command): void {
  program
    .command('study')
    .description('run the slice-selection study (budgets × allocations × strategies × interpolation × models × seeds) on a labelled dataset')
    .argument('<dataset>', 'labelled dataset folder (MSD / nnU-Net layout, image and label folders, ...)')
    .option('--preset <name>', `built-in design: ${PRESET_NAMES.join(', ')}`)
    .option('--config <file>', 'study.json with the design (instead of --preset)')
    .option('--workers <n>', 'cells run at once, each in its own process', parseIntOption('--workers', 1), availableParallelism())
    .option('--out <dir>', 'study folder (results store, split, logs, report)', './study-<preset or config name>')
    .option('--resume', 'continue a study folder: finished cells are skipped, interrupted ones rerun', false)
    .option('--queue <url>', 'run cells on `slicewise worker` processes through Redis (redis://[:password@]host:port[/db] or rediss://) instead of local processes (default: local processes)')
    .action(async (dataset: string, options: StudyCliOptions) => {
      if (!!options.preset === !!options.config) throw new UserError('give exactly one of --preset or --config', '--preset');
      let config: StudyConfig;
      let name: string;
      if (options.preset) {
        if (!isPresetName(options.preset)) throw new UserError(`unknown preset "${options.preset}" (use ${PRESET_NAMES.join(', ')})`, '--preset');
        config = presetConfig(options.preset);
        name = options.preset;
      } else {
        config = await loadStudyConfig(options.config!);
        name = options.config!.replace(/^.*\//, '').replace(/\.json$/i, '');
      }
      const outDir = options.out && options.out !== './study-<preset or config name>' ? options.out : `./study-${name}`;
      const onInfo = (message: string) => process.stderr.write(message + '\n');
      const queue = options.queue ? await BullMqCellQueue.open(options.queue, { onWarning: onceEvery(10_000, onInfo) }) : undefined;
      let summary;
      try {
        summary = await runStudy(config, { dataset, outDir, workers: options.workers, resume: options.resume, queue, onInfo });
      } finally {
        await queue?.close();
      }
      process.stdout.write(`${summary.done} cells done in this run, ${summary.alreadyDone} before, ${summary.failed} failed, of ${summary.cells} ` +
        `(${formatDuration(summary.seconds)}). Results: ${summary.storePath}\nNext: slicewise report ${summary.outDir}\n`);
      if (summary.failed > 0) process.exitCode = 1;
    });
}

/** The same message at most once per `ms` (Redis reconnect errors repeat while it restarts). */
function onceEvery(ms: number, print: (message: string) => void): (message: string) => void {
  const last = new Map<string, number>();
  return (message) => {
    const now = Date.now();
    if (now - (last.get(message) ?? -Infinity) < ms) return;
    last.set(message, now);
    print(message);
  };
}

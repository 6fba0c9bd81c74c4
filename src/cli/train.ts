import type { Command } from 'commander';
import { UserError } from '../io/errors.js';
import { parseAxisChoice } from '../io/geometry.js';
import { readPlanFile } from '../plan/read.js';
import { readSplit } from '../train/split.js';
import { train } from '../train/train.js';
import { predictImages } from '../train/predict.js';
import { parseIntOption, parseNumberOption } from './common.js';


function progressLine(text: string, final = false): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
  else process.stderr.write(text + '\n');
}

interface TrainCliOptions {
  plan?: string; interpolation: string; interpolatedWeight: number; model: string; steps?: number; epochs?: number;
  batchSize?: number; seed: number; device: string; out: string; split?: string; threads: number;
  validateEvery?: number; earlyStop: number; augment: boolean; axis?: string; optimizer?: string; learningRate?: number; overwrite: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a 2D or 3D U-Net from sparse (planned) or full annotations')
    .argument('<dataset>', 'dataset folder with images and (dense) labels')
    .option('--plan <plan.json>', 'train only on the planned slices of the planned cases (default: full supervision)')
    .option('--interpolation <method>', 'fill between planned slices: none, mci, sdf or nearest', 'none')
    .option('--interpolated-weight <w>', 'loss weight of interpolated voxels, 0..1', parseNumberOption('--interpolated-weight'), 1)
    .requiredOption('--model <2d|3d>', '2d (slices along the slicing axis) or 3d (patches)')
    .option('--steps <n>', 'training steps (default: 1500 for 2d, 800 for 3d)', parseIntOption('--steps', 1))
    .option('--epochs <n>', 'alternative to --steps: passes over the training slices (2d: annotated, or every labelled slice without a plan) or cases (3d)', parseIntOption('--epochs', 1))
    .option('--batch-size <n>', 'samples per step (default: 16 for 2d, 2 for 3d)', parseIntOption('--batch-size', 1))
    .option('--optimizer <name>', 'adam or sgd (Nesterov, poly decay)')
    .option('--learning-rate <lr>', 'initial learning rate (default 3e-3)', parseNumberOption('--learning-rate'))
    .option('--seed <n>', 'random seed: the same seed on CPU gives the same model', parseIntOption('--seed'), 0)
    .option('--split <split.json>', 'train on the split\'s training cases only (slicewise study writes one)')
    .option('--device <device>', 'cpu, or cuda with a CUDA libtorch build (LIBTORCH=<dir>)', 'cpu')
    .option('--threads <n>', 'CPU threads for the engine', parseIntOption('--threads', 1), 2)
    .option('--validate-every <n>', 'steps between validations (default: steps/8, at least 25)', parseIntOption('--validate-every', 1))
    .option('--early-stop <n>', 'stop after n validations without improvement (0: never)', parseIntOption('--early-stop', 0), 0)
    .option('--no-augment', 'turn off augmentation (flips, rotations, scaling, intensity jitter)')
    .option('--axis <axis>', 'slicing axis for 2d without a plan: axial (default), coronal, sagittal, 0, 1 or 2; with a plan, the plan\'s axis')
    .requiredOption('--out <run-dir>', 'run folder to write (config, log, checkpoint, metrics)')
    .option('--overwrite', 'replace the run folder if it exists (only once the new run is complete)', false)
    .action(async (dataset: string, opts: TrainCliOptions) => {
      if (opts.model !== '2d' && opts.model !== '3d') throw new UserError(`must be 2d or 3d, got "${opts.model}"`, '--model');
      if (!['none', 'mci', 'sdf', 'nearest'].includes(opts.interpolation)) throw new UserError(`must be none, mci, sdf or nearest, got "${opts.interpolation}"`, '--interpolation');
      // Numeric options are checked here, before any case is loaded: a bad value is one line, not a native error later.
      if (opts.learningRate !== undefined && !(opts.learningRate > 0)) throw new UserError(`must be a positive number, got ${opts.learningRate}`, '--learning-rate');
      if (!(opts.interpolatedWeight >= 0 && opts.interpolatedWeight <= 1)) throw new UserError('must be between 0 and 1', '--interpolated-weight');
      if (opts.device !== 'cpu' && opts.device !== 'cuda') throw new UserError(`must be cpu or cuda, got "${opts.device}"`, '--device');
      if (opts.optimizer !== undefined && opts.optimizer !== 'adam' && opts.optimizer !== 'sgd') throw new UserError(`must be adam or sgd, got "${opts.optimizer}"`, '--optimizer');
      const plan = opts.plan ? await readPlanFile(opts.plan) : null;
      const split = opts.split ? await readSplit(opts.split) : null;
      let lastPrinted = 0;
      const result = await train(dataset, opts.out, {
        model: opts.model, overwrite: opts.overwrite, plan, planPath: opts.plan ?? null, caseIds: split?.train,
        interpolation: opts.interpolation as 'none', interpolatedWeight: opts.interpolatedWeight,
        steps: opts.steps, epochs: opts.epochs, batchSize: opts.batchSize, seed: opts.seed, device: opts.device as 'cpu', threads: opts.threads,
        validateEvery: opts.validateEvery, earlyStopPatience: opts.earlyStop, augment: opts.augment,
        axis: opts.axis === undefined ? undefined : parseAxisChoice(opts.axis),
        optimizer: opts.optimizer as 'adam' | undefined, learningRate: opts.learningRate,
        onProgress: (p) => {
          const now = Date.now();
          if (p.step !== p.steps && now - lastPrinted < (process.stderr.isTTY ? 200 : 5000)) return;
          lastPrinted = now;
          if (p.phase === 'loading') progressLine(`loading cases ${p.step}/${p.steps}`, p.step === p.steps);
          else progressLine(`step ${p.step}/${p.steps} loss ${p.loss?.toFixed(4)} val Dice ${p.validationDice === null ? 'n/a' : p.validationDice.toFixed(3)} ETA ${Math.round(p.etaSeconds ?? 0)} s`, p.step === p.steps);
        },
      });
      process.stdout.write(`trained ${result.config.model} U-Net for ${result.steps} steps in ${result.seconds.toFixed(1)} s; ` +
        `best validation Dice ${result.bestValidationDice === null ? 'n/a (no validation cases)' : result.bestValidationDice.toFixed(4)}; run folder ${result.runDir}\n`);
    });

  program
    .command('predict')
    .description('predict label maps (NIfTI, the input\'s geometry) with a trained run')
    .argument('<run-dir>', 'run folder written by slicewise train')
    .argument('<images>', 'dataset folder, folder of volumes, or one volume')
    .requiredOption('--out <dir>', 'folder for the predicted CASE.nii.gz label maps')
    .option('--overwrite', 'write into the folder even if it already holds label maps (of another run, perhaps)', false)
    .option('--split <split.json>', 'predict only the split\'s test cases')
    .action(async (runDir: string, images: string, opts: { out: string; split?: string; overwrite: boolean }) => {
      const split = opts.split ? await readSplit(opts.split) : null;
      let last = 0;
      const result = await predictImages(runDir, images, opts.out, {
        caseIds: split?.test, overwrite: opts.overwrite,
        onProgress: (done, total) => {
          if (done !== total && Date.now() - last < 2000) return;
          last = Date.now();
          progressLine(`predicted ${done}/${total}`, done === total);
        },
      });
      for (const f of result.failed) process.stderr.write(`slicewise: skipped ${f.error}\n`);
      process.stdout.write(`wrote ${result.outputs.length} label maps to ${opts.out}${result.failed.length ? `, ${result.failed.length} failed` : ''}\n`);
      if (result.outputs.length === 0) process.exitCode = 2;
    });
}

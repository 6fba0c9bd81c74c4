/**
 * npm run bench -- train [quick]: Dice on the fixed 80/20 hippocampus split (seed 0), wall time, steps and
 * peak memory for
 *   - full annotation, 2D and 3D, the default (long) schedule: targets mean Dice ≥ 0.83 (2D), ≥ 0.85 (3D);
 *   - study-sized schedules (what the study presets use) on full annotation, and on a fixed-interval plan at
 *     density 1/5 with and without mci interpolation: the drop against full annotation.
 * Yardstick: nnU-Net's published Dice on this task (about 0.90 anterior, 0.89 posterior; ratio = ours / theirs).
 * Each line carries issue 6's targets: wall time per job (study schedules ≤ 120 s 2D, ≤ 300 s 3D, as a study
 * cell on this 2-core machine; full schedules ≤ 1200 s) and, for full annotation on the full schedule, Dice
 * (≥ 0.83 2D, ≥ 0.85 3D); `under_target` is true when every target of the line is met.
 * Each configuration trains in its own child process so peak memory is per configuration; the bench exits 1
 * when any job fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discoverDataset, loadCase } from '../src/io/dataset.js';
import { caseMetrics } from '../src/evaluate/metrics.js';
import { makePlan } from '../src/plan/plan.js';
import { makeSplit } from '../src/train/split.js';
import { train, type TrainOptions } from '../src/train/train.js';
import { loadRun, predictVolume } from '../src/train/predict.js';
import { STUDY_SCHEDULES } from '../src/study/cell.js';
import { trainingSliceCounts } from '../src/study/split.js';
import { peakRssMiB, printBenchLine } from './_report.js';

const DATA = resolve('../shared/data/msd-hippocampus');
const NNUNET_DICE = (0.90 + 0.89) / 2;
const TIME_TARGET_S = { study: { '2d': 120, '3d': 300 }, full: { '2d': 1200, '3d': 1200 } } as const;
const FULL_ANNOTATION_DICE_TARGET = { '2d': 0.83, '3d': 0.85 } as const;

interface Job {
  name: string;
  model: '2d' | '3d';
  schedule: 'full' | 'study';
  density: number | null;
  interpolation: 'none' | 'mci';
}

async function runJob(job: Job): Promise<void> {
  const dataset = await discoverDataset(DATA);
  const split = makeSplit(dataset.cases.filter((c) => c.labelPath).map((c) => c.id), 0, 0.2);
  const work = mkdtempSync(join(tmpdir(), 'slicewise-bench-train-'));
  const started = performance.now();
  try {
    let plan = null;
    if (job.density !== null) {
      // Every training volume at density ρ: the budget is Σ max(1, round(ρ · slices)).
      const counts = await trainingSliceCounts(dataset, split, 'axial');
      const budget = counts.reduce((sum, n) => sum + Math.max(1, Math.round(job.density! * n)), 0);
      plan = await makePlan(DATA, { budget, allocation: { kind: 'density', density: job.density }, strategy: 'fixed-interval', seed: 0, caseIds: split.train });
    }
    const options: TrainOptions = {
      model: job.model, caseIds: split.train, plan, interpolation: job.interpolation, seed: 0, threads: 2,
      ...(job.schedule === 'study' ? STUDY_SCHEDULES[job.model] : {}),
    };
    const result = await train(DATA, join(work, 'run'), options);
    const run = await loadRun(join(work, 'run'));
    let anterior = 0, posterior = 0;
    for (const id of split.test) {
      const { image, label } = await loadCase(dataset, dataset.cases.find((c) => c.id === id)!);
      const [a, p] = caseMetrics(await predictVolume(run, image), label!, [1, 2]);
      anterior += a.dice;
      posterior += p.dice;
    }
    const n = split.test.length;
    const dice = (anterior + posterior) / (2 * n);
    const wallSeconds = (performance.now() - started) / 1000;
    // Wall time covers what a study cell does: plan, train, predict and score the test split.
    const timeTarget = TIME_TARGET_S[job.schedule][job.model];
    const diceTarget = job.schedule === 'full' && job.density === null ? FULL_ANNOTATION_DICE_TARGET[job.model] : null;
    const timeUnder = wallSeconds <= timeTarget;
    const diceMet = diceTarget === null ? null : dice >= diceTarget;
    printBenchLine(
      { bench: 'train', metric: `${job.name} mean Dice`, slicewise: dice, yardstick: 'nnU-Net published Dice', yardstick_value: NNUNET_DICE },
      {
        dice_anterior: Number((anterior / n).toFixed(4)), dice_posterior: Number((posterior / n).toFixed(4)),
        steps: result.steps, train_seconds: Number(result.seconds.toFixed(1)), wall_seconds: Number(wallSeconds.toFixed(1)),
        annotated_slices: plan ? plan.cases.reduce((s, c) => s + c.slices.length, 0) : null, peak_rss_mib: peakRssMiB(),
        time_target_s: timeTarget, time_under_target: timeUnder, dice_target: diceTarget, dice_meets_target: diceMet,
        under_target: timeUnder && diceMet !== false,
      },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const JOBS: Job[] = [
  { name: '2d full annotation, default schedule', model: '2d', schedule: 'full', density: null, interpolation: 'none' },
  { name: '3d full annotation, default schedule', model: '3d', schedule: 'full', density: null, interpolation: 'none' },
  { name: '2d full annotation, study schedule', model: '2d', schedule: 'study', density: null, interpolation: 'none' },
  { name: '2d fixed-interval 1/5, study schedule', model: '2d', schedule: 'study', density: 0.2, interpolation: 'none' },
  { name: '2d fixed-interval 1/5 + mci, study schedule', model: '2d', schedule: 'study', density: 0.2, interpolation: 'mci' },
  { name: '3d full annotation, study schedule', model: '3d', schedule: 'study', density: null, interpolation: 'none' },
  { name: '3d fixed-interval 1/5, study schedule', model: '3d', schedule: 'study', density: 0.2, interpolation: 'none' },
  { name: '3d fixed-interval 1/5 + mci, study schedule', model: '3d', schedule: 'study', density: 0.2, interpolation: 'mci' },
];

const child = process.env.SLICEWISE_BENCH_TRAIN_JOB;
if (child !== undefined) {
  await runJob(JOBS[Number(child)]);
} else {
  if (!existsSync(DATA)) {
    console.error(`bench train: dataset not found at ${DATA}`);
    process.exit(2);
  }
  // `quick`: the study-sized jobs only; a list of indices picks jobs.
  const arg = process.argv[2];
  const picked = arg === 'quick' ? [2, 3, 4, 5, 6, 7] : arg ? arg.split(',').map(Number) : JOBS.map((_, i) => i);
  const unknown = picked.filter((i) => !JOBS[i]);
  if (unknown.length > 0) {
    console.error(`bench train: no job ${unknown.join(', ')} (jobs 0..${JOBS.length - 1}, or quick)`);
    process.exit(2);
  }
  const failed: number[] = [];
  for (const i of picked) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], { stdio: 'inherit', env: { ...process.env, SLICEWISE_BENCH_TRAIN_JOB: String(i) } });
    if (r.status !== 0) {
      console.error(`bench train: job ${i} (${JOBS[i].name}) failed (${r.error?.message ?? (r.signal ? `signal ${r.signal}` : `exit ${r.status}`)})`);
      failed.push(i);
    }
  }
  if (failed.length > 0) process.exitCode = 1;
}

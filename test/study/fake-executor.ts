/**
 * A deterministic stand-in for the real cell executor, for testing the runner, store, resume and report
 * without training anything. Dice is a function of the cell's config and the test case (a case difficulty
 * shared by all cells, an allocation effect that favours more volumes, a small 3D gain from interpolation
 * at high density, and seeded per-cell noise), so every run of a cell gives the same numbers.
 * Environment: FAKE_CELL_MS (sleep per cell, with progress), FAKE_FAIL ("strategy:seed", e.g. "ual:2":
 * those cells throw a UserError), FAKE_FINDINGS=contrary (a dataset where none of the three findings holds:
 * fewer volumes win, ual and ual-coreset beat random, random beats fixed-interval, interpolation always helps).
 */
import { UserError } from '../../src/io/errors.js';
import type { CaseResult, CellExecutor } from '../../src/study/types.js';
import { Random, hashString } from '../../src/util/random.js';

type FakeConfig = { model: string; strategy: string; interpolation: string; seed: number; budget: number };

/** Effects of the paper's findings (the default) or their opposites (FAKE_FINDINGS=contrary), in Dice. */
function effects(config: FakeConfig, volumes: number, slicesPerVolume: number, contrary: boolean): number {
  if (contrary) {
    const strategy = { ual: 0.03, 'ual-coreset': 0.03, random: 0.015 }[config.strategy] ?? 0;
    return -0.03 * Math.log10(volumes) + strategy + (config.interpolation !== 'none' ? 0.03 : 0);
  }
  const interpolation = config.model === '3d' && config.interpolation !== 'none' && slicesPerVolume >= 10 ? 0.02 : 0;
  return 0.03 * Math.log10(volumes) + interpolation;
}

export function fakeDice(config: FakeConfig, volumes: number, slicesPerVolume: number, caseId: string, label: number, cellId: string, contrary = false): number {
  const difficulty = (new Random(hashString(caseId)).next() - 0.5) * 0.2;
  const noise = (new Random(hashString(`${cellId}/${caseId}/${label}`)).next() - 0.5) * 0.04;
  const base = config.model === '3d' ? 0.8 : 0.76;
  return Math.min(1, Math.max(0, base + difficulty + effects(config, volumes, slicesPerVolume, contrary) + noise - (label === 2 ? 0.03 : 0)));
}

export const executeCell: CellExecutor = async (cell, context) => {
  const [failStrategy, failSeed] = (process.env.FAKE_FAIL ?? '').split(':');
  if (failStrategy && cell.config.strategy === failStrategy && String(cell.config.seed) === failSeed) {
    throw new UserError(`corrupt case in fake study (${failStrategy}, seed ${failSeed})`, 'fake');
  }
  const contrary = process.env.FAKE_FINDINGS === 'contrary';
  const sleepMs = Number(process.env.FAKE_CELL_MS ?? 0);
  const steps = 5;
  for (let i = 1; i <= steps && sleepMs > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, sleepMs / steps));
    context.onProgress(i / steps, `step ${i}/${steps}`);
  }
  const cases: CaseResult[] = context.split.test.map((caseId) => {
    const labels: CaseResult['labels'] = {};
    for (const label of [1, 2]) {
      const dice = fakeDice(cell.config, cell.volumes, cell.slicesPerVolume, caseId, label, cell.id, contrary);
      labels[String(label)] = { dice, iou: dice / (2 - dice), hd95: Number(((1 - dice) * 20).toFixed(3)) };
    }
    return { caseId, labels };
  });
  return {
    plan: { fake: true, budget: cell.config.budget, allocation: cell.config.allocation, seed: cell.config.seed, trainCases: context.split.train.length },
    timings: { train: sleepMs / 1000, evaluate: 0 },
    cases,
    extra: { threads: context.threads },
  };
};

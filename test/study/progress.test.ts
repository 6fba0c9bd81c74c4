import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StudyProgress } from '../../src/study/progress.js';
import type { CellConfig, CellSpec, ModelKind, StudyInterpolation, StudyStrategy } from '../../src/study/types.js';

function cell(id: string, model: ModelKind, strategy: StudyStrategy, interpolation: StudyInterpolation, seed: number, volumes: number, slicesPerVolume: number): CellSpec {
  const config: CellConfig = { budget: 150, allocation: { kind: 'volumes', volumes }, strategy, interpolation, model, seed, training: {} };
  return { id: id.repeat(16), config, volumes, slicesPerVolume };
}

const A = cell('a', '2d', 'random', 'none', 0, 10, 15);
const B = cell('b', '2d', 'fixed-interval', 'mci', 1, 150, 1);
const C = cell('c', '3d', 'ual', 'none', 2, 20, 7.5);

/** A progress display on a hand-driven clock, writing into `out`. */
function harness(mode: 'lines' | 'tty') {
  const clock = { ms: 0 };
  const out: string[] = [];
  const progress = new StudyProgress(new Map([A, B, C].map((c) => [c.id, c])), 1, 4, 2, mode, {
    write: (text) => out.push(text), now: () => clock.ms, columns: () => 60,
  });
  return { clock, out, progress };
}

describe('study progress', () => {
  it('logs one line per started and finished cell with the grid ETA (CI logs)', () => {
    const { clock, out, progress } = harness('lines');
    progress.cellStarted(A, 1);
    clock.ms = 1_000;
    progress.cellStarted(B, 2);
    clock.ms = 30_000;
    progress.progress(A.id, 0.5, 'epoch 5/10');
    // Before any cell finished: the preset estimates (1 min 2D, 3 min 3D). Left: C 180 s waiting, A half of
    // 60 s, B all of 60 s; over 2 slots: (180 + 30 + 60) / 2 = 135 s.
    assert.equal(progress.etaSeconds(), 135);
    clock.ms = 90_000;
    progress.cellFinished(A, { seconds: 90, final: true });
    clock.ms = 100_000;
    progress.cellFinished(B, { seconds: 99, error: 'out of memory', final: false });
    clock.ms = 110_000;
    progress.cellFinished(B, { seconds: 5, error: 'corrupt case', final: true });
    clock.ms = 120_000;
    progress.end();
    assert.deepEqual(out, [
      'start aaaaaaaa 2d B=150 s=10×15 random seed 0\n',
      'start bbbbbbbb 2d B=150 s=150×1 fixed-interval+mci seed 1 (attempt 2)\n',
      // A took 90 s, so a 2D cell is now expected to take 90 s: B (running 89 s, 0%) 90 s + C 180 s, over 2 slots.
      'done  aaaaaaaa 2d B=150 s=10×15 random seed 0 in 1m30s — study 2/4 cells done, 1 running, elapsed 1m30s, ETA 2m15s\n',
      // B goes back to waiting: 90 s + 180 s over 2 slots.
      'retry bbbbbbbb 2d B=150 s=150×1 fixed-interval+mci seed 1: out of memory — study 2/4 cells done, 0 running, elapsed 1m40s, ETA 2m15s\n',
      'FAILED bbbbbbbb 2d B=150 s=150×1 fixed-interval+mci seed 1: corrupt case — study 2/4 cells done, 1 failed, 0 running, elapsed 1m50s, ETA 1m30s\n',
      'study 2/4 cells done, 1 failed, 0 running, elapsed 2m00s\n',
    ]);
  });

  it('redraws one live line per running cell and the grid line in place on a terminal, at most every 250 ms', () => {
    const { clock, out, progress } = harness('tty');
    progress.cellStarted(C, 1);
    clock.ms = 100;
    progress.progress(C.id, 0.25, 'epoch 1/4'); // too soon after the last draw: not drawn
    clock.ms = 45_000;
    progress.progress(C.id, 0.5, 'epoch 2/4');
    clock.ms = 200_000;
    progress.cellFinished(C, { seconds: 200, final: true });
    progress.end();
    const up = (lines: number) => `\x1b[${lines}F\x1b[J`;
    assert.deepEqual(out, [
      // Cut to the 59 columns of a 60-column terminal. ETA: C 180 s, A and B 60 s each, over 2 slots.
      '    0%     0s cccccccc 3d B=150 s=20×7.5 ual seed 2 startin\n' +
      'study 1/4 cells done, 1 running, elapsed 0s, ETA 2m30s\n',
      up(2),
      // C: max(180 × 0.5, 180 − 45) = 135 s, plus A and B waiting: 255 s over 2 slots, rounded.
      '   50%    45s cccccccc 3d B=150 s=20×7.5 ual seed 2 epoch 2\n' +
      'study 1/4 cells done, 1 running, elapsed 45s, ETA 2m08s\n',
      up(2),
      'done  cccccccc 3d B=150 s=20×7.5 ual seed 2 in 3m20s\n',
      'study 2/4 cells done, 0 running, elapsed 3m20s, ETA 1m00s\n',
      up(1),
      'study 2/4 cells done, 0 running, elapsed 3m20s\n',
    ]);
  });
});

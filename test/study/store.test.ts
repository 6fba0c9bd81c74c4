import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cellId } from '../../src/study/grid.js';
import { StudyStore } from '../../src/study/store.js';
import type { CellConfig, CellResult, CellSpec } from '../../src/study/types.js';
import { tempDir } from '../helpers.js';

function cell(seed: number): CellSpec {
  const config: CellConfig = { budget: 20, allocation: { kind: 'volumes', volumes: 10 }, strategy: 'random', interpolation: 'none', model: '2d', seed, training: {} };
  return { id: cellId(config), config, volumes: 10, slicesPerVolume: 2 };
}

const result = (dice: number): CellResult => ({
  plan: { seed: 1 }, timings: { train: 1.5 },
  cases: [{ caseId: 'a', labels: { 1: { dice, iou: dice / (2 - dice), hd95: 1.2 }, 2: { dice: 0.5, iou: 1 / 3, hd95: null } } }, { caseId: 'b', labels: { 1: { dice: 1, iou: 1, hd95: 0 }, 2: { dice: 0, iou: 0, hd95: null } } }],
});
const attempt = { startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z', seconds: 60, attempts: 1, worker: 'w1' };

describe('study store', () => {
  it('records a cell once, all rows in one go, and survives reopening', () => {
    const path = join(tempDir(), 'study.sqlite');
    const store = new StudyStore(path);
    const [a, b] = [cell(0), cell(1)];
    const experiments = new Map([[a.id, ['x']], [b.id, ['x', 'y']]]);
    assert.equal(store.addCells([a, b], experiments), 2);
    assert.equal(store.addCells([a, b], experiments), 0);
    store.setMeta('config', { seeds: [0, 1, 2] });
    store.markRunning(a.id, attempt.startedAt, 'w1');
    store.markRunning(b.id, attempt.startedAt, 'w2');
    assert.equal(store.recordResult(a.id, result(0.8), attempt), true);
    // A retried job reporting the same cell again changes nothing.
    assert.equal(store.recordResult(a.id, result(0.1), { ...attempt, attempts: 2 }), false);
    store.recordFailure(a.id, 'late failure', attempt);
    assert.equal(store.resetInterrupted(), 1);
    store.close();

    const reopened = new StudyStore(path, { readonly: true });
    const cells = reopened.cells();
    assert.deepEqual(cells.map((c) => [c.status, c.attempts, c.error, c.experiments]), [['done', 1, null, ['x']], ['pending', 0, null, ['x', 'y']]]);
    assert.deepEqual(cells[0].spec, a);
    assert.deepEqual(cells[0].plan, { seed: 1 });
    assert.deepEqual(reopened.caseResults().map((r) => [r.caseId, r.label, r.dice, r.hd95]), [['a', 1, 0.8, 1.2], ['a', 2, 0.5, null], ['b', 1, 1, 0], ['b', 2, 0, null]]);
    assert.deepEqual(reopened.getMeta('config'), { seeds: [0, 1, 2] });
    reopened.close();
  });
});

/**
 * The real `slicewise worker` running real cells (plan → train → predict → evaluate with the libtorch engine),
 * where every other distributed test uses the fake executor: a tiny 2D study on 11 hippocampus cases, one
 * of which has a truncated label file, through a redis-server of the test's own on 127.0.0.1. The
 * coordinator reaches the dataset through a symlink that is gone before the worker starts, so the worker
 * finds it only through --data-root.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makePlan } from '../../src/plan/plan.js';
import type { Plan } from '../../src/plan/types.js';
import { StudyStore } from '../../src/study/store.js';
import { engineUnavailableReason } from '../../src/train/engine.js';
import { readSplit } from '../../src/train/split.js';
import { killLaunched, launchNode } from './processes.js';
import { CLI, HIPPOCAMPUS, NO_DATA, freePort, tempDir } from '../helpers.js';

const NO_REDIS = spawnSync('redis-server', ['--version']).status === 0 ? false : 'redis-server is not installed';
const NO_ENGINE = engineUnavailableReason() ?? false;

/** Ten real cases; the eleventh has a real image and its label cut in half. */
const GOOD_CASES = ['001', '003', '004', '006', '007', '008', '011', '014', '015', '017'].map((n) => `hippocampus_${n}`);
const CORRUPT = 'hippocampus_corrupt';
/**
 * One volume with 3 fixed-interval slices per cell, 3 training steps. With split seed 0 the corrupt case is a
 * training case (the test cases are 007 and 017), so the coordinator, which reads only the training images,
 * never notices it; seeds 0 and 1 choose other volumes, seed 18 chooses it: only that cell reads its label.
 */
const CONFIG = {
  seeds: [0, 1, 18], budgets: [3], allocations: [{ volumes: 1 }], strategies: ['fixed-interval'], interpolations: ['none'], models: ['2d'],
  split: { seed: 0, testFraction: 0.2 }, training: { steps: 3, batchSize: 2 }, maxAttempts: 2,
};
const TEST_CASES = ['hippocampus_007', 'hippocampus_017'];
const FOREGROUND_LABELS = [1, 2];

const launch = (args: string[]) => launchNode([CLI, ...args]);

async function waitFor<T>(probe: () => T | undefined | null | false, timeoutMs: number, what: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('distributed study with the real executor on a real worker', { skip: NO_DATA || NO_REDIS || NO_ENGINE }, () => {
  const dir = tempDir('slicewise-distributed-real-');
  const data = join(dir, 'data');
  const coordinatorView = join(dir, 'coordinator-view');
  const corruptLabel = join(data, 'labelsTr', `${CORRUPT}.nii.gz`);
  let redis: ChildProcess | null = null;
  let url = '';

  before(async () => {
    for (const sub of ['imagesTr', 'labelsTr']) {
      mkdirSync(join(data, sub), { recursive: true });
      for (const id of GOOD_CASES) symlinkSync(join(HIPPOCAMPUS, sub, `${id}.nii.gz`), join(data, sub, `${id}.nii.gz`));
    }
    symlinkSync(join(HIPPOCAMPUS, 'imagesTr', 'hippocampus_019.nii.gz'), join(data, 'imagesTr', `${CORRUPT}.nii.gz`));
    const label = readFileSync(join(HIPPOCAMPUS, 'labelsTr', 'hippocampus_019.nii.gz'));
    writeFileSync(corruptLabel, label.subarray(0, Math.floor(label.length / 2)));
    symlinkSync(data, coordinatorView);
    writeFileSync(join(dir, 'tiny.json'), JSON.stringify(CONFIG));
    const port = await freePort();
    const redisDir = join(dir, 'redis');
    mkdirSync(redisDir);
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
    redis = server;
    let out = '';
    server.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor(() => out.includes('Ready to accept connections'), 10_000, () => `redis-server (${out})`);
    url = `redis://127.0.0.1:${port}`;
  });

  after(() => {
    killLaunched();
    redis?.kill('SIGTERM');
  });

  it('good cells are recorded once with real Dice per test case; the cell that reads the corrupt label fails naming it, the study completes and the report lists it', { timeout: 180_000 }, async () => {
    const out = join(dir, 'study');
    const study = launch(['study', coordinatorView, '--config', join(dir, 'tiny.json'), '--out', out, '--queue', url]);
    await waitFor(() => /running 3 cells on/.test(study.output().stderr), 60_000, () => `the coordinator to enqueue its cells (${study.output().stderr})`);
    // From here on the coordinator's dataset path does not exist: the worker reaches the data only through --data-root.
    unlinkSync(coordinatorView);
    assert.equal(existsSync(coordinatorView), false);
    const worker = launch(['worker', '--queue', url, '--data-root', data, '--scratch', join(dir, 'scratch')]);
    const result = await study.exit;
    assert.equal(result.code, 1, `${result.stderr}\nworker:\n${worker.output().stderr}`);
    assert.match(result.stdout, /^2 cells done in this run, 0 before, 1 failed, of 3/);

    const store = new StudyStore(join(out, 'study.sqlite'), { readonly: true });
    const cells = store.cells();
    const rows = store.caseResults();
    store.close();
    const workerId = cells.find((c) => c.worker)?.worker;
    assert.match(workerId ?? '', /:\d+$/);
    const bySeed = new Map(cells.map((c) => [c.spec.config.seed, c]));
    assert.deepEqual([...bySeed.keys()].sort((a, b) => a - b), [0, 1, 18]);

    // The expected outcome from the plans themselves: only the cell whose plan picks the corrupt case fails.
    const split = await readSplit(join(out, 'split.json'));
    assert.deepEqual(split.test, TEST_CASES);
    assert.ok(split.train.includes(CORRUPT));
    const planOf = (seed: number) => makePlan(data, { budget: 3, allocation: { kind: 'volumes', volumes: 1 }, strategy: 'fixed-interval', seed, axis: 'axial', caseIds: split.train });
    for (const seed of [0, 1]) {
      const cell = bySeed.get(seed)!;
      assert.deepEqual([cell.status, cell.attempts, cell.worker, cell.error], ['done', 1, workerId, null], `seed ${seed}`);
      const plan = cell.plan as Plan;
      // The worker planned on its own path to the data, and as the test does.
      assert.ok(plan.cases.every((c) => c.imagePath.startsWith(`${data}/`)), plan.cases[0].imagePath);
      assert.deepEqual(plan.cases.map((c) => [c.id, c.slices]), (await planOf(seed)).cases.map((c) => [c.id, c.slices]));
      assert.notEqual(plan.cases[0].id, CORRUPT);
      assert.equal(cell.extra?.steps, 3, 'the training override reached the worker');
      // Recorded once: one row per test case and foreground label, each with a Dice in [0, 1] and its IoU.
      const own = rows.filter((r) => r.cellId === cell.spec.id);
      assert.deepEqual(own.map((r) => `${r.caseId}/${r.label}`).sort(), TEST_CASES.flatMap((id) => FOREGROUND_LABELS.map((l) => `${id}/${l}`)));
      for (const r of own) {
        assert.ok(Number.isFinite(r.dice) && r.dice >= 0 && r.dice <= 1, `dice ${r.dice}`);
        assert.ok(Math.abs(r.iou - r.dice / (2 - r.dice)) < 1e-9, `iou ${r.iou} for dice ${r.dice}`);
      }
      // Three steps train little, but the predictions are real: they overlap the hippocampus somewhere.
      assert.ok(own.some((r) => r.dice > 0), JSON.stringify(own));
    }
    assert.equal((await planOf(18)).cases[0].id, CORRUPT);
    const failed = bySeed.get(18)!;
    const error = `${corruptLabel}: truncated gzip stream (the file is cut short)`;
    // A corrupt file fails the same way every time: failed on its first attempt, not retried up to maxAttempts.
    assert.deepEqual([failed.status, failed.attempts, failed.error], ['failed', 1, error]);
    assert.equal(rows.filter((r) => r.cellId === failed.spec.id).length, 0);

    const status = spawnSync(process.execPath, [CLI, 'queue', 'status', url, '--json'], { encoding: 'utf8' });
    assert.equal(status.status, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout), { waiting: 0, active: 0, done: 2, failed: 1, workers: 1 });

    const report = spawnSync(process.execPath, [CLI, 'report', out], { encoding: 'utf8' });
    assert.equal(report.status, 0, report.stderr);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.ok(html.includes(`<td>${failed.spec.id.slice(0, 12)}</td>`), 'the report names the failed cell');
    assert.ok(html.includes(`, seed 18</td><td>1</td><td>${error}</td>`), 'the report gives its attempts and error');
    assert.ok(statSync(join(out, 'cells.csv')).size > 0);

    worker.child.kill('SIGTERM');
    const stopped = await worker.exit;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, new RegExp(`failed cell ${failed.spec.id.slice(0, 12)}: ${error.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });
});

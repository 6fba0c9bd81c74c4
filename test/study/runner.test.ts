import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { StudyStore } from '../../src/study/store.js';
import { CLI, HIPPOCAMPUS, NO_DATA, REPO_ROOT, tempDir } from '../helpers.js';

const RUNNER = join(REPO_ROOT, 'dist', 'test', 'study', 'run-fake-study.js');
/** 18 cells: spread (1 slice/volume, so mci collapses into none) and 15 slices/volume × 2 strategies × 2 interpolations × 3 seeds. */
const CONFIG = { seeds: [0, 1, 2], budgets: [0.02], allocations: ['spread', { slicesPerVolume: 15 }], strategies: ['random', 'fixed-interval'], interpolations: ['none', 'mci'], models: ['2d'] };

function runFake(outDir: string, configPath: string, env: Record<string, string>, extra: string[] = []) {
  const r = spawnSync(process.execPath, [RUNNER, HIPPOCAMPUS, outDir, configPath, '--workers', '2', ...extra], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function snapshot(storePath: string) {
  const store = new StudyStore(storePath, { readonly: true });
  try {
    return {
      cells: store.cells().map((c) => ({ id: c.spec.id, status: c.status, plan: c.plan, config: c.spec.config })).sort((a, b) => (a.id < b.id ? -1 : 1)),
      rows: store.caseResults(),
    };
  } finally {
    store.close();
  }
}

function doneCount(storePath: string): number {
  if (!existsSync(storePath)) return 0;
  try {
    const db = new Database(storePath, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT COUNT(*) AS n FROM cells WHERE status = 'done'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // schema not created yet
  }
}

describe('study runner', { skip: NO_DATA }, () => {
  const dir = tempDir();
  const configPath = join(dir, 'study.json');
  writeFileSync(configPath, JSON.stringify(CONFIG));
  const reference = join(dir, 'reference');

  it('runs the grid on the local pool and records every test case of every cell', () => {
    const summary = runFake(reference, configPath, { FAKE_CELL_MS: '0' });
    assert.deepEqual({ cells: summary.cells, done: summary.done, failed: summary.failed, alreadyDone: summary.alreadyDone }, { cells: 18, done: 18, failed: 0, alreadyDone: 0 });
    const { rows, cells } = snapshot(summary.storePath);
    assert.equal(rows.length, 18 * 52 * 2);
    assert.ok(cells.every((c) => c.status === 'done'));
    const split = JSON.parse(readFileSync(join(reference, 'split.json'), 'utf8'));
    assert.deepEqual([split.train.length, split.test.length, split.seed], [208, 52, 0]);
    // Resuming a finished study runs nothing.
    const again = runFake(reference, configPath, { FAKE_CELL_MS: '0' }, ['--resume']);
    assert.deepEqual([again.done, again.alreadyDone], [0, 18]);
  });

  it('survives SIGKILL mid-run: resume ends with the results of an uninterrupted run', async () => {
    const out = join(dir, 'killed');
    const storePath = join(out, 'study.sqlite');
    const child = spawn(process.execPath, [RUNNER, HIPPOCAMPUS, out, configPath, '--workers', '2'], { env: { ...process.env, FAKE_CELL_MS: '600' }, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const deadline = Date.now() + 60_000;
    while (doneCount(storePath) < 4) {
      assert.ok(Date.now() < deadline, 'the study did not finish 4 cells within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const partial = snapshot(storePath);
    const done = partial.cells.filter((c) => c.status === 'done');
    assert.ok(done.length >= 4 && done.length < 18, `${done.length} cells done at the kill`);
    // Each cell is all or nothing: done cells have all their rows, the others none.
    const rowsPerCell = new Map<string, number>();
    for (const r of partial.rows) rowsPerCell.set(r.cellId, (rowsPerCell.get(r.cellId) ?? 0) + 1);
    for (const c of partial.cells) assert.equal(rowsPerCell.get(c.id) ?? 0, c.status === 'done' ? 104 : 0, `cell ${c.id} (${c.status})`);
    // Without --resume the folder is refused, untouched.
    const refused = spawnSync(process.execPath, [CLI, 'study', HIPPOCAMPUS, '--config', configPath, '--out', out], { encoding: 'utf8' });
    assert.equal(refused.status, 2);
    assert.equal(refused.stderr.trim(), `slicewise: ${out}: already holds a study; pass --resume to continue it, or choose another --out`);
    const resumed = runFake(out, configPath, { FAKE_CELL_MS: '0' }, ['--resume']);
    assert.equal(resumed.alreadyDone, done.length);
    assert.equal(resumed.done, 18 - done.length);
    assert.deepEqual(snapshot(storePath), snapshot(join(reference, 'study.sqlite')));
  });

  it('a resume with another design is refused', () => {
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ ...CONFIG, seeds: [0, 1, 3] }));
    const r = spawnSync(process.execPath, [CLI, 'study', HIPPOCAMPUS, '--config', other, '--out', reference, '--resume'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /configuration differs from the one this folder was started with/);
  });

  it('the study verb checks its options before running anything', () => {
    const both = spawnSync(process.execPath, [CLI, 'study', HIPPOCAMPUS, '--preset', 'quick', '--config', configPath], { encoding: 'utf8' });
    assert.equal(both.status, 2);
    assert.equal(both.stderr.trim(), 'slicewise: --preset: give exactly one of --preset or --config');
    const unknown = spawnSync(process.execPath, [CLI, 'study', HIPPOCAMPUS, '--preset', 'huge'], { encoding: 'utf8' });
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr.trim(), 'slicewise: --preset: unknown preset "huge" (use quick, findings, paper)');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...CONFIG, budgets: [10, 0] }));
    const invalid = spawnSync(process.execPath, [CLI, 'study', HIPPOCAMPUS, '--config', bad, '--out', join(dir, 'bad')], { encoding: 'utf8' });
    assert.equal(invalid.status, 2);
    assert.equal(invalid.stderr.trim(), `slicewise: ${bad}: budgets[1]: must be a positive integer or a fraction in (0, 1]`);
    assert.equal(existsSync(join(dir, 'bad')), false);
    const help = spawnSync(process.execPath, [CLI, 'study', '--help'], { encoding: 'utf8' });
    assert.match(help.stdout, /--workers <n>.*\(default: \d+\)/);
  });
});

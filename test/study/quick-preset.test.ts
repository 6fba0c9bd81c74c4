/**
 * The quick preset, for real: every cell plans on the training split, trains a U-Net with libtorch,
 * predicts the 52 test cases and evaluates them. The slowest test of the suite (several minutes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { engineAvailable, engineUnavailableReason } from '../../src/train/engine.js';
import { CLI, HIPPOCAMPUS, NO_DATA, tempDir } from '../helpers.js';

/** 6 allocation cells, 6 more for fixed-interval and ual, 3 more with mci (3 seeds each). */
const QUICK_CELLS = 15;
const SKIP = NO_DATA || (engineAvailable() ? false : `engine not built: ${engineUnavailableReason()}`);

test('slicewise study --preset quick on hippocampus, then its report', { skip: SKIP, timeout: 40 * 60_000 }, async () => {
  const out = join(tempDir(), 'quick');
  const code = await new Promise<number>((resolveExit) => {
    const child = spawn(process.execPath, [CLI, 'study', HIPPOCAMPUS, '--preset', 'quick', '--workers', '2', '--out', out], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (c) => resolveExit(c ?? 1));
  });
  assert.equal(code, 0);
  const db = new Database(join(out, 'study.sqlite'), { readonly: true });
  const cells = db.prepare('SELECT status, COUNT(*) AS n FROM cells GROUP BY status').all() as Array<{ status: string; n: number }>;
  assert.deepEqual(cells, [{ status: 'done', n: QUICK_CELLS }]);
  // Every done cell evaluated all 52 test cases on both labels.
  const rows = db.prepare('SELECT COUNT(*) AS n, AVG(dice) AS dice FROM case_results').get() as { n: number; dice: number };
  assert.equal(rows.n, QUICK_CELLS * 52 * 2);
  assert.ok(rows.dice > 0.4 && rows.dice <= 1, `mean Dice over all cells ${rows.dice}`);
  const best = db.prepare('SELECT cell_id, AVG(dice) AS dice FROM case_results GROUP BY cell_id ORDER BY dice DESC LIMIT 1').get() as { dice: number };
  assert.ok(best.dice > 0.6, `best cell Dice ${best.dice}`);
  db.close();

  const report = spawnSync(process.execPath, [CLI, 'report', out], { encoding: 'utf8' });
  assert.equal(report.status, 0, report.stderr);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const n of [1, 2, 3]) assert.match(html, new RegExp(`Finding ${n}`));
  // Each block of the preset reaches a verdict: the design can test every finding.
  const verdicts = [...report.stdout.matchAll(/^finding (\d) (holds|does not hold|partly holds|inconclusive|not tested): /gm)].map((m) => [Number(m[1]), m[2]]);
  assert.deepEqual(verdicts.map(([n]) => n), [1, 2, 3], report.stdout);
  for (const [n, verdict] of verdicts) assert.notEqual(verdict, 'not tested', `finding ${n}: ${report.stdout}`);
  assert.ok(existsSync(join(out, 'cells.csv')));
  assert.equal(readFileSync(join(out, 'cells.csv'), 'utf8').trim().split('\n').length, QUICK_CELLS + 1);
});

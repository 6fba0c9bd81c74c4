/**
 * Study and report commands on a machine or folder that cannot work: one line naming the problem, exit 2,
 * before any work is done.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { engineUnavailableReason } from '../../src/train/engine.js';
import { CLI, HIPPOCAMPUS, NO_DATA, tempDir } from '../helpers.js';

function slicewise(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

/** A study folder whose study.sqlite holds `content`. */
function folderWithStore(content: string): { dir: string; store: string } {
  const dir = join(tempDir(), 'study');
  mkdirSync(dir);
  const store = join(dir, 'study.sqlite');
  writeFileSync(store, content);
  return { dir, store };
}

describe('study store that is not one', () => {
  it('slicewise report names the file in one line, exit 2', () => {
    const corrupt = folderWithStore('these are my notes, not a database\n');
    const r = slicewise(['report', corrupt.dir]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `slicewise: ${corrupt.store}: cannot open the study store (file is not a database); move it away or choose another study folder\n`);
    // An empty file is an empty SQLite database: readable, but no study.
    const empty = folderWithStore('');
    const e = slicewise(['report', empty.dir]);
    assert.equal(e.status, 2, e.stderr);
    assert.equal(e.stderr, `slicewise: ${empty.store}: is not a slicewise study store (it has no cells table)\n`);
  });

  // The engine check comes first; without the engine the study stops there.
  it('slicewise study --resume names the file in one line, exit 2', { skip: NO_DATA || (engineUnavailableReason() ?? false) }, () => {
    const corrupt = folderWithStore('these are my notes, not a database\n');
    const r = slicewise(['study', HIPPOCAMPUS, '--preset', 'quick', '--out', corrupt.dir, '--resume']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `slicewise: ${corrupt.store}: cannot open the study store (file is not a database); move it away or choose another study folder\n`);
  });
});

describe('training engine missing', { skip: NO_DATA }, () => {
  const dir = tempDir();
  const noEngine = { SLICEWISE_ENGINE: join(dir, 'missing', 'slicewise_engine.node') };
  const howToBuild = 'the training engine (native libtorch addon) is not built: install libtorch';

  it('slicewise study stops before any work with one line on how to build it', () => {
    const out = join(dir, 'study');
    const r = slicewise(['study', HIPPOCAMPUS, '--preset', 'quick', '--out', out], noEngine);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    assert.ok(r.stderr.startsWith(`slicewise: ${noEngine.SLICEWISE_ENGINE}: ${howToBuild}`), r.stderr);
    assert.match(r.stderr, /run `node scripts\/build-native\.mjs` in the slicewise folder; or run the cells on machines that have it with --queue\n$/);
    assert.equal(existsSync(out), false);
  });

  it('slicewise worker refuses to take cells; a --queue coordinator does not need the engine', () => {
    const worker = slicewise(['worker', '--queue', 'redis://127.0.0.1:1'], noEngine);
    assert.equal(worker.status, 2, worker.stderr);
    assert.ok(worker.stderr.startsWith(`slicewise: ${noEngine.SLICEWISE_ENGINE}: ${howToBuild}`), worker.stderr);
    // The coordinator gets as far as the connection (nothing listens on port 1).
    const coordinator = slicewise(['study', HIPPOCAMPUS, '--preset', 'quick', '--out', join(dir, 'queued'), '--queue', 'redis://127.0.0.1:1'], noEngine);
    assert.equal(coordinator.status, 2, coordinator.stderr);
    assert.match(coordinator.stderr, /^slicewise: --queue: cannot use Redis at redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/);
  });
});

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { discoverDataset } from '../../src/io/dataset.js';
import { isUserError } from '../../src/io/errors.js';
import { loadStudyConfig, parseStudyConfig } from '../../src/study/config.js';
import { canonicalJson, cellId, expandGrid, resolveAllocation } from '../../src/study/grid.js';
import { expectedSerialMinutes, presetConfig } from '../../src/study/presets.js';
import { labelledCaseIds, makeSplit, trainingSliceCounts } from '../../src/study/split.js';
import { HIPPOCAMPUS, NO_DATA, tempDir } from '../helpers.js';

const VALID = { seeds: [0, 1, 2], budgets: [100, 0.05], allocations: ['spread', { slicesPerVolume: 5 }], strategies: ['random'], interpolations: ['none'], models: ['2d'] };

function errorOf(raw: unknown, source = 'study.json'): string {
  try {
    parseStudyConfig(raw, source);
  } catch (err) {
    assert.ok(isUserError(err), `expected a UserError, got ${err}`);
    return (err as Error).message;
  }
  assert.fail('config was accepted');
}

/** 208 training volumes of 36 slices: 7,488 slices, so fraction budgets are exact to check by hand. */
const UNIFORM = { sliceCounts: new Array(208).fill(36) };

describe('study config', () => {
  it('accepts a flat factorial config and fills defaults', () => {
    const config = parseStudyConfig(VALID, 'study.json');
    assert.deepEqual(config.split, { seed: 0, testFraction: 0.2 });
    assert.equal(config.axis, 'axial');
    assert.equal(config.maxAttempts, 1);
    assert.equal(config.experiments.length, 1);
    assert.equal(config.experiments[0].name, 'factorial');
  });

  it('names the field of every invalid value', () => {
    assert.equal(errorOf({ ...VALID, budgets: [10, 0.5, -3] }), 'study.json: budgets[2]: must be a positive integer or a fraction in (0, 1]');
    assert.equal(errorOf({ ...VALID, budgets: [10, 2.5] }), 'study.json: budgets[1]: must be a positive integer or a fraction in (0, 1]');
    assert.equal(errorOf({ ...VALID, seeds: [1, 2] }), 'study.json: seeds: must list at least 3 seeds');
    assert.equal(errorOf({ ...VALID, strategies: ['random', 'best'] }), 'study.json: strategies[1]: must be one of random, fixed-interval, ual, ual-coreset, ual-pooled');
    assert.equal(errorOf({ ...VALID, models: ['2d', '2d'] }), 'study.json: models: must not repeat a value');
    assert.equal(errorOf({ ...VALID, allocations: ['spread', { volumes: 0 }] }), 'study.json: allocations[1].volumes: must be a positive integer');
    assert.equal(errorOf({ ...VALID, allocations: ['all'] }), 'study.json: allocations[0]: must be "spread", {"volumes": s}, {"volumesFraction": f} or {"slicesPerVolume": k}');
    assert.equal(errorOf({ ...VALID, interpolations: ['nearest'] }), 'study.json: interpolations[0]: must be one of none, mci, sdf');
    assert.equal(errorOf({ ...VALID, split: { seed: 1, testFraction: 1.5 } }), 'study.json: split.testFraction: must be a number in (0, 1)');
    assert.equal(errorOf({ ...VALID, budget: [1] }), 'study.json: unknown field "budget"');
    assert.equal(errorOf({ seeds: [0, 1, 2], experiments: [{ ...VALID, seeds: undefined, name: 'a', models: ['4d'] }] }), 'study.json: experiments[0].models[0]: must be one of 2d, 3d');
    assert.equal(errorOf([1, 2], 'preset x'), 'preset x: must be a JSON object');
  });

  it('reports bad JSON and missing files with the path', async () => {
    const dir = tempDir();
    const bad = join(dir, 'study.json');
    writeFileSync(bad, '{"seeds": [0,1,');
    await assert.rejects(loadStudyConfig(bad), (err: Error) => isUserError(err) && err.message.startsWith(`${bad}: is not valid JSON`));
    await assert.rejects(loadStudyConfig(join(dir, 'none.json')), (err: Error) => isUserError(err) && err.message === `${join(dir, 'none.json')}: no such file or folder`);
  });
});

describe('study grid', () => {
  it('gives stable ids: sha256 of canonical JSON, independent of key order', () => {
    const config = { budget: 150, allocation: { kind: 'volumes' as const, volumes: 30 }, strategy: 'random' as const, interpolation: 'none' as const, model: '2d' as const, seed: 1, training: { schedule: 'study', steps: 10 } };
    const reordered = { seed: 1, training: { steps: 10, schedule: 'study' }, model: '2d' as const, interpolation: 'none' as const, strategy: 'random' as const, allocation: { volumes: 30, kind: 'volumes' as const }, budget: 150 };
    assert.equal(canonicalJson(config), '{"allocation":{"kind":"volumes","volumes":30},"budget":150,"interpolation":"none","model":"2d","seed":1,"strategy":"random","training":{"schedule":"study","steps":10}}');
    assert.equal(cellId(config), cellId(reordered));
    assert.match(cellId(config), /^[0-9a-f]{64}$/);
    assert.notEqual(cellId(config), cellId({ ...config, seed: 2 }));
    const a = expandGrid(presetConfig('findings'), UNIFORM);
    const b = expandGrid(presetConfig('findings'), UNIFORM);
    assert.deepEqual(a.cells.map((c) => c.id), b.cells.map((c) => c.id));
  });

  it('resolves allocations to one canonical form', () => {
    assert.deepEqual(resolveAllocation('spread', 150, UNIFORM.sliceCounts), { allocation: { kind: 'volumes', volumes: 150 }, volumes: 150 });
    assert.deepEqual(resolveAllocation('spread', 449, UNIFORM.sliceCounts), { allocation: { kind: 'volumes', volumes: 208 }, volumes: 208 });
    assert.deepEqual(resolveAllocation({ slicesPerVolume: 15 }, 150, UNIFORM.sliceCounts), { allocation: { kind: 'volumes', volumes: 10 }, volumes: 10 });
    assert.deepEqual(resolveAllocation({ slicesPerVolume: 5 }, 449, UNIFORM.sliceCounts), { allocation: { kind: 'slices-per-volume', slicesPerVolume: 5 }, volumes: 90 });
    assert.deepEqual(resolveAllocation({ volumesFraction: 0.25 }, 150, UNIFORM.sliceCounts), { allocation: { kind: 'volumes', volumes: 52 }, volumes: 52 });
    assert.match((resolveAllocation({ volumes: 300 }, 1000, UNIFORM.sliceCounts) as { reason: string }).reason, /300 volumes asked for, the training split has 208/);
    assert.match((resolveAllocation({ volumes: 2 }, 100, UNIFORM.sliceCounts) as { reason: string }).reason, /2 volumes hold at most 72 slices/);
  });

  it('sizes the presets: quick 15 cells (15 min), findings 90 (180 min), paper the full factorial less duplicates', () => {
    const quick = expandGrid(presetConfig('quick'), UNIFORM);
    assert.equal(quick.cells.length, 15);
    assert.equal(expectedSerialMinutes(quick.cells), 15);
    // Each finding has its comparison: ual beside random and fixed-interval for finding 2.
    assert.deepEqual([...new Set(quick.cells.map((c) => c.config.strategy))].sort(), ['fixed-interval', 'random', 'ual']);
    assert.ok(quick.cells.every((c) => c.config.budget === 150));
    assert.deepEqual(quick.experimentsOf.get(quick.cells.find((c) => c.config.strategy === 'fixed-interval' && c.config.interpolation === 'none')!.id), ['strategy', 'interpolation']);
    const findings = expandGrid(presetConfig('findings'), UNIFORM);
    assert.equal(findings.cells.length, 90);
    assert.equal(findings.cells.filter((c) => c.config.model === '3d').length, 45);
    assert.equal(expectedSerialMinutes(findings.cells), 180);
    assert.deepEqual(findings.skipped, []);
    assert.deepEqual([...new Set(findings.cells.map((c) => c.config.budget))], [150, 449]);
    const paper = expandGrid(presetConfig('paper'), UNIFORM);
    // 4 budgets × 5 allocations × 5 strategies × 3 interpolations × 2 models × 3 seeds = 1800, less the
    // interpolation cells with one slice per volume (spread at budgets 75 and 150: 2 × 5 × 2 × 2 × 3 = 120),
    // less 2 slices per volume at budget 749, which needs 375 volumes (5 × 3 × 2 × 3 = 90).
    assert.equal(paper.cells.length, 1800 - 120 - 90);
    assert.deepEqual(paper.skipped, [{ experiment: 'factorial', budget: 0.1, allocation: '2 slices/volume', reason: '2 slices per volume needs 375 volumes, the training split has 208' }]);
    assert.equal(new Set(paper.cells.map((c) => c.id)).size, paper.cells.length);
  });

  it('skips combinations the split cannot hold, with the reason', () => {
    const config = parseStudyConfig({ ...VALID, budgets: [10], allocations: [{ volumes: 20 }, { slicesPerVolume: 5 }] }, 'study.json');
    const grid = expandGrid(config, UNIFORM);
    assert.equal(grid.cells.length, 3);
    assert.deepEqual(grid.skipped, [{ experiment: 'factorial', budget: 10, allocation: '20 volumes', reason: '20 volumes need at least 20 slices, the budget is 10' }]);
  });

  it('quick fits hippocampus: 15 cells, at most 15 min even one after another at 1 min per 2D cell', { skip: NO_DATA }, async () => {
    const dataset = await discoverDataset(HIPPOCAMPUS);
    const split = makeSplit(labelledCaseIds(dataset), 0, 0.2);
    assert.equal(split.train.length, 208);
    assert.equal(split.test.length, 52);
    assert.deepEqual(makeSplit(labelledCaseIds(dataset), 0, 0.2), split);
    assert.notDeepEqual(makeSplit(labelledCaseIds(dataset), 1, 0.2).test, split.test);
    const counts = await trainingSliceCounts(dataset, split, 'axial');
    assert.ok(Math.min(...counts) >= 24 && Math.max(...counts) <= 47);
    const quick = expandGrid(presetConfig('quick'), { sliceCounts: counts });
    assert.equal(quick.cells.length, 15);
    assert.ok(expectedSerialMinutes(quick.cells) <= 15);
    const findings = expandGrid(presetConfig('findings'), { sliceCounts: counts });
    assert.equal(findings.cells.length, 90);
    assert.deepEqual(findings.skipped, []);
  });

  it('an unreadable training image counts 0 slices and is reported instead of stopping the study', { skip: NO_DATA }, async () => {
    const root = tempDir();
    mkdirSync(join(root, 'imagesTr'));
    mkdirSync(join(root, 'labelsTr'));
    for (const id of ['hippocampus_001', 'hippocampus_003']) {
      symlinkSync(join(HIPPOCAMPUS, 'imagesTr', `${id}.nii.gz`), join(root, 'imagesTr', `${id}.nii.gz`));
      symlinkSync(join(HIPPOCAMPUS, 'labelsTr', `${id}.nii.gz`), join(root, 'labelsTr', `${id}.nii.gz`));
    }
    const dataset = await discoverDataset(root);
    // Replace one image by a truncated copy.
    const cut = join(root, 'imagesTr', 'hippocampus_003.nii.gz');
    const bytes = readFileSync(cut);
    unlinkSync(cut);
    writeFileSync(cut, bytes.subarray(0, 500));
    const messages: string[] = [];
    const counts = await trainingSliceCounts(dataset, { format: 'slicewise-split', version: 1, seed: 0, testFraction: 0, train: ['hippocampus_001', 'hippocampus_003'], test: [] }, 'axial', (m) => messages.push(m));
    assert.deepEqual(counts, [35, 0]);
    assert.equal(messages.length, 1);
    assert.match(messages[0], /^left out unreadable training case hippocampus_003: .*hippocampus_003\.nii\.gz: truncated gzip stream/);
  });
});

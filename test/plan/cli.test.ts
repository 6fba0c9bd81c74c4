import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Plan } from '../../src/plan/types.js';
import { CLI, HIPPOCAMPUS, NO_DATA, tempDir } from '../helpers.js';
import { hippocampusSubset } from './subset.js';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Four hippocampus cases: 35 + 35 + 38 + 34 = 142 slices.
const SUBSET_SLICES = 142;

test('plan CLI: bad input → one-line error naming the option, exit 2, nothing written', { skip: NO_DATA }, () => {
  const root = hippocampusSubset(4);
  const parent = tempDir();
  const cases: Array<[string[], RegExp]> = [
    [['--budget', '0'], /--budget: must be a positive integer/],
    [['--budget', '-3'], /--budget: must be a positive integer/],
    [['--budget', '2.5'], /--budget: must be an integer/],
    [['--budget', 'ten'], /--budget: must be an integer/],
    [['--budget', String(SUBSET_SLICES + 1)], new RegExp(`--budget: ${SUBSET_SLICES + 1} is more than the ${SUBSET_SLICES} slices`)],
    [['--budget', '8', '--volumes', '5'], /--volumes: 5 volumes asked for, the dataset has 4/],
    [['--budget', '8', '--volumes', '2', '--density', '0.1'], /--density: give at most one allocation option, got --volumes and --density/],
    [['--budget', '8', '--slices-per-volume', '2', '--volumes', '2'], /give at most one allocation option/],
    [['--budget', '8', '--strategy', 'smart'], /--strategy: unknown strategy "smart"/],
    [['--budget', '8', '--density', '0'], /--density: must be a number in \(0, 1\]/],
    [['--budget', '8', '--density', '1.5'], /--density: must be a number in \(0, 1\]/],
    [['--budget', '8', '--density', 'half'], /--density: must be a number in \(0, 1\]/],
    [['--hours', '2'], /--hours: needs --seconds-per-slice/],
    [['--budget', '8', '--hours', '2', '--seconds-per-slice', '30'], /--hours: give either --budget or --hours/],
    [[], /--budget: required/],
    [['--budget', '8', '--range', 'middle'], /--range: must be body or full/],
    [['--budget', '8', '--volume-selection', 'best'], /--volume-selection: must be random or diverse/],
    [['--budget', '8', '--axis', 'oblique'], /--axis: unknown axis "oblique"/],
  ];
  cases.forEach(([args, message], i) => {
    const out = join(parent, `out-${i}`);
    const r = run(['plan', root, ...args, '--out', out, '--no-progress']);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.equal(existsSync(out), false, `${args.join(' ')}: nothing written`);
  });
  const missing = run(['plan', join(parent, 'no-such-dataset'), '--budget', '3', '--out', join(parent, 'x')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no-such-dataset: no such file or folder/);
});

test('plan CLI: writes plan.json and plan.csv and prints the summary; --hours with --seconds-per-slice', { skip: NO_DATA }, () => {
  const root = hippocampusSubset(4);
  const out = join(tempDir(), 'plan');
  const r = run(['plan', root, '--hours', '0.1', '--seconds-per-slice', '45', '--strategy', 'ual', '--out', out, '--no-progress']);
  assert.equal(r.status, 0, r.stderr);
  // 0.1 h × 3600 / 45 s = 8 slices over 4 volumes.
  assert.match(r.stdout, /plan: 4 volumes, 8 slices, mean density 5\.6%/);
  assert.match(r.stdout, /estimated annotation time: 0\.1 h at 45 s per slice/);
  const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')) as Plan;
  assert.equal(plan.budget, 8);
  assert.deepEqual(plan.cases.map((c) => c.slices.length), [2, 2, 2, 2]);
  assert.equal(plan.options.secondsPerSlice, 45);
  assert.equal(readFileSync(join(out, 'plan.csv'), 'utf8').trim().split('\n').length, 9);
});

test('plan CLI: unreadable cases are listed and left out with a warning, or stop the plan with --strict', { skip: NO_DATA }, () => {
  const root = hippocampusSubset(3);
  writeFileSync(join(root, 'imagesTr', 'hippocampus_999.nii.gz'), Buffer.from('not a volume at all'));
  const parent = tempDir();
  const lenient = run(['plan', root, '--budget', '6', '--out', join(parent, 'ok'), '--no-progress']);
  assert.equal(lenient.status, 0, lenient.stderr);
  assert.match(lenient.stderr, /warning: left out unreadable case hippocampus_999/);
  assert.match(lenient.stdout, /plan: 3 volumes, 6 slices/);
  assert.match(lenient.stdout, /left out 1 unreadable case\(s\): hippocampus_999/);
  const plan = JSON.parse(readFileSync(join(parent, 'ok', 'plan.json'), 'utf8')) as Plan;
  assert.deepEqual(plan.skipped?.map((s) => s.id), ['hippocampus_999']);
  const strict = run(['plan', root, '--budget', '6', '--strict', '--out', join(parent, 'strict'), '--no-progress']);
  assert.equal(strict.status, 2);
  assert.match(strict.stderr, /hippocampus_999\.nii\.gz/);
  assert.equal(existsSync(join(parent, 'strict')), false);
});

test('demo: generates a SYNTHETIC phantom, plans it, fills between the planned slices and says where the files are', () => {
  const out = join(tempDir(), 'demo');
  const r = run(['demo', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /SYNTHETIC/);
  assert.match(r.stdout, /plan: 6 volumes, 30 slices/);
  // Seed 0: the phantom and the plan are fixed, so are the interpolation scores on the 133 filled slices.
  assert.match(r.stdout, /nearest +Dice 0\.772 over 133 filled slices/);
  assert.match(r.stdout, /sdf +Dice 0\.780 over 133 filled slices/);
  assert.match(r.stdout, /mci +Dice 0\.762 over 133 filled slices/);
  assert.ok(r.stdout.includes(join(out, 'plan', 'plan.json')));
  const dataset = JSON.parse(readFileSync(join(out, 'phantom-dataset', 'dataset.json'), 'utf8'));
  assert.equal(dataset.synthetic, true);
  assert.match(dataset.description, /SYNTHETIC/);
  const plan = JSON.parse(readFileSync(join(out, 'plan', 'plan.json'), 'utf8')) as Plan;
  assert.equal(plan.cases.length, 6);
  assert.ok(plan.cases.every((c) => c.slices.length === 5));
});

test('command-line parsing mistakes are one line on stderr, exit 2', () => {
  const cases: Array<[string[], string]> = [
    [['plan', '--foo'], "slicewise: unknown option '--foo' (see --help)"],
    [['plan'], "slicewise: missing required argument 'dataset' (see --help)"],
    [['bogus'], "slicewise: unknown command 'bogus' (see --help)"],
    [['plan', 'x', '--budjet', '3'], "slicewise: unknown option '--budjet' (Did you mean --budget?) (see --help)"],
  ];
  for (const [args, expected] of cases) {
    const r = run(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stderr, `${expected}\n`);
    assert.equal(r.stdout, '');
  }
});

test('a binary file given as a plan is a readable one-line error', { skip: NO_DATA }, () => {
  const r = run(['export', join(HIPPOCAMPUS, 'imagesTr', 'hippocampus_001.nii.gz'), '--to', 'nnunet', '--out', join(tempDir(), 'x')]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  assert.match(r.stderr, /^slicewise: .*hippocampus_001\.nii\.gz: is not valid JSON \([\x20-\x7e]*\)\n$/);
});

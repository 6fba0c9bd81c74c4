import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { loadStudy } from '../../src/report/data.js';
import { budgetFigures } from '../../src/report/plots.js';
import { writeReport } from '../../src/report/report.js';
import { parseStudyConfig } from '../../src/study/config.js';
import { runStudy } from '../../src/study/runner.js';
import { CLI, HIPPOCAMPUS, NO_DATA, tempDir } from '../helpers.js';

const FAKE_EXECUTOR = join(dirname(fileURLToPath(import.meta.url)), '..', 'study', 'fake-executor.js');
const CHROMIUM = '/usr/bin/chromium';

/** Every figure type, 2D and 3D: 60 cells of the fake executor (2 of them fail on purpose). */
const DESIGN = {
  seeds: [0, 1, 2],
  experiments: [
    { name: 'allocation', budgets: [0.02, 0.06], allocations: ['spread', { slicesPerVolume: 15 }], strategies: ['random'], interpolations: ['none'], models: ['2d', '3d'] },
    { name: 'strategy', budgets: [0.02], allocations: [{ slicesPerVolume: 15 }], strategies: ['random', 'fixed-interval', 'ual', 'ual-pooled'], interpolations: ['none'], models: ['2d', '3d'] },
    { name: 'interpolation', budgets: [0.02], allocations: [{ slicesPerVolume: 5 }, { slicesPerVolume: 15 }], strategies: ['fixed-interval'], interpolations: ['none', 'mci'], models: ['2d', '3d'] },
  ],
};

/** 24 cells at one budget, run with FAKE_FINDINGS=contrary: every finding fails, and random beats fixed-interval. */
const CONTRARY_DESIGN = {
  seeds: [0, 1, 2],
  experiments: [
    { name: 'allocation', budgets: [0.02], allocations: ['spread', { slicesPerVolume: 15 }], strategies: ['random'], interpolations: ['none'], models: ['2d'] },
    { name: 'strategy', budgets: [0.02], allocations: [{ slicesPerVolume: 15 }], strategies: ['random', 'fixed-interval', 'ual'], interpolations: ['none'], models: ['2d'] },
    { name: 'baselines', budgets: [0.02], allocations: [{ slicesPerVolume: 5 }], strategies: ['random', 'fixed-interval'], interpolations: ['none'], models: ['2d'] },
    { name: 'interpolation', budgets: [0.02], allocations: [{ slicesPerVolume: 5 }, { slicesPerVolume: 15 }], strategies: ['fixed-interval'], interpolations: ['none', 'mci'], models: ['2d'] },
  ],
};

describe('study report', { skip: NO_DATA }, () => {
  const dir = tempDir();
  const studyDir = join(dir, 'study');
  let ready: Promise<void> | null = null;
  const study = () => (ready ??= (async () => {
    process.env.FAKE_FAIL = 'ual-pooled:2';
    try {
      const summary = await runStudy(parseStudyConfig(DESIGN, 'design'), { dataset: HIPPOCAMPUS, outDir: studyDir, workers: 2, executor: FAKE_EXECUTOR, progress: 'none' });
      assert.deepEqual([summary.cells, summary.done, summary.failed], [60, 58, 2]);
    } finally {
      delete process.env.FAKE_FAIL;
    }
  })());

  it('states the findings with paired tests, advice, failed cells and a CSV of every cell', async () => {
    await study();
    const summary = await writeReport(studyDir, { now: new Date('2026-01-01T00:00:00Z') });
    assert.deepEqual([summary.cells, summary.done, summary.failed], [60, 58, 2]);
    // 4 allocation panels (2 budgets × 2D/3D), 2 strategy charts, 2 interpolation charts, 2 budget charts.
    assert.equal(summary.figures, 10);
    const [f1, f2, f3] = summary.findings;
    // The fake executor rewards volumes (+0.03 Dice per decade): 149 vs 10 volumes is +0.035, 30 vs 10 +0.014.
    assert.equal(f1.verdict, 'holds');
    assert.deepEqual(f1.comparisons.map((c) => [c.a.config.model, c.a.config.budget, c.a.volumes, c.b.volumes]),
      [['2d', 149, 149, 10], ['3d', 149, 149, 10], ['2d', 448, 208, 30], ['3d', 448, 208, 30], ['2d', 149, 30, 10], ['3d', 149, 30, 10]]);
    assert.ok(f1.comparisons.every((c) => c.significant && c.difference.estimate > 0.01 && c.n === 156));
    assert.ok(Math.abs(f1.comparisons[0].difference.estimate - 0.03 * Math.log10(149 / 10)) < 0.003);
    assert.equal(f2.verdict, 'holds');
    assert.equal(f2.comparisons.length, 4);
    assert.equal(f2.caveats.length, 4);
    // Only 3D with mci at 15 slices per volume gains (+0.02): 1 of 4 comparisons, "rarely".
    assert.equal(f3.verdict, 'holds');
    const helped = f3.comparisons.filter((c) => c.significant && c.difference.estimate > 0);
    assert.deepEqual(helped.map((c) => [c.a.config.model, c.a.config.interpolation, c.a.volumes]), [['3d', 'mci', 10]]);
    assert.match(summary.advice[0], /^Allocation: spread the budget over as many volumes/);
    // The fake executor gives every strategy the same Dice: the advice names no winner.
    assert.match(summary.advice[1], /^Strategy: 2D, B=149, 10 vol × [\d.]+, no interpolation: any of .*: not significantly different\. 3D, .*: not significantly different\. Finding 2 holds\.$/);
    assert.match(summary.advice[2], /^Interpolation: helps only where the tests show it: mci for 3D/);
    const csv = readFileSync(summary.csvPath, 'utf8').trim().split('\n');
    assert.equal(csv.length, 61);
    assert.equal(csv.filter((l) => l.includes(',failed,')).length, 2);
    assert.ok(csv.some((l) => l.includes('fake: corrupt case in fake study (ual-pooled, seed 2)')));
    const html = readFileSync(summary.htmlPath, 'utf8');
    assert.doesNotMatch(html, /<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    assert.match(html, /Failed cells<\/h2>\n<table>/);
  });

  it('says "does not hold" and follows the data where the findings fail; one budget draws no Dice-vs-budget chart', async () => {
    const contraryDir = join(dir, 'contrary');
    process.env.FAKE_FINDINGS = 'contrary';
    try {
      const run = await runStudy(parseStudyConfig(CONTRARY_DESIGN, 'design'), { dataset: HIPPOCAMPUS, outDir: contraryDir, workers: 2, executor: FAKE_EXECUTOR, progress: 'none' });
      assert.deepEqual([run.cells, run.done], [24, 24]);
    } finally {
      delete process.env.FAKE_FINDINGS;
    }
    const summary = await writeReport(contraryDir);
    assert.deepEqual(summary.findings.map((f) => f.verdict), ['does not hold', 'does not hold', 'does not hold']);
    const [allocation, strategy, interpolation] = summary.advice;
    assert.match(allocation, /^Allocation: the allocation with the most volumes was best in only 0 of 2 settings; .* Finding 1 does not hold\.$/);
    // ual beats both simple strategies; where only those two ran, random beats fixed-interval and is the advice.
    assert.match(strategy, /^Strategy: 2D, B=149, 10 vol × [\d.]+, no interpolation: use ual \(Dice [\d.]+%\); significantly worse: random \(Dice [\d.]+%\), fixed-interval \(Dice [\d.]+%\)\. /);
    assert.match(strategy, / 2D, B=149, 30 vol × [\d.]+, no interpolation: use random \(Dice [\d.]+%\); significantly worse: fixed-interval \(Dice [\d.]+%\)\. Finding 2 does not hold\.$/);
    assert.match(interpolation, /^Interpolation: interpolate the masks; it significantly improved Dice in every comparison: mci for .*; mci for .*\. Finding 3 does not hold\.$/);
    // 1 allocation panel, 2 strategy charts, 1 interpolation chart; a single budget is no Dice-vs-budget line.
    assert.deepEqual(budgetFigures(loadStudy(contraryDir)), []);
    assert.equal(summary.figures, 4);
  });

  it('opens offline in headless chromium with every plot rendered', { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}` }, async () => {
    await study();
    const summary = await writeReport(studyDir);
    const context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(summary.htmlPath).href;
      await page.goto(url, { waitUntil: 'load' });
      assert.deepEqual(requests, [url]);
      const plots = await page.$$eval('svg.plot', (svgs) => svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        const marks = [...svg.querySelectorAll('circle')].map((c) => c.getBoundingClientRect()).filter((b) => b.width > 0 && b.height > 0).length;
        return { width: box.width, height: box.height, marks, title: svg.getAttribute('aria-label') };
      }));
      assert.equal(plots.length, summary.figures);
      for (const p of plots) {
        assert.ok(p.width > 100 && p.height > 100, `plot "${p.title}" is ${p.width}×${p.height}`);
        assert.ok(p.marks >= 2, `plot "${p.title}" drew ${p.marks} points`);
      }
      const titles = plots.map((p) => p.title);
      assert.ok(titles.includes('2D: budget 149 slices') && titles.includes('3D: budget 149 slices'), titles.join(' | '));
      const text = await page.textContent('body');
      assert.match(text ?? '', /Finding 1: .*On this dataset: holds/s);
    } finally {
      await context.close();
    }
  });

  it('slicewise report writes both files and prints the verdicts', async () => {
    await study();
    const out = join(dir, 'report-out');
    const r = spawnSync(process.execPath, [CLI, 'report', studyDir, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^58 of 60 cells done, 2 failed; 10 figures\nfinding 1 holds: /);
    assert.ok(existsSync(join(out, 'report.html')) && existsSync(join(out, 'cells.csv')));
    const missing = spawnSync(process.execPath, [CLI, 'report', join(dir, 'nothing')], { encoding: 'utf8' });
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr.trim(), `slicewise: ${join(dir, 'nothing')}: holds no study (no study.sqlite; run slicewise study first)`);
  });
});

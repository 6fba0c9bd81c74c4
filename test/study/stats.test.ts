import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { averageRanks, bootstrapMeanCI, holmAdjust, normalUpperTail, pairedEffect, quantileSorted, wilcoxonSignedRank } from '../../src/study/stats.js';

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);

describe('study statistics', () => {
  it('Wilcoxon signed-rank, exact: R documentation example (Hollander & Wolfe depression scores)', () => {
    // R: wilcox.test(x, y, paired = TRUE) → V = 40, p-value = 0.03906; scipy.stats.wilcoxon gives 0.0390625.
    const x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
    const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
    const r = wilcoxonSignedRank(x, y);
    assert.equal(r.n, 9);
    assert.equal(r.wPlus, 40);
    assert.equal(r.wMinus, 5);
    assert.equal(r.exact, true);
    close(r.p, 10 / 256, 1e-12, 'p');
    // Swapping the samples swaps W+ and W−, not p.
    const swapped = wilcoxonSignedRank(y, x);
    assert.equal(swapped.wPlus, 5);
    close(swapped.p, r.p, 1e-12, 'swapped p');
  });

  it('Wilcoxon signed-rank, normal approximation with ties and a zero: matches scipy', () => {
    // scipy.stats.wilcoxon(d, zero_method='wilcox', correction=True, method='approx'):
    // statistic 16.5, p 0.0016539388590406639, z −3.146222930901988.
    const d = [1, 2, 2, 3, -1, 4, 4, 4, 5, -2, 6, 7, 3, 0, 8, -3, 9, 2, 5, 1];
    const r = wilcoxonSignedRank(d);
    assert.equal(r.n, 19);
    assert.equal(r.wMinus, 16.5);
    assert.equal(r.exact, false);
    close(r.p, 0.0016539388590406639, 1e-6, 'p');
    close(Math.abs(r.z), 3.146222930901988, 1e-9, 'z');
    assert.equal(wilcoxonSignedRank([0, 0, 0]).p, 1);
  });

  it('ranks ties by their mean rank', () => {
    assert.deepEqual(averageRanks([3, 1, 3, 2]), { ranks: [3.5, 1, 3.5, 2], tieSizes: [2] });
  });

  it('normal tail and quantiles', () => {
    close(normalUpperTail(1.959963985), 0.025, 1e-7, 'P(Z > 1.96)');
    close(normalUpperTail(0), 0.5, 1e-7, 'P(Z > 0)');
    assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantileSorted([1, 2, 3, 4], 0.25), 1.75);
  });

  it('Holm step-down correction: R p.adjust example values', () => {
    // p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02
    const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => close(adjusted[i], v, 1e-12, `p${i}`));
    assert.deepEqual(holmAdjust([0.5, 0.9]), [1, 1]);
    assert.deepEqual(holmAdjust([0.02, 0.9]), [0.04, 0.9]);
  });

  it('seeded bootstrap CI of the mean: same seed same interval, covering the mean', () => {
    const values = Array.from({ length: 50 }, (_, i) => 0.7 + ((i * 37) % 50) / 500);
    const a = bootstrapMeanCI(values, { seed: 3 });
    assert.deepEqual(bootstrapMeanCI(values, { seed: 3 }), a);
    assert.notDeepEqual(bootstrapMeanCI(values, { seed: 4 }), a);
    close(a.estimate, 0.749, 1e-12, 'mean');
    assert.ok(a.low < a.estimate && a.estimate < a.high);
    // Standard error is sd/√n ≈ 0.0290/7.07 ≈ 0.0041, so the 95% interval is about ±0.008 wide.
    close(a.high - a.low, 2 * 1.96 * 0.02916 / Math.sqrt(50), 0.002, 'width');
    assert.deepEqual(bootstrapMeanCI([0.5], {}), { estimate: 0.5, low: 0.5, high: 0.5 });
  });

  it("paired effect: mean difference and Cohen's d_z", () => {
    const e = pairedEffect([3, 5, 4, 6], [1, 2, 3, 4]);
    assert.equal(e.meanDifference, 2);
    // differences 2, 3, 1, 2: sd = √(2/3)
    close(e.cohensDz, 2 / Math.sqrt(2 / 3), 1e-12, 'd_z');
  });
});

/**
 * The statistics the report rests on: seeded percentile-bootstrap confidence intervals, the paired
 * Wilcoxon signed-rank test (exact below 50 pairs without ties, as R's wilcox.test; otherwise the normal
 * approximation with tie and continuity correction), paired effect sizes and Holm's step-down correction.
 */
import { Random } from '../util/random.js';

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation (n − 1). */
export function standardDeviation(values: readonly number[]): number {
  if (values.length < 2) return NaN;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) * (v - m), 0) / (values.length - 1));
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/** Linear-interpolated quantile of sorted values (R type 7). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Percentile bootstrap CI of the mean: `resamples` draws with replacement, seeded. */
export function bootstrapMeanCI(values: readonly number[], options: { level?: number; resamples?: number; seed?: number } = {}): Interval {
  const { level = 0.95, resamples = 2000, seed = 0 } = options;
  const n = values.length;
  const estimate = mean(values);
  if (n < 2) return { estimate, low: estimate, high: estimate };
  const random = new Random(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[random.int(n)];
    means[r] = sum / n;
  }
  means.sort();
  const alpha = (1 - level) / 2;
  return { estimate, low: quantileSorted(means as unknown as number[], alpha), high: quantileSorted(means as unknown as number[], 1 - alpha) };
}

/** Complementary error function (Numerical Recipes erfcc; fractional error below 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** Standard normal upper tail P(Z > z). */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Average ranks (1-based) of values, ties sharing their mean rank; also the tie group sizes. */
export function averageRanks(values: readonly number[]): { ranks: number[]; tieSizes: number[] } {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  const tieSizes: number[] = [];
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const rank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[order[k][1]] = rank;
    if (j > i) tieSizes.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, tieSizes };
}

export interface WilcoxonResult {
  /** Pairs with a non-zero difference (zeros are dropped, Wilcoxon's convention). */
  n: number;
  /** Sum of the ranks of positive differences (R's V). */
  wPlus: number;
  wMinus: number;
  /** Two-sided p-value. */
  p: number;
  exact: boolean;
  /** Normal-approximation z (signed: positive when x tends to exceed y); NaN when exact. */
  z: number;
}

/** Count of rank subsets by sum for ranks 1..n: the exact null distribution of W+ (no ties). */
function signedRankCounts(n: number): Float64Array {
  const max = (n * (n + 1)) / 2;
  const counts = new Float64Array(max + 1);
  counts[0] = 1;
  for (let k = 1; k <= n; k++) for (let s = max; s >= k; s--) counts[s] += counts[s - k];
  return counts;
}

/** Paired two-sided Wilcoxon signed-rank test of x − y (or of the given differences when y is omitted). */
export function wilcoxonSignedRank(x: readonly number[], y?: readonly number[]): WilcoxonResult {
  if (y && y.length !== x.length) throw new Error(`paired samples differ in length: ${x.length} vs ${y.length}`);
  const diffs = (y ? x.map((v, i) => v - y[i]) : [...x]).filter((d) => d !== 0 && !Number.isNaN(d));
  const n = diffs.length;
  if (n === 0) return { n: 0, wPlus: 0, wMinus: 0, p: 1, exact: true, z: NaN };
  const { ranks, tieSizes } = averageRanks(diffs.map(Math.abs));
  let wPlus = 0;
  diffs.forEach((d, i) => { if (d > 0) wPlus += ranks[i]; });
  const total = (n * (n + 1)) / 2;
  const wMinus = total - wPlus;
  if (n < 50 && tieSizes.length === 0) {
    const counts = signedRankCounts(n);
    const all = 2 ** n;
    const tail = (from: number, to: number) => { let s = 0; for (let w = from; w <= to; w++) s += counts[w]; return s / all; };
    const p = wPlus > total / 2 ? 2 * tail(Math.round(wPlus), total) : 2 * tail(0, Math.round(wPlus));
    return { n, wPlus, wMinus, p: Math.min(1, p), exact: true, z: NaN };
  }
  const expected = total / 2;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieSizes.reduce((a, t) => a + (t * t * t - t), 0) / 48;
  const deviation = wPlus - expected;
  // Continuity correction toward the mean, as R's wilcox.test (correct = TRUE).
  const corrected = deviation - Math.sign(deviation) * 0.5;
  const z = variance > 0 ? corrected / Math.sqrt(variance) : 0;
  return { n, wPlus, wMinus, p: Math.min(1, 2 * normalUpperTail(Math.abs(z))), exact: false, z };
}

export interface PairedEffect {
  n: number;
  /** Mean of x − y. */
  meanDifference: number;
  /** Cohen's d_z: mean difference over the standard deviation of the differences. */
  cohensDz: number;
  /** Bootstrap CI of the mean difference. */
  ci: Interval;
}

export function pairedEffect(x: readonly number[], y: readonly number[], seed = 0): PairedEffect {
  const diffs = x.map((v, i) => v - y[i]);
  const sd = standardDeviation(diffs);
  const meanDifference = mean(diffs);
  return { n: diffs.length, meanDifference, cohensDz: sd > 0 ? meanDifference / sd : meanDifference === 0 ? 0 : Infinity * Math.sign(meanDifference), ci: bootstrapMeanCI(diffs, { seed }) };
}

/** Holm's step-down adjusted p-values, in the input order. */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

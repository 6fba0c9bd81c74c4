/**
 * k-means (Lloyd) with greedy k-means++ seeding, on a flat row-major Float32Array of n points × d dims.
 * Exact Euclidean distances (no ‖x‖² − 2x·c + ‖c‖² cancellation), pruned with triangle-inequality bounds;
 * sums are accumulated in float64.
 * Convergence follows scikit-learn's rule so the two can be compared with the same settings: stop when
 * no label changes, or when the total squared centre shift is ≤ tol × (mean per-dimension variance).
 */
import type { Random } from '../util/random.js';

export interface KMeansOptions {
  random: Random;
  /** Lloyd iterations at most (scikit-learn's default: 300). */
  maxIterations?: number;
  /** Relative tolerance on the centre shift (scikit-learn's default: 1e-4). */
  tolerance?: number;
  /** Candidates per k-means++ step; default 2 + ⌊ln k⌋ (greedy k-means++, as scikit-learn). */
  localTrials?: number;
}

export interface KMeansResult {
  k: number;
  dim: number;
  /** k × dim, row-major. */
  centroids: Float64Array;
  /** Cluster of each point. */
  labels: Int32Array;
  /** Sum of squared distances of the points to their centroid. */
  inertia: number;
  iterations: number;
}

/** Squared distance between point row `i` and row `c` of `centres`; four partial sums let V8 pipeline. */
function squaredDistance(points: Float32Array, i: number, centres: Float64Array | Float32Array, c: number, d: number): number {
  const a = i * d, b = c * d;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = 0;
  for (; j + 3 < d; j += 4) {
    const t0 = points[a + j] - centres[b + j];
    const t1 = points[a + j + 1] - centres[b + j + 1];
    const t2 = points[a + j + 2] - centres[b + j + 2];
    const t3 = points[a + j + 3] - centres[b + j + 3];
    s0 += t0 * t0; s1 += t1 * t1; s2 += t2 * t2; s3 += t3 * t3;
  }
  for (; j < d; j++) {
    const t = points[a + j] - centres[b + j];
    s0 += t * t;
  }
  return s0 + s1 + s2 + s3;
}

/** Squared distance between rows of two centre arrays. */
function centreDistance(x: Float64Array, a: number, y: Float64Array, b: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = x[a * d + j] - y[b * d + j];
    s += t * t;
  }
  return s;
}

/**
 * Greedy k-means++: each new centre is the best of a few candidates drawn with probability ∝ D². A
 * candidate cannot be nearer to point x than x's current centre c when ‖cand − c‖ ≥ 2·D(x) (triangle
 * inequality), so those points are skipped exactly.
 */
export function kmeansPlusPlus(points: Float32Array, n: number, d: number, k: number, random: Random, localTrials?: number): Float64Array {
  const trials = localTrials ?? 2 + Math.floor(Math.log(k));
  const centres = new Float64Array(k * d);
  const first = random.int(n);
  for (let j = 0; j < d; j++) centres[j] = points[first * d + j];
  const closest = new Float64Array(n);
  const owner = new Int32Array(n);
  let potential = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = squaredDistance(points, i, points, first, d);
    potential += closest[i];
  }
  const candidateDist = new Float64Array(n);
  const bestDist = new Float64Array(n);
  const fromCentre = new Float64Array(k);
  const candidateRow = new Float64Array(d);
  for (let c = 1; c < k; c++) {
    let bestCandidate = -1;
    let bestPotential = Infinity;
    for (let t = 0; t < trials; t++) {
      // Draw a point with probability proportional to its squared distance to the nearest centre.
      let target = random.next() * potential;
      let candidate = n - 1;
      for (let i = 0; i < n; i++) {
        target -= closest[i];
        if (target < 0) { candidate = i; break; }
      }
      if (!(potential > 0)) candidate = random.int(n);
      for (let j = 0; j < d; j++) candidateRow[j] = points[candidate * d + j];
      for (let j = 0; j < c; j++) fromCentre[j] = centreDistance(centres, j, candidateRow, 0, d);
      let candidatePotential = 0;
      for (let i = 0; i < n; i++) {
        let dist = closest[i];
        if (fromCentre[owner[i]] < 4 * dist) dist = Math.min(dist, squaredDistance(points, i, candidateRow, 0, d));
        candidateDist[i] = dist;
        candidatePotential += dist;
      }
      if (candidatePotential < bestPotential) {
        bestPotential = candidatePotential;
        bestCandidate = candidate;
        bestDist.set(candidateDist);
      }
    }
    for (let j = 0; j < d; j++) centres[c * d + j] = points[bestCandidate * d + j];
    for (let i = 0; i < n; i++) if (bestDist[i] < closest[i]) owner[i] = c;
    closest.set(bestDist);
    potential = bestPotential;
  }
  return centres;
}

/** Mean over dimensions of the per-dimension variance (scikit-learn scales `tol` by it). */
function meanVariance(points: Float32Array, n: number, d: number): number {
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const v = points[o + j];
      mean[j] += v;
      sq[j] += v * v;
    }
  }
  let total = 0;
  for (let j = 0; j < d; j++) {
    const m = mean[j] / n;
    total += Math.max(0, sq[j] / n - m * m);
  }
  return total / d;
}

/**
 * Lloyd's iterations with Hamerly's bounds (exact, same result as plain Lloyd): per point an upper bound
 * on the distance to its centre and a lower bound on the distance to any other centre; a point is only
 * re-examined when the bounds cannot prove its label unchanged, which after a few iterations is rare.
 */
export function kmeans(points: Float32Array, n: number, d: number, k: number, options: KMeansOptions): KMeansResult {
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`k-means needs 1 ≤ k ≤ n, got k=${k}, n=${n}`);
  if (points.length < n * d) throw new RangeError(`k-means: ${points.length} values cannot hold ${n}×${d} points`);
  const maxIterations = options.maxIterations ?? 300;
  const tol = (options.tolerance ?? 1e-4) * meanVariance(points, n, d);
  let centres: Float64Array = kmeansPlusPlus(points, n, d, k, options.random, options.localTrials);
  let next: Float64Array = new Float64Array(k * d);
  const labels = new Int32Array(n);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  const counts = new Float64Array(k);
  const halfGap = new Float64Array(k);
  const drift = new Float64Array(k);
  const reseeded = new Uint8Array(n);

  /** Full scan of point i: nearest and second-nearest centre. */
  const scan = (i: number): boolean => {
    let best = 0, first = Infinity, second = Infinity;
    for (let c = 0; c < k; c++) {
      const dist = squaredDistance(points, i, centres, c, d);
      if (dist < first) { second = first; first = dist; best = c; } else if (dist < second) second = dist;
    }
    const changed = labels[i] !== best;
    labels[i] = best;
    upper[i] = Math.sqrt(first);
    lower[i] = Math.sqrt(second);
    return changed;
  };
  for (let i = 0; i < n; i++) scan(i);

  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    // Update: each centre becomes the mean of its points; an empty cluster takes the point farthest
    // from its centre (scikit-learn does the same), so k centres always stay in use.
    next.fill(0);
    counts.fill(0);
    reseeded.fill(0);
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      counts[c]++;
      const a = i * d, b = c * d;
      for (let j = 0; j < d; j++) next[b + j] += points[a + j];
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] > 0) {
        const inv = 1 / counts[c];
        for (let j = 0; j < d; j++) next[c * d + j] *= inv;
        continue;
      }
      let far = -1;
      for (let i = 0; i < n; i++) if (!reseeded[i] && (far < 0 || upper[i] > upper[far])) far = i;
      reseeded[far] = 1;
      for (let j = 0; j < d; j++) next[c * d + j] = points[far * d + j];
    }
    let shift = 0;
    let maxDrift = 0;
    for (let c = 0; c < k; c++) {
      const moved = centreDistance(next, c, centres, c, d);
      shift += moved;
      drift[c] = Math.sqrt(moved);
      if (drift[c] > maxDrift) maxDrift = drift[c];
    }
    [centres, next] = [next, centres];
    // Half the distance from each centre to its nearest other centre.
    halfGap.fill(Infinity);
    for (let a = 0; a < k; a++) {
      for (let b = a + 1; b < k; b++) {
        const half = Math.sqrt(centreDistance(centres, a, centres, b, d)) / 2;
        if (half < halfGap[a]) halfGap[a] = half;
        if (half < halfGap[b]) halfGap[b] = half;
      }
    }
    let changed = false;
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      upper[i] += drift[c];
      lower[i] -= maxDrift;
      const bound = Math.max(halfGap[c], lower[i]);
      if (upper[i] <= bound) continue;
      upper[i] = Math.sqrt(squaredDistance(points, i, centres, c, d));
      if (upper[i] <= bound) continue;
      if (scan(i)) changed = true;
    }
    if (!changed || shift <= tol) break;
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += squaredDistance(points, i, centres, labels[i], d);
  return { k, dim: d, centroids: centres, labels, inertia, iterations };
}

/**
 * For each centroid, the index of the nearest point, all distinct: centroids claim points in order of
 * their closest distance, and one whose nearest point is taken gets its nearest free point instead.
 */
export function nearestDistinctPoints(points: Float32Array, n: number, d: number, centroids: Float64Array, k: number): number[] {
  if (k > n) throw new RangeError(`cannot pick ${k} distinct points out of ${n}`);
  const dist = new Float64Array(k * n);
  for (let c = 0; c < k; c++) for (let i = 0; i < n; i++) dist[c * n + i] = squaredDistance(points, i, centroids, c, d);
  const order = Array.from({ length: k }, (_, c) => {
    let best = Infinity;
    for (let i = 0; i < n; i++) best = Math.min(best, dist[c * n + i]);
    return { c, best };
  }).sort((a, b) => a.best - b.best || a.c - b.c);
  const taken = new Uint8Array(n);
  const picks: number[] = [];
  for (const { c } of order) {
    let best = -1;
    for (let i = 0; i < n; i++) if (!taken[i] && (best < 0 || dist[c * n + i] < dist[c * n + best])) best = i;
    taken[best] = 1;
    picks.push(best);
  }
  return picks;
}

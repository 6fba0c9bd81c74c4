/**
 * k-means (Lloyd) with greedy k-means++ seeding, on a flat row-major Float32Array of n points × d dims.
 * Distances use ‖x‖² − 2x·c + ‖c‖² with the point norms computed once; sums are accumulated in float64.
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

/** Squared norms of the n rows. */
function rowNorms(points: Float32Array, n: number, d: number): Float64Array {
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) s += points[o + j] * points[o + j];
    norms[i] = s;
  }
  return norms;
}

/** Squared distance between point row `i` and row `c` of `centres` (which holds float64 rows). */
function squaredDistance(points: Float32Array, i: number, centres: Float64Array | Float32Array, c: number, d: number): number {
  let s = 0;
  const a = i * d, b = c * d;
  for (let j = 0; j < d; j++) {
    const t = points[a + j] - centres[b + j];
    s += t * t;
  }
  return s;
}

/** Greedy k-means++: each new centre is the best of a few candidates drawn with probability ∝ D². */
export function kmeansPlusPlus(points: Float32Array, n: number, d: number, k: number, random: Random, localTrials?: number): Float64Array {
  const trials = localTrials ?? 2 + Math.floor(Math.log(k));
  const centres = new Float64Array(k * d);
  const chosen = new Int32Array(k);
  const first = random.int(n);
  chosen[0] = first;
  for (let j = 0; j < d; j++) centres[j] = points[first * d + j];
  const closest = new Float64Array(n);
  let potential = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = squaredDistance(points, i, points, first, d);
    potential += closest[i];
  }
  const candidateDist = new Float64Array(n);
  const bestDist = new Float64Array(n);
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
      if (potential <= 0) candidate = random.int(n);
      let candidatePotential = 0;
      for (let i = 0; i < n; i++) {
        const dist = Math.min(closest[i], squaredDistance(points, i, points, candidate, d));
        candidateDist[i] = dist;
        candidatePotential += dist;
      }
      if (candidatePotential < bestPotential) {
        bestPotential = candidatePotential;
        bestCandidate = candidate;
        bestDist.set(candidateDist);
      }
    }
    chosen[c] = bestCandidate;
    for (let j = 0; j < d; j++) centres[c * d + j] = points[bestCandidate * d + j];
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

/** Assign every point to its nearest centre; returns the inertia and whether any label changed. */
function assign(points: Float32Array, norms: Float64Array, n: number, d: number, centres: Float64Array, k: number, labels: Int32Array, distances: Float64Array): { inertia: number; changed: boolean } {
  const centreNorms = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    const o = c * d;
    for (let j = 0; j < d; j++) s += centres[o + j] * centres[o + j];
    centreNorms[c] = s;
  }
  let inertia = 0;
  let changed = false;
  for (let i = 0; i < n; i++) {
    const a = i * d;
    let best = 0;
    let bestDist = Infinity;
    for (let c = 0; c < k; c++) {
      const b = c * d;
      // Four partial sums let V8 pipeline the multiply-adds.
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let j = 0;
      for (; j + 3 < d; j += 4) {
        s0 += points[a + j] * centres[b + j];
        s1 += points[a + j + 1] * centres[b + j + 1];
        s2 += points[a + j + 2] * centres[b + j + 2];
        s3 += points[a + j + 3] * centres[b + j + 3];
      }
      for (; j < d; j++) s0 += points[a + j] * centres[b + j];
      const dist = norms[i] - 2 * (s0 + s1 + s2 + s3) + centreNorms[c];
      if (dist < bestDist) { bestDist = dist; best = c; }
    }
    if (labels[i] !== best) { labels[i] = best; changed = true; }
    distances[i] = Math.max(0, bestDist);
    inertia += distances[i];
  }
  return { inertia, changed };
}

export function kmeans(points: Float32Array, n: number, d: number, k: number, options: KMeansOptions): KMeansResult {
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`k-means needs 1 ≤ k ≤ n, got k=${k}, n=${n}`);
  if (points.length < n * d) throw new RangeError(`k-means: ${points.length} values cannot hold ${n}×${d} points`);
  const maxIterations = options.maxIterations ?? 300;
  const tol = (options.tolerance ?? 1e-4) * meanVariance(points, n, d);
  const norms = rowNorms(points, n, d);
  let centres: Float64Array = kmeansPlusPlus(points, n, d, k, options.random, options.localTrials);
  let next: Float64Array = new Float64Array(k * d);
  const labels = new Int32Array(n).fill(-1);
  const distances = new Float64Array(n);
  const counts = new Float64Array(k);
  let inertia = 0;
  let iterations = 0;
  let { inertia: current } = assign(points, norms, n, d, centres, k, labels, distances);
  inertia = current;
  while (iterations < maxIterations) {
    iterations++;
    // Update: each centre becomes the mean of its points; an empty cluster takes the point farthest
    // from its centre (scikit-learn does the same), so k centres always stay in use.
    next.fill(0);
    counts.fill(0);
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
      let far = 0;
      for (let i = 1; i < n; i++) if (distances[i] > distances[far]) far = i;
      distances[far] = 0;
      for (let j = 0; j < d; j++) next[c * d + j] = points[far * d + j];
    }
    let shift = 0;
    for (let j = 0; j < k * d; j++) {
      const t = next[j] - centres[j];
      shift += t * t;
    }
    [centres, next] = [next, centres];
    const result = assign(points, norms, n, d, centres, k, labels, distances);
    inertia = result.inertia;
    if (!result.changed || shift <= tol) break;
  }
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

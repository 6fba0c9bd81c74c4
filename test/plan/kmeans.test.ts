import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kmeans, kmeansPlusPlus, nearestDistinctPoints } from '../../src/plan/kmeans.js';
import { kCenterGreedy } from '../../src/plan/strategies/ual-coreset.js';
import { Random } from '../../src/util/random.js';

/** Plain Lloyd from given centres, with the same stopping rule, as the reference. */
function naiveLloyd(points: Float32Array, n: number, d: number, k: number, start: Float64Array, tol: number): Int32Array {
  const centres = Float64Array.from(start);
  const labels = new Int32Array(n).fill(-1);
  const assign = () => {
    let changed = false;
    for (let i = 0; i < n; i++) {
      let best = 0, bestDist = Infinity;
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += (points[i * d + j] - centres[c * d + j]) ** 2;
        if (s < bestDist) { bestDist = s; best = c; }
      }
      if (labels[i] !== best) { labels[i] = best; changed = true; }
    }
    return changed;
  };
  assign();
  for (let it = 0; it < 300; it++) {
    const next = new Float64Array(k * d), counts = new Float64Array(k);
    for (let i = 0; i < n; i++) { counts[labels[i]]++; for (let j = 0; j < d; j++) next[labels[i] * d + j] += points[i * d + j]; }
    let shift = 0;
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) {
      const v = counts[c] > 0 ? next[c * d + j] / counts[c] : centres[c * d + j];
      shift += (v - centres[c * d + j]) ** 2;
      centres[c * d + j] = v;
    }
    if (!assign() || shift <= tol) break;
  }
  return labels;
}

function blobs(random: Random, n: number, d: number, clusters: number): Float32Array {
  const centres = Array.from({ length: clusters * d }, () => random.normal() * 4);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = random.int(clusters);
    for (let j = 0; j < d; j++) out[i * d + j] = centres[c * d + j] + random.normal();
  }
  return out;
}

test('k-means with bounds gives the same labels as plain Lloyd from the same k-means++ start', () => {
  for (const [n, d, k] of [[300, 16, 5], [200, 64, 12], [50, 3, 7]]) {
    const points = blobs(new Random(n), n, d, k);
    const result = kmeans(points, n, d, k, { random: new Random(11), tolerance: 0 });
    const start = kmeansPlusPlus(points, n, d, k, new Random(11));
    assert.deepEqual(Array.from(result.labels), Array.from(naiveLloyd(points, n, d, k, start, 0)));
    assert.ok(result.iterations >= 1 && result.iterations <= 300);
  }
});

test('k-means finds well-separated blobs exactly and is deterministic per seed', () => {
  // Three tight blobs far apart: every point of a blob gets the same label, the three labels differ.
  const d = 2, n = 30;
  const points = new Float32Array(n * d);
  const random = new Random(5);
  for (let i = 0; i < n; i++) {
    const blob = i % 3;
    points[i * d] = blob * 100 + random.normal() * 0.1;
    points[i * d + 1] = random.normal() * 0.1;
  }
  const a = kmeans(points, n, d, 3, { random: new Random(1) });
  const labelOf = [a.labels[0], a.labels[1], a.labels[2]];
  assert.equal(new Set(labelOf).size, 3);
  for (let i = 0; i < n; i++) assert.equal(a.labels[i], labelOf[i % 3]);
  assert.ok(a.inertia < n * 0.1, `inertia ${a.inertia}`);
  const b = kmeans(points, n, d, 3, { random: new Random(1) });
  assert.deepEqual(Array.from(b.centroids), Array.from(a.centroids));
});

test('nearestDistinctPoints: a centroid whose nearest point is taken gets its nearest free one', () => {
  const points = Float32Array.from([0, 1, 5]);
  // Centroids at 0.1 and 0.2 both have point 0 nearest; the closer one (0.1) keeps it, 0.2 gets point 1.
  assert.deepEqual(nearestDistinctPoints(points, 3, 1, Float64Array.from([0.2, 0.1]), 2), [0, 1]);
});

test('k-center greedy: farthest-first order', () => {
  const points = Float32Array.from([0, 3, 4, 10]);
  assert.deepEqual(kCenterGreedy(points, 4, 1, 3, 0), [0, 3, 2]);
});

test('k must be between 1 and n', () => {
  assert.throws(() => kmeans(new Float32Array(4), 2, 2, 3, { random: new Random(0) }), RangeError);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocate, volumeOrder } from '../../src/plan/allocation.js';
import { UserError } from '../../src/io/errors.js';
import { Random } from '../../src/util/random.js';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

test('spread: B ≤ N gives the first B volumes (in selection order) one slice each', () => {
  assert.deepEqual(allocate([30, 30, 30, 30, 30], 3, { kind: 'spread' }), [1, 1, 1, 0, 0]);
});

test('spread: B > N gives ⌊B/N⌋ or ⌈B/N⌉, the extra to the first volumes, total exactly B', () => {
  assert.deepEqual(allocate([30, 30, 30, 30], 10, { kind: 'spread' }), [3, 3, 2, 2]);
});

test('spread: a small volume is capped at its slice count and the rest goes to the others', () => {
  const counts = allocate([2, 40, 40], 30, { kind: 'spread' });
  assert.deepEqual(counts, [2, 14, 14]);
});

test('--volumes s: s volumes, B/s each with the remainder spread', () => {
  assert.deepEqual(allocate([30, 30, 30, 30, 30], 11, { kind: 'volumes', volumes: 3 }), [4, 4, 3, 0, 0]);
});

test('--slices-per-volume k: ⌊B/k⌋ volumes with k, the remainder to one more volume', () => {
  assert.deepEqual(allocate([30, 30, 30, 30, 30], 12, { kind: 'slices-per-volume', slicesPerVolume: 5 }), [5, 5, 2, 0, 0]);
  assert.deepEqual(allocate([30, 30, 30, 30, 30], 10, { kind: 'slices-per-volume', slicesPerVolume: 5 }), [5, 5, 0, 0, 0]);
  // A volume with fewer than k slices gives all it has; the next volume takes the rest.
  assert.deepEqual(allocate([3, 30, 30], 10, { kind: 'slices-per-volume', slicesPerVolume: 5 }), [3, 5, 2]);
});

test('--density ρ: round(ρ·slices) per volume until the budget is spent, the last one takes the rest', () => {
  assert.deepEqual(allocate([40, 20, 30, 50], 15, { kind: 'density', density: 0.25 }), [10, 5, 0, 0]);
  assert.deepEqual(allocate([40, 20, 30, 50], 20, { kind: 'density', density: 0.25 }), [10, 5, 5, 0]);
  assert.deepEqual(allocate([40, 20], 2, { kind: 'density', density: 0.01 }), [1, 1]);
});

test('every rule spends exactly the budget on many random slice counts, never above a volume\'s count', () => {
  const random = new Random(7);
  for (let trial = 0; trial < 200; trial++) {
    const caps = Array.from({ length: 1 + random.int(30) }, () => 1 + random.int(50));
    const total = sum(caps);
    const budget = 1 + random.int(total);
    const rules = [
      { kind: 'spread' as const },
      { kind: 'volumes' as const, volumes: caps.length },
      { kind: 'slices-per-volume' as const, slicesPerVolume: Math.max(1, Math.ceil(budget / caps.length)) },
      { kind: 'density' as const, density: 1 },
    ];
    for (const rule of rules) {
      let counts: number[];
      try {
        counts = allocate(caps, budget, rule);
      } catch (err) {
        // Only a rule that cannot reach the budget with these volumes may refuse, and as a user error.
        assert.ok(err instanceof UserError, String(err));
        assert.notEqual(rule.kind, 'spread');
        continue;
      }
      assert.equal(sum(counts), budget, `${rule.kind} ${JSON.stringify(caps)} B=${budget}`);
      counts.forEach((c, i) => assert.ok(c >= 0 && c <= caps[i]));
    }
  }
});

test('bad allocations are user errors naming the option', () => {
  const caps = [30, 30, 30];
  assert.throws(() => allocate(caps, 91, { kind: 'spread' }), /--budget: 91 is more than the 90 slices/);
  assert.throws(() => allocate(caps, 0, { kind: 'spread' }), /--budget: must be a positive integer/);
  assert.throws(() => allocate(caps, 2.5, { kind: 'spread' }), /--budget: must be a positive integer/);
  assert.throws(() => allocate(caps, 10, { kind: 'volumes', volumes: 4 }), /--volumes: 4 volumes asked for/);
  assert.throws(() => allocate(caps, 70, { kind: 'volumes', volumes: 2 }), /--volumes: the 2 chosen volumes have only 60 slices/);
  assert.throws(() => allocate(caps, 10, { kind: 'slices-per-volume', slicesPerVolume: 3 }), /--slices-per-volume: 3 slices per volume needs 4 volumes/);
  assert.throws(() => allocate(caps, 10, { kind: 'density', density: 0 }), /--density: must be in \(0, 1\]/);
  assert.throws(() => allocate(caps, 10, { kind: 'density', density: 1.5 }), /--density/);
  assert.throws(() => allocate(caps, 20, { kind: 'density', density: 0.1 }), /--density: all 3 volumes together give only 9 slices/);
});

test('volume order: seeded shuffle; diverse = farthest-first over volume features', () => {
  assert.deepEqual(volumeOrder(6, 'random', new Random(3)), volumeOrder(6, 'random', new Random(3)));
  assert.notDeepEqual(volumeOrder(20, 'random', new Random(3)), volumeOrder(20, 'random', new Random(4)));
  // Volumes as points on a line at 0, 1, 2, 10, 11, starting from index 0.
  const features = Float32Array.from([0, 1, 2, 10, 11]);
  const order = volumeOrder(5, 'diverse', { int: () => 0 } as unknown as Random, features, 1);
  // Start 0; farthest 11 (index 4); then min distances: 1→1, 2→2, 10→1: index 2; then 1 (d=1) vs 10 (d=1): first found.
  assert.deepEqual(order, [0, 4, 2, 1, 3]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/util/random.js';
import { distanceToMask, signedDistance } from '../../src/util/distance-transform.js';

/** Brute force: minimum physical distance to any voxel whose mask value equals `target`. */
function bruteForce(mask: Uint8Array, shape: number[], spacing: number[], target: boolean): Float64Array {
  const coords = (i: number): number[] => {
    const c: number[] = [];
    for (const n of shape) { c.push(i % n); i = Math.floor(i / n); }
    return c;
  };
  const targets = [...mask.keys()].filter((i) => (mask[i] !== 0) === target).map(coords);
  const out = new Float64Array(mask.length);
  for (let i = 0; i < mask.length; i++) {
    const c = coords(i);
    let best = Infinity;
    for (const t of targets) {
      let d2 = 0;
      for (let a = 0; a < shape.length; a++) d2 += ((c[a] - t[a]) * spacing[a]) ** 2;
      best = Math.min(best, d2);
    }
    out[i] = Math.sqrt(best);
  }
  return out;
}

function randomMask(random: Random, length: number, density: number): Uint8Array {
  const mask = new Uint8Array(length);
  for (let i = 0; i < length; i++) mask[i] = random.next() < density ? 1 : 0;
  return mask;
}

function assertClose(actual: Float32Array, expected: Float64Array, what: string): void {
  for (let i = 0; i < actual.length; i++) {
    if (expected[i] === Infinity) assert.equal(actual[i], Infinity, `${what} voxel ${i}`);
    else assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-4 * Math.max(1, expected[i]), `${what} voxel ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

test('distanceToMask matches brute force in 2D and 3D, isotropic and anisotropic', () => {
  const random = new Random(7);
  const cases: Array<{ shape: number[]; spacing: number[]; density: number }> = [
    { shape: [17, 13], spacing: [1, 1], density: 0.05 },
    { shape: [17, 13], spacing: [0.7, 2.5], density: 0.02 },
    { shape: [9, 11, 7], spacing: [1, 1, 1], density: 0.03 },
    { shape: [9, 11, 7], spacing: [0.8, 1.1, 3], density: 0.01 },
    { shape: [1, 12, 5], spacing: [1, 0.5, 2], density: 0.1 },
  ];
  for (const { shape, spacing, density } of cases) {
    const mask = randomMask(random, shape.reduce((a, b) => a * b, 1), density);
    mask[0] = 1; // never empty
    assertClose(distanceToMask(mask, shape, spacing), bruteForce(mask, shape, spacing, true), `${shape.join('×')} @ ${spacing.join(',')}`);
  }
});

test('a single point gives the exact anisotropic distance, an empty mask gives Infinity', () => {
  const shape = [5, 4, 3];
  const mask = new Uint8Array(60);
  mask[0] = 1;
  const d = distanceToMask(mask, shape, [1, 2, 3]);
  // voxel (4, 3, 2): sqrt(4² + 6² + 6²) = sqrt(88)
  assert.ok(Math.abs(d[4 + 5 * (3 + 4 * 2)] - Math.sqrt(88)) < 1e-5);
  assert.equal(d[0], 0);
  assert.ok(distanceToMask(new Uint8Array(60), shape, [1, 1, 1]).every((v) => v === Infinity));
});

test('signedDistance: negative inside (distance to background), positive outside (distance to foreground)', () => {
  const random = new Random(11);
  const shape = [15, 12];
  const spacing = [1, 1.5];
  const mask = randomMask(random, 180, 0.5);
  const sd = signedDistance(mask, shape, spacing);
  const outside = bruteForce(mask, shape, spacing, true);
  const inside = bruteForce(mask, shape, spacing, false);
  const expected = new Float64Array(180);
  for (let i = 0; i < 180; i++) expected[i] = mask[i] ? -inside[i] : outside[i];
  for (let i = 0; i < 180; i++) assert.ok(Math.abs(sd[i] - expected[i]) < 1e-4, `voxel ${i}`);
  // A 3-wide bar: its centre line is 2 voxels from background.
  const bar = new Uint8Array(7 * 7);
  for (let y = 0; y < 7; y++) for (let x = 2; x <= 4; x++) bar[x + 7 * y] = 1;
  const barSd = signedDistance(bar, [7, 7], [1, 1]);
  assert.deepEqual([...barSd.slice(0, 7)], [2, 1, -1, -2, -1, 1, 2]);
  assert.ok(signedDistance(new Uint8Array(4).fill(1), [2, 2], [1, 1]).every((v) => v === -Infinity));
});

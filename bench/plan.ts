/**
 * npm run bench -- plan
 * (a) `ual` on all 260 hippocampus volumes, budget 520 (2 slices each): makePlan's wall time, against the
 *     same pipeline in Python (nibabel read, the same normalization and 272-value slice features in numpy,
 *     scikit-learn KMeans k=2 n_init=1 per volume, nearest slice per centroid).
 * (b) the k-means step alone: 1,000 volumes × 300 slices × 256 generated features, k = 2..10 per volume
 *     (2 + volume mod 9), k-means++ start, n_init 1, max 300 iterations, tol 1e-4, against scikit-learn's
 *     KMeans on the same features (read from a binary file) with the same k per volume.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KMeansTask } from '../src/plan/parallel/messages.js';
import { defaultPlanThreads, runPlanTasks } from '../src/plan/parallel/pool.js';
import { makePlan } from '../src/plan/plan.js';
import { Random } from '../src/util/random.js';
import { HIPPOCAMPUS } from '../test/helpers.js';
import { SYSTEM_PYTHON, peakRssMiB, printBenchLine, round } from './_report.js';

const VOLUMES = 1000, SLICES = 300, DIM = 256;
const kOf = (v: number) => 2 + (v % 9);

function python(script: string, args: string[]): Record<string, number> {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`python yardstick failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const UAL_PY = String.raw`
import sys, os, json, time
import numpy as np, nibabel as nib
from sklearn.cluster import KMeans
root = sys.argv[1]
t0 = time.perf_counter()
files = sorted(f for f in os.listdir(os.path.join(root, 'imagesTr')) if f.endswith('.nii.gz'))
G, B = 16, 16
picked = 0
for f in files:
    x = np.asarray(nib.load(os.path.join(root, 'imagesTr', f)).dataobj, dtype=np.float64)
    lo, hi = np.percentile(x, [0.5, 99.5])
    x = np.clip(x, lo, hi)
    region = x[x != 0] if np.count_nonzero(x) >= 0.1 * x.size else x.ravel()
    sd = region.std()
    z = ((x - region.mean()) / (sd if sd > 1e-12 else 1)).astype(np.float32)
    nx, ny, nz = z.shape
    cu = np.minimum(G - 1, (np.arange(nx) * G) // nx); cv = np.minimum(G - 1, (np.arange(ny) * G) // ny)
    cell = (cv[None, :] * G + cu[:, None]).ravel(order='F')
    counts = np.bincount(cell, minlength=G * G)
    feats = np.zeros((nz, G * G + B), np.float32)
    for s in range(nz):
        sl = z[:, :, s].ravel(order='F')
        feats[s, :G * G] = np.bincount(cell, weights=sl, minlength=G * G) / counts
        b = np.clip(np.floor((sl + 3) / 6 * B).astype(int), 0, B - 1)
        feats[s, G * G:] = np.bincount(b, minlength=B) * (B / sl.size)
    km = KMeans(n_clusters=2, init='k-means++', n_init=1, max_iter=300, tol=1e-4, random_state=0).fit(feats)
    d = ((feats[:, None, :] - km.cluster_centers_[None, :, :]) ** 2).sum(-1)
    picked += len(set(d.argmin(0).tolist()))
print(json.dumps({'seconds': time.perf_counter() - t0, 'volumes': len(files), 'picked': picked}))
`;

const KMEANS_PY = String.raw`
import sys, json, time, resource
import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_info
path, V, S, D = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
x = np.fromfile(path, dtype=np.float32).reshape(V, S, D)
t0 = time.perf_counter()
inertia, iters = 0.0, 0
for v in range(V):
    km = KMeans(n_clusters=2 + v % 9, init='k-means++', n_init=1, max_iter=300, tol=1e-4, random_state=v).fit(x[v])
    inertia += km.inertia_; iters += km.n_iter_
threads = max([i.get('num_threads', 1) for i in threadpool_info()] or [1])
print(json.dumps({'seconds': time.perf_counter() - t0, 'inertia': inertia, 'iterations': iters, 'threads': threads,
                  'peak_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;

/** Per-volume smooth trajectories (neighbouring slices alike, as in a scan) plus noise. */
function generateFeatures(): Float32Array {
  const random = new Random(2025);
  const out = new Float32Array(VOLUMES * SLICES * DIM);
  const base = new Float32Array(3 * DIM);
  for (let v = 0; v < VOLUMES; v++) {
    for (let j = 0; j < base.length; j++) base[j] = random.normal();
    const f = 1 + random.next() * 2, g = 0.5 + random.next() * 2;
    for (let s = 0; s < SLICES; s++) {
      const t = s / SLICES;
      const a = 2 * Math.sin(2 * Math.PI * f * t), b = 2 * Math.cos(2 * Math.PI * g * t);
      const row = (v * SLICES + s) * DIM;
      for (let j = 0; j < DIM; j++) out[row + j] = base[j] + a * base[DIM + j] + b * base[2 * DIM + j] + 0.5 * random.normal();
    }
  }
  return out;
}

async function benchUal(): Promise<void> {
  const started = performance.now();
  const plan = await makePlan(HIPPOCAMPUS, { budget: 520, strategy: 'ual', seed: 0 });
  const seconds = (performance.now() - started) / 1000;
  const py = python(UAL_PY, [HIPPOCAMPUS]);
  printBenchLine(
    { bench: 'plan', metric: 'ual_hippocampus_260_budget520_s', slicewise: seconds, yardstick: 'python nibabel+numpy+sklearn KMeans per volume', yardstick_value: py.seconds },
    { volumes: plan.cases.length, slices: plan.cases.reduce((n, c) => n + c.slices.length, 0), yardstick_slices: py.picked },
  );
}

async function benchKmeans(): Promise<void> {
  const features = generateFeatures();
  const dir = mkdtempSync(join(tmpdir(), 'slicewise-bench-plan-'));
  try {
    const file = join(dir, 'features.f32');
    writeFileSync(file, new Uint8Array(features.buffer, features.byteOffset, features.byteLength));
    // As the planner runs it: one volume per task on worker threads, one thread per core (as the yardstick's BLAS).
    const threads = defaultPlanThreads();
    const started = performance.now();
    const tasks: KMeansTask[] = Array.from({ length: VOLUMES }, (_, v) => ({
      kind: 'kmeans', points: features.subarray(v * SLICES * DIM, (v + 1) * SLICES * DIM), n: SLICES, d: DIM, k: kOf(v),
      random: new Random(v).snapshot(), maxIterations: 300, tolerance: 1e-4,
    }));
    let inertia = 0, iterations = 0;
    for (const result of await runPlanTasks(tasks, threads)) {
      inertia += result.inertia;
      iterations += result.iterations;
    }
    const seconds = (performance.now() - started) / 1000;
    const peak = peakRssMiB();
    const py = python(KMEANS_PY, [file, String(VOLUMES), String(SLICES), String(DIM)]);
    printBenchLine(
      { bench: 'plan', metric: 'kmeans_1000x300x256_s', slicewise: seconds, yardstick: 'sklearn KMeans n_init=1 same k', yardstick_value: py.seconds },
      {
        peak_rss_mib: peak, yardstick_peak_mib: round(py.peak_mib), yardstick_threads: py.threads, slicewise_threads: threads,
        inertia_ratio: round(inertia / py.inertia), iterations, yardstick_iterations: py.iterations,
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await benchUal();
await benchKmeans();

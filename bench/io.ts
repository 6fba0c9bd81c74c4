/**
 * npm run bench -- io: read all hippocampus image/label pairs into typed arrays.
 * Yardstick: nibabel reading the same files into numpy in the same run. Also reports itk-wasm's time for
 * the same NIfTI files, the measurement behind reading NIfTI natively.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { discoverDataset } from '../src/io/dataset.js';
import { readVolume } from '../src/io/read.js';
import { readWithItk } from '../src/io/itk.js';
import { SYSTEM_PYTHON, peakRssMiB, printBenchLine } from './_report.js';

const root = resolve(process.argv[2] ?? '../shared/data/msd-hippocampus');
if (!existsSync(root)) {
  console.error(`bench io: dataset not found at ${root}`);
  process.exit(2);
}
const dataset = await discoverDataset(root);
const paths = dataset.cases.flatMap((c) => [c.imagePaths[0], c.labelPath!]).filter(Boolean);

async function readAll(reader: (p: string) => Promise<{ data: ArrayLike<number> }>, inFlight: number): Promise<{ seconds: number; voxels: number }> {
  const queue = [...paths];
  let voxels = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    for (let p = queue.shift(); p; p = queue.shift()) {
      const volume = await reader(p); // read first: `voxels += await ...` would add to a stale total
      voxels += volume.data.length;
    }
  }));
  return { seconds: (performance.now() - start) / 1000, voxels };
}

// Warm up both sides' caches (file system, wasm module) once, then measure the best of 3.
await readAll(readVolume, 4);
const best = async (reader: (p: string) => Promise<{ data: ArrayLike<number> }>, inFlight: number) => {
  let out = await readAll(reader, inFlight);
  for (let i = 0; i < 2; i++) {
    const r = await readAll(reader, inFlight);
    if (r.seconds < out.seconds) out = r;
  }
  return out;
};
const ours = await best(readVolume, 4);
const list = join(tmpdir(), `slicewise-bench-io-${process.pid}.json`);
writeFileSync(list, JSON.stringify(paths));
let yard = { seconds: NaN, voxels: 0 };
for (let i = 0; i < 3; i++) {
  const py = spawnSync(SYSTEM_PYTHON, [resolve('bench/python/io_nibabel.py'), list], { encoding: 'utf8' });
  if (py.status !== 0) {
    console.error(`bench io: nibabel yardstick failed (install python3-nibabel): ${py.stderr.trim().split('\n').pop()}`);
    process.exit(1);
  }
  const r = JSON.parse(py.stdout);
  if (!(r.seconds >= yard.seconds)) yard = r;
}
if (yard.voxels !== ours.voxels) console.error(`bench io: voxel counts differ (${ours.voxels} vs ${yard.voxels})`);
const itk = await readAll((p) => readWithItk(p), 4);
printBenchLine(
  { bench: 'io', metric: 'seconds to read 260 image/label pairs', slicewise: ours.seconds, yardstick: 'nibabel', yardstick_value: yard.seconds },
  { files: paths.length, voxels: ours.voxels, itk_wasm_seconds: Number(itk.seconds.toFixed(3)), peak_rss_mib: peakRssMiB() },
);

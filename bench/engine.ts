/**
 * `npm run bench -- engine`: the slicewise training engine against PyTorch (Debian python3-torch, the same
 * libtorch), same U-Net, He initialization, seed, thread count and batch of real hippocampus data:
 *   (a) 2D: 32 slices 1×64×64, 4 levels, base 32;  (b) 3D: 2 volumes 1×40×56×40, 3 levels, base 16.
 * For each, one train-step line and one inference line (median wall seconds per batch), with each side's
 * peak resident memory and median process CPU seconds (user + system, all threads: steadier than wall
 * time on a shared machine). Each measurement runs in its own process (a node child of this script, a
 * python process), so peak memory is per measurement; the two sides alternate for --rounds rounds so
 * that load from other processes falls on both.
 *
 * Options: --threads N (default 2), --repeats N (train steps per process, default 4; inference runs 3×
 * as many), --rounds N (default 2), --only 2d|3d,
 * --channels-last (ablation: the engine with channels-last activations). SLICEWISE_CACHING_ALLOCATOR=0 in
 * the environment is the allocator ablation.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readVolume } from '../src/io/read.js';
import { normalizeForModel } from '../src/io/normalize.js';
import { UNetModel, engineUnavailableReason, setThreads } from '../src/train/engine.js';
import { printBenchLine, round, SYSTEM_PYTHON } from './_report.js';
import { HIPPOCAMPUS, tempDir } from '../test/helpers.js';

interface CaseSpec {
  name: '2d' | '3d';
  dims: 2 | 3;
  depth: number;
  base: number;
  classes: number;
  shape: number[];
}

const CASES: CaseSpec[] = [
  { name: '2d', dims: 2, depth: 4, base: 32, classes: 3, shape: [32, 1, 64, 64] },
  { name: '3d', dims: 3, depth: 3, base: 16, classes: 3, shape: [2, 1, 40, 56, 40] },
];
const SEED = 7;
const IGNORE = 255;

interface ChildSpec extends CaseSpec {
  mode: 'train' | 'infer';
  data: string;
  threads: number;
  seed: number;
  warmup: number;
  repeats: number;
  ignore: number;
  base: number;
  channelsLast: boolean;
}
interface ChildResult {
  seconds: number[];
  cpu_seconds: number[];
  checksum0: number;
  peak_rss_mib: number;
  loss: number | null;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Copies volume (nx, ny, nz; x fastest) into a zero canvas of (cz, cy, cx), centred, last axis = x. */
function centreInto(src: Float32Array | Uint8Array, [nx, ny, nz]: number[], dst: Float32Array | Uint8Array, [cz, cy, cx]: number[], zFrom = 0, zCount = nz): void {
  const ox = Math.floor((cx - nx) / 2), oy = Math.floor((cy - ny) / 2), oz = Math.floor((cz - zCount) / 2);
  for (let k = 0; k < zCount; k++) {
    const z = k + oz;
    if (z < 0 || z >= cz) continue;
    for (let j = 0; j < ny; j++) {
      const y = j + oy;
      if (y < 0 || y >= cy) continue;
      for (let i = 0; i < nx; i++) {
        const x = i + ox;
        if (x < 0 || x >= cx) continue;
        dst[(z * cy + y) * cx + x] = src[i + nx * (j + ny * (k + zFrom))];
      }
    }
  }
}

/** The benchmark batch from real hippocampus cases: float32 images then uint8 labels, in one raw file. */
async function writeBatch(spec: CaseSpec, path: string): Promise<void> {
  const [n] = spec.shape;
  const spatial = spec.shape.slice(2);
  const voxels = spatial.reduce((a, b) => a * b, 1);
  const images = new Float32Array(n * voxels);
  const labels = new Uint8Array(n * voxels);
  const ids = ['001', '003', '004', '006', '007', '008', '011', '014'];
  const perCase = spec.dims === 2 ? n / ids.length : 1;
  for (let c = 0; c < (spec.dims === 2 ? ids.length : n); c++) {
    const image = await readVolume(join(HIPPOCAMPUS, 'imagesTr', `hippocampus_${ids[c]}.nii.gz`));
    const label = await readVolume(join(HIPPOCAMPUS, 'labelsTr', `hippocampus_${ids[c]}.nii.gz`));
    const normalized = normalizeForModel(image.data);
    const labelData = Uint8Array.from(label.data);
    const shape = [...image.shape];
    for (let s = 0; s < perCase; s++) {
      const index = c * perCase + s;
      const imageView = images.subarray(index * voxels, (index + 1) * voxels);
      const labelView = labels.subarray(index * voxels, (index + 1) * voxels);
      if (spec.dims === 2) {
        const z = Math.floor(shape[2] / 2) - 2 + s;  // slices through the middle of the hippocampus
        centreInto(normalized, shape, imageView, [1, spatial[0], spatial[1]], z, 1);
        centreInto(labelData, shape, labelView, [1, spatial[0], spatial[1]], z, 1);
      } else {
        centreInto(normalized, shape, imageView, spatial);
        centreInto(labelData, shape, labelView, spatial);
      }
    }
  }
  writeFileSync(path, Buffer.concat([Buffer.from(images.buffer), Buffer.from(labels.buffer)]));
}

/** Child mode: one measurement by the slicewise engine, printed as JSON. */
async function runChild(spec: ChildSpec): Promise<void> {
  setThreads(spec.threads);
  const model = UNetModel.create(
    { dims: spec.dims, inChannels: spec.shape[1], classes: spec.classes, depth: spec.depth, baseWidth: spec.base },
    { seed: spec.seed, training: { ignoreIndex: spec.ignore, totalSteps: 1000 }, channelsLast: spec.channelsLast },
  );
  const checksum0 = model.parameterChecksum();
  const raw = readFileSync(spec.data);
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const images = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + count * 4));
  const labels = new Uint8Array(raw.buffer.slice(raw.byteOffset + count * 4, raw.byteOffset + raw.length));
  const seconds: number[] = [], cpuSeconds: number[] = [];
  let loss: number | null = null;
  for (let i = 0; i < spec.warmup + spec.repeats; i++) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    if (spec.mode === 'train') loss = (await model.trainStep({ images, labels, shape: spec.shape })).loss;
    else await model.predict(images, spec.shape);
    const cpu = process.cpuUsage(cpu0);
    if (i >= spec.warmup) {
      seconds.push((performance.now() - t0) / 1000);
      cpuSeconds.push((cpu.user + cpu.system) / 1e6);
    }
  }
  console.log(JSON.stringify({ seconds, cpu_seconds: cpuSeconds, checksum0, peak_rss_mib: round(process.resourceUsage().maxRSS / 1024), loss }));
}

function runProcess(command: string, args: string[]): ChildResult {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${command} ${args[0]} failed (${result.status}):\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as ChildResult;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return runChild(JSON.parse(args[1]) as ChildSpec);
  const option = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
  };
  const threads = Number(option('--threads', '2'));
  const repeats = Number(option('--repeats', '4'));
  const rounds = Number(option('--rounds', '2'));
  const only = option('--only', '');
  const unavailable = engineUnavailableReason();
  if (unavailable) {
    console.error(`bench engine: skipped, ${unavailable}`);
    process.exit(2);
  }
  const dir = tempDir('slicewise-bench-engine-');
  const self = fileURLToPath(import.meta.url);
  for (const spec of CASES) {
    if (only && spec.name !== only) continue;
    const data = join(dir, `${spec.name}.raw`);
    await writeBatch(spec, data);
    for (const mode of ['train', 'infer'] as const) {
      const child: ChildSpec = { ...spec, mode, data, threads, seed: SEED, warmup: mode === 'train' ? 2 : 1, repeats: mode === 'train' ? repeats : 3 * repeats, ignore: IGNORE, channelsLast: args.includes('--channels-last') };
      const oursRuns: ChildResult[] = [], torchRuns: ChildResult[] = [];
      for (let r = 0; r < rounds; r++) {
        oursRuns.push(runProcess(process.execPath, [self, '--child', JSON.stringify(child)]));
        torchRuns.push(runProcess(SYSTEM_PYTHON, [pythonScript(), JSON.stringify(child)]));
      }
      const ours = merge(oursRuns), torch = merge(torchRuns);
      const sameInit = Math.abs(ours.checksum0 - torch.checksum0) <= 1e-6 * Math.abs(torch.checksum0);
      const metric = `${spec.name}_${mode === 'train' ? 'train_step' : 'inference'}_s`;
      printBenchLine(
        { bench: 'engine', metric, slicewise: median(ours.seconds), yardstick: 'pytorch-1.13', yardstick_value: median(torch.seconds) },
        {
          batch: spec.shape.join('x'), depth: spec.depth, base: spec.base, threads, samples: ours.seconds.length,
          cpu_s: round(median(ours.cpu_seconds)), yardstick_cpu_s: round(median(torch.cpu_seconds)),
          cpu_ratio: round(median(ours.cpu_seconds) / median(torch.cpu_seconds)),
          peak_rss_mib: ours.peak_rss_mib, yardstick_peak_rss_mib: torch.peak_rss_mib, same_init: sameInit,
          ...(mode === 'train' ? { loss_after: round(ours.loss ?? NaN), yardstick_loss_after: round(torch.loss ?? NaN) } : {}),
        },
      );
    }
  }
}

/** Pools the timings of several runs of one side; the largest peak memory. */
function merge(runs: ChildResult[]): ChildResult {
  return {
    seconds: runs.flatMap((r) => r.seconds),
    cpu_seconds: runs.flatMap((r) => r.cpu_seconds),
    checksum0: runs[0].checksum0,
    peak_rss_mib: Math.max(...runs.map((r) => r.peak_rss_mib)),
    loss: runs[0].loss,
  };
}

function pythonScript(): string {
  // dist/bench/engine.js → bench/python/engine_torch.py in the source tree.
  return join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bench', 'python', 'engine_torch.py');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

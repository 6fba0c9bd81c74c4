/**
 * Interpolation quality and speed on msd-hippocampus: keep every k-th slice (k = 2, 3, 5; fixed interval
 * from slice 0) of the real labels along axis 2, interpolate, Dice per label on the interpolated slices
 * (mean over cases where the label is on those slices). Time per volume: sdf and nearest against ITK's MCI
 * through itk-wasm on the same volumes in the same run.
 * Usage: npm run bench -- interpolate [--cases N]
 */
import { join } from 'node:path';
import { discoverDataset } from '../src/io/dataset.js';
import { readVolume } from '../src/io/read.js';
import type { Volume } from '../src/io/volume.js';
import { dice, scoreFixedInterval } from '../src/annotate/interpolation-quality.js';
import { INTERPOLATION_METHOD_NAMES, type InterpolationMethodName } from '../src/annotate/interpolation/registry.js';
import { peakRssMiB, printBenchLine, round } from './_report.js';

const DATA = join(process.cwd(), '..', 'shared', 'data', 'msd-hippocampus');
const LABEL_MAP = { background: 0, anterior: 1, posterior: 2 };
const INTERVALS = [2, 3, 5];
const AXIS = 2;

const casesArg = process.argv.indexOf('--cases');
const limit = casesArg > 0 ? Number(process.argv[casesArg + 1]) : Infinity;

const dataset = await discoverDataset(DATA);
const cases = dataset.cases.filter((c) => c.labelPath).slice(0, limit);
const volumes: Array<{ id: string; labels: Volume }> = [];
for (const c of cases) volumes.push({ id: c.id, labels: await readVolume(c.labelPath!) });
process.stderr.write(`interpolate bench: ${volumes.length} cases of ${DATA}\n`);

// The first MCI call loads the wasm module; keep it out of the timings.
await scoreFixedInterval(volumes[0].id, volumes[0].labels, AXIS, 3, 'mci', LABEL_MAP);

interface Row { method: InterpolationMethodName; interval: number; dice: Record<number, number>; scored: Record<number, number>; msPerVolume: number }
const rows: Row[] = [];
for (const interval of INTERVALS) {
  for (const method of INTERPOLATION_METHOD_NAMES) {
    const sums: Record<number, number> = { 1: 0, 2: 0 };
    const scored: Record<number, number> = { 1: 0, 2: 0 };
    let ms = 0;
    for (const { id, labels } of volumes) {
      const { result, overlap } = await scoreFixedInterval(id, labels, AXIS, interval, method, LABEL_MAP);
      ms += result.milliseconds;
      for (const [label, o] of overlap) {
        const d = dice(o);
        if (!Number.isNaN(d)) { sums[label] += d; scored[label]++; }
      }
    }
    const row = { method, interval, dice: { 1: sums[1] / scored[1], 2: sums[2] / scored[2] }, scored, msPerVolume: ms / volumes.length };
    rows.push(row);
    process.stderr.write(`  k=${interval} ${method}: dice ${row.dice[1].toFixed(4)} / ${row.dice[2].toFixed(4)}, ${row.msPerVolume.toFixed(2)} ms/volume\n`);
  }
}

console.log(`\nDice on interpolated slices, mean over ${volumes.length} cases (label 1 anterior / label 2 posterior), time per volume`);
console.log('k  method   dice_1   dice_2   mean     ms/volume');
for (const r of rows) {
  console.log(`${r.interval}  ${r.method.padEnd(7)}  ${r.dice[1].toFixed(4)}   ${r.dice[2].toFixed(4)}   ${((r.dice[1] + r.dice[2]) / 2).toFixed(4)}   ${r.msPerVolume.toFixed(2)}`);
}
for (const r of rows) {
  const mci = rows.find((x) => x.method === 'mci' && x.interval === r.interval)!;
  printBenchLine(
    { bench: 'interpolate', metric: `ms_per_volume_${r.method}_k${r.interval}`, slicewise: r.msPerVolume, yardstick: 'itk-wasm MCI ms/volume', yardstick_value: mci.msPerVolume },
    { cases: volumes.length, dice_1: round(r.dice[1]), dice_2: round(r.dice[2]), dice_mean: round((r.dice[1] + r.dice[2]) / 2), peak_rss_mib: peakRssMiB() },
  );
}

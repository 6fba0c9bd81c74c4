import { InvalidArgumentError, type Command } from 'commander';
import { interpolateDataset } from '../annotate/interpolate-dataset.js';
import type { Extrapolation } from '../annotate/interpolate.js';
import { INTERPOLATION_METHOD_NAMES, isInterpolationMethodName, type InterpolationMethodName } from '../annotate/interpolation/registry.js';
import { parseAxisChoice } from '../io/geometry.js';
import { parseIntOption, progressReporter } from './common.js';

function parseMethod(value: string): InterpolationMethodName {
  if (!isInterpolationMethodName(value)) throw new InvalidArgumentError(`--method must be one of ${INTERPOLATION_METHOD_NAMES.join(', ')}, got "${value}"`);
  return value;
}

function parseExtrapolation(value: string): Extrapolation {
  if (value !== 'unknown' && value !== 'background') throw new InvalidArgumentError(`--extrapolate must be unknown or background, got "${value}"`);
  return value;
}

export function registerInterpolate(program: Command): void {
  program
    .command('interpolate')
    .description('fill the slices between annotated slices of a sparse dataset (or one ignore-label volume); interpolated slices are recorded as derived')
    .argument('<sparse>', 'sparse dataset folder (dataset.json with ignore, labelsTr/, slicewise-sparse.json) or one ignore-label volume')
    .option('--method <method>', `interpolation method: ${INTERPOLATION_METHOD_NAMES.join(', ')}`, parseMethod, 'sdf')
    .option('--out <dir>', 'output dataset folder (default: beside the input, <input>-interpolated-<method>)')
    .option('--extrapolate <mode>', 'slices outside the annotated range: unknown (keep ignore) or background', parseExtrapolation, 'unknown')
    .option('--axis <axis>', 'slicing axis for cases with no slicewise-sparse.json record: axial, coronal, sagittal, 0, 1 or 2', 'axial')
    .option('--ignore-value <n>', 'ignore label of a single volume with no dataset.json beside it (default: its highest value)', parseIntOption('--ignore-value', 1))
    .option('--overwrite', 'replace the output folder if it exists (only once the new one is complete)', false)
    .action(async (input: string, opts: { method: InterpolationMethodName; out?: string; extrapolate: Extrapolation; axis: string; ignoreValue?: number; overwrite: boolean }) => {
      const result = await interpolateDataset(input, {
        method: opts.method,
        extrapolate: opts.extrapolate,
        out: opts.out,
        overwrite: opts.overwrite,
        axis: parseAxisChoice(opts.axis),
        ignoreValue: opts.ignoreValue,
        onProgress: progressReporter(`interpolating (${opts.method})`),
        onNotice: (message) => process.stderr.write(`slicewise: ${message}\n`),
      });
      const annotated = result.cases.reduce((s, c) => s + c.annotated, 0);
      const interpolated = result.cases.reduce((s, c) => s + c.interpolated, 0);
      const ms = result.cases.reduce((s, c) => s + c.milliseconds, 0);
      process.stdout.write(`${result.out}: ${result.cases.length} cases, ${annotated} annotated slices kept, ${interpolated} slices interpolated with ${opts.method} (${(ms / Math.max(1, result.cases.length)).toFixed(1)} ms per case)\n`);
    });
}

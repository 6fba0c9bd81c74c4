import type { Command } from 'commander';
import { relative } from 'node:path';
import { parseAxisChoice } from '../io/geometry.js';
import { inspectDataset, type InspectResult } from '../io/inspect.js';
import { progressReporter } from './common.js';

function formatTable(result: InspectResult): string {
  // Paths relative to the dataset folder keep the table readable; --json has them absolute.
  const shortPath = (p: string) => relative(result.root, p) || p;
  const rows = result.cases.map((c) => [
    c.id,
    c.imagePaths.map(shortPath).join(','),
    c.labelPath ? shortPath(c.labelPath) : '-',
    c.shape.join('×'),
    c.spacing.map((s) => s.toFixed(2)).join('×'),
    c.orientation,
    `${c.axis}:${c.slices}`,
    c.dataType,
    `${formatNumber(c.intensityRange[0])}..${formatNumber(c.intensityRange[1])}`,
    c.labelCounts ? Object.entries(c.labelCounts).map(([v, n]) => `${v}:${n}`).join(' ') : '-',
  ]);
  const header = ['case', 'image', 'label', 'shape', 'spacing mm', 'orient', 'axis:slices', 'type', 'intensity', 'labels (value:voxels)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  for (const b of result.bad) out.push(`BAD ${b.id}: ${b.error}`);
  for (const u of result.unpaired) out.push(`UNPAIRED ${u.path}: ${u.reason}`);
  const t = result.totals;
  out.push(`${result.name} (${result.layout}): ${t.cases} cases, ${t.slices} slices along the slicing axis, ${t.casesWithLabels} with labels` +
    (t.badCases ? `, ${t.badCases} bad` : '') + (t.unpaired ? `, ${t.unpaired} unpaired files` : ''));
  if (result.labels) out.push(`labels: ${Object.entries(result.labels).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  return out.join('\n');
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(5);
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('list the cases of a dataset (or one volume): geometry, slicing axis, intensities and labels')
    .argument('<path>', 'dataset folder (imagesTr/labelsTr, images/labels), volume file, or DICOM series folder')
    .option('--axis <axis>', 'slicing axis: axial, coronal, sagittal, 0, 1 or 2', 'axial')
    .option('--json', 'print JSON instead of a table', false)
    .option('--strict', 'stop at the first bad case instead of reporting it', false)
    .action(async (path: string, opts: { axis: string; json: boolean; strict: boolean }) => {
      const result = await inspectDataset(path, {
        axis: parseAxisChoice(opts.axis),
        strict: opts.strict,
        onProgress: opts.json ? undefined : progressReporter('reading'),
      });
      process.stdout.write((opts.json ? JSON.stringify(result, null, 2) : formatTable(result)) + '\n');
      if (result.bad.length > 0 && result.cases.length === 0) process.exitCode = 2;
    });
}

import type { Command } from 'commander';
import { evaluateFolders, writeEvaluation, type EvaluationResult, type Stat } from '../evaluate/evaluate.js';
import { parseIntOption, progressReporter } from './common.js';

function formatStat(s: Stat, digits: number): string {
  if (s.mean === null) return '-';
  return s.sd === null ? s.mean.toFixed(digits) : `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** At most ten ids on a line; the full lists are in the JSON. */
function idList(ids: string[]): string {
  return ids.length <= 10 ? ids.join(', ') : `${ids.slice(0, 10).join(', ')}, ... (${ids.length - 10} more)`;
}

function formatResult(result: EvaluationResult): string {
  const out = table(
    ['label', 'cases', 'Dice', 'IoU', 'HD95 mm', 'HD95 n', 'both empty', 'pred empty', 'ref empty'],
    result.summary.map((s) => [
      `${s.label} ${s.name === String(s.label) ? '' : s.name}`.trim(), String(s.cases), formatStat(s.dice, 4), formatStat(s.iou, 4),
      formatStat(s.hd95, 2), String(s.hd95.n), String(s.bothEmpty), String(s.predictionEmpty), String(s.referenceEmpty),
    ]),
  );
  if (result.byDistance) {
    out.push('', 'Dice by distance to the nearest annotated slice (pooled over cases):');
    const distances = [...new Set(result.byDistance.map((r) => r.distance))];
    out.push(...table(
      ['distance', 'slices', 'cases', ...result.labels.map((l) => `Dice ${l.name}`)],
      distances.map((d) => {
        const rows = result.byDistance!.filter((r) => r.distance === d);
        return [String(d), String(rows[0].slices), String(rows[0].cases), ...result.labels.map((l) => {
          const dice = rows.find((r) => r.label === l.value)?.dice ?? null;
          return dice === null ? '-' : dice.toFixed(4);
        })];
      }),
    ));
    if (result.notInPlan.length > 0) out.push(`${result.notInPlan.length} evaluated cases not in the plan (left out of this table): ${idList(result.notInPlan)}`);
  }
  out.push('', `${result.cases.length} cases evaluated; ${result.bothEmptyCount} case×label pairs empty in both prediction and label (counted as Dice 1, HD95 0)` +
    (result.ignoreValue !== null ? `; voxels labelled ${result.ignoreValue} ignored` : ''));
  if (result.missingPredictions.length > 0) out.push(`MISSING prediction for ${result.missingPredictions.length} label cases: ${idList(result.missingPredictions)}`);
  if (result.unmatchedPredictions.length > 0) out.push(`UNMATCHED ${result.unmatchedPredictions.length} predictions without a label: ${idList(result.unmatchedPredictions)}`);
  return out.join('\n');
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('Dice, IoU and HD95 per case and label of predicted label maps against reference labels; with a plan, Dice by distance to the nearest annotated slice')
    .argument('<predictions>', 'folder of predicted label maps (CASE.nii.gz)')
    .argument('<labels>', 'folder of reference labels (CASE.nii.gz), or a dataset folder holding labelsTr/')
    .option('--plan <plan.json>', 'plan whose annotated slices define the distances (default: none, no distance table)')
    .option('--out <dir>', 'write metrics.csv and metrics.json here (default: print only)')
    .option('--ignore-value <n>', "label value excluded from every metric (default: the dataset.json 'ignore' label, else none)", parseIntOption('--ignore-value', 0))
    .option('--json', 'print the result as JSON instead of a table', false)
    .action(async (predictions: string, labels: string, opts: { plan?: string; out?: string; ignoreValue?: number; json: boolean }) => {
      const result = await evaluateFolders(predictions, labels, {
        plan: opts.plan,
        ignoreValue: opts.ignoreValue,
        onProgress: opts.json ? undefined : progressReporter('evaluating'),
      });
      const written = opts.out ? await writeEvaluation(result, opts.out) : [];
      process.stdout.write((opts.json ? JSON.stringify(result, null, 2) : formatResult(result)) + '\n');
      if (!opts.json) for (const path of written) process.stdout.write(`wrote ${path}\n`);
    });
}

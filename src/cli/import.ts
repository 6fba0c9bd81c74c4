import { Option, type Command } from 'commander';
import { dirname, join, resolve } from 'node:path';
import { missingSummary, type ImportOptions, type ImportResult } from '../annotate/import/common.js';
import { EMPTY_SLICES_POLICIES, importNnunet, type EmptySlicesAccepted, type EmptySlicesPolicy } from '../annotate/import/nnunet.js';
import { importPlan } from '../annotate/import/plan.js';
import { importSlices } from '../annotate/import/slices.js';
import { UserError } from '../io/errors.js';
import { progressReporter } from './common.js';

interface ImportCliOptions {
  from: 'nnunet' | 'slices' | 'plan';
  plan?: string;
  out?: string;
  allowMissing: boolean;
  emptySlices?: EmptySlicesPolicy;
  images: 'symlink' | 'reference';
  overwrite: boolean;
  progress: boolean;
}

function report(r: ImportResult & { emptyAccepted?: EmptySlicesAccepted[] }): string {
  const lines = [`${r.folder}: ${r.importedCases} cases, ${r.annotatedSlices} of ${r.plannedSlices} planned slices annotated`];
  for (const e of r.emptyAccepted ?? []) {
    lines.push(`empty planned slice${e.slices.length > 1 ? 's' : ''} accepted as background: case ${e.caseId} slice${e.slices.length > 1 ? 's' : ''} ${e.slices.join(', ')}`);
  }
  for (const d of r.droppedPaint) lines.push(`dropped paint outside the plan: case ${d.caseId} slice ${d.slice} (${d.voxels} voxels) in ${d.file}`);
  for (const f of r.strayFiles) lines.push(`ignored ${f}: it matches no planned slice`);
  if (r.missing.length > 0) lines.push(`remaining: ${missingSummary(r.missing, Infinity)}`);
  return lines.join('\n') + '\n';
}

/** Options that belong to one --from only are refused with the others rather than silently ignored. */
function checkOptionsFor(opts: ImportCliOptions): void {
  if (opts.from === 'plan' && opts.plan === undefined) throw new UserError('is required with --from plan', '--plan');
  if (opts.from !== 'plan' && opts.plan !== undefined) throw new UserError(`only applies to --from plan (the ${opts.from} export holds its own plan)`, '--plan');
  if (opts.from !== 'nnunet' && opts.emptySlices !== undefined) throw new UserError('only applies to --from nnunet', '--empty-slices');
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('take annotators\' work back from an export folder, or keep a plan\'s slices of dense labels, as a sparse dataset (ignore-label volumes + the record of annotated slices)')
    .argument('<source>', 'folder written by slicewise export (the DatasetNNN_Name folder for nnunet), or the fully labelled dataset for --from plan')
    .addOption(new Option('--from <format>', 'nnunet or slices (an export), or plan (a labelled dataset plus --plan)').choices(['nnunet', 'slices', 'plan']).makeOptionMandatory())
    .option('--plan <plan.json>', 'plan: the plan whose slices to keep')
    .option('--out <dir>', 'output sparse dataset folder (default: <source>-sparse; for --from plan, sparse/ beside the plan)')
    .option('--allow-missing', 'import what is done when planned slices are not annotated yet, and list what remains', false)
    .addOption(new Option('--empty-slices <policy>', 'nnunet: planned slices left all 0; case: background in a case painted elsewhere (reported), a case with no paint remains; annotated: all background; missing: all remain (default: case)').choices(EMPTY_SLICES_POLICIES))
    .addOption(new Option('--images <how>', 'symlink the images into imagesTr/ or only reference their paths').choices(['symlink', 'reference']).default('symlink'))
    .option('--overwrite', 'replace the output folder if it exists (only once the new one is complete)', false)
    .option('--no-progress', 'no progress lines on stderr')
    .action(async (source: string, opts: ImportCliOptions) => {
      checkOptionsFor(opts);
      const defaultOut = opts.from === 'plan' ? join(dirname(resolve(opts.plan!)), 'sparse') : `${resolve(source)}-sparse`;
      const options: ImportOptions = {
        out: opts.out ?? defaultOut, allowMissing: opts.allowMissing, images: opts.images, overwrite: opts.overwrite,
        onProgress: opts.progress ? progressReporter('importing') : undefined,
      };
      const result = opts.from === 'nnunet' ? await importNnunet(source, { ...options, emptySlices: opts.emptySlices })
        : opts.from === 'slices' ? await importSlices(source, options)
        : await importPlan(source, opts.plan!, options);
      process.stdout.write(report(result));
    });
}

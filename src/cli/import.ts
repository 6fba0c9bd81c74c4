import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { missingSummary, type ImportResult } from '../annotate/import/common.js';
import { importNnunet } from '../annotate/import/nnunet.js';
import { importSlices } from '../annotate/import/slices.js';
import { progressReporter } from './common.js';

interface ImportCliOptions {
  from: 'nnunet' | 'slices';
  out?: string;
  allowMissing: boolean;
  images: 'symlink' | 'reference';
  overwrite: boolean;
  progress: boolean;
}

function report(r: ImportResult): string {
  const lines = [`${r.folder}: ${r.importedCases} cases, ${r.annotatedSlices} of ${r.plannedSlices} planned slices annotated`];
  for (const d of r.droppedPaint) lines.push(`dropped paint outside the plan: case ${d.caseId} slice ${d.slice} (${d.voxels} voxels) in ${d.file}`);
  for (const f of r.strayFiles) lines.push(`ignored ${f}: it matches no planned slice`);
  if (r.missing.length > 0) lines.push(`remaining: ${missingSummary(r.missing, Infinity)}`);
  return lines.join('\n') + '\n';
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('take annotators\' work back from an export folder as a sparse dataset (ignore-label volumes + the record of annotated slices)')
    .argument('<export-dir>', 'folder written by slicewise export (the DatasetNNN_Name folder for nnunet)')
    .addOption(new Option('--from <format>', 'what the export was: nnunet or slices').choices(['nnunet', 'slices']).makeOptionMandatory())
    .option('--out <dir>', 'output sparse dataset folder (default: <export-dir>-sparse)')
    .option('--allow-missing', 'import what is done when planned slices are not annotated yet, and list what remains', false)
    .addOption(new Option('--images <how>', 'symlink the images into imagesTr/ or only reference their paths').choices(['symlink', 'reference']).default('symlink'))
    .option('--overwrite', 'replace the output folder if it exists (only once the new one is complete)', false)
    .option('--no-progress', 'no progress lines on stderr')
    .action(async (exportDir: string, opts: ImportCliOptions) => {
      const options = {
        out: opts.out ?? `${resolve(exportDir)}-sparse`, allowMissing: opts.allowMissing, images: opts.images, overwrite: opts.overwrite,
        onProgress: opts.progress ? progressReporter('importing') : undefined,
      };
      const result = opts.from === 'nnunet' ? await importNnunet(exportDir, options) : await importSlices(exportDir, options);
      process.stdout.write(report(result));
    });
}

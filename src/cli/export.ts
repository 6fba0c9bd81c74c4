import { InvalidArgumentError, Option, type Command } from 'commander';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_DATASET_ID, exportNnunet } from '../annotate/export/nnunet.js';
import { parseLabelsOption } from '../annotate/export/record.js';
import { readPlanFile } from '../plan/read.js';
import { exportSlices } from '../annotate/export/slices.js';
import { UserError } from '../io/errors.js';
import { parseIntOption, progressReporter } from './common.js';

interface ExportCliOptions {
  to: 'nnunet' | 'slices';
  out?: string;
  datasetId: number;
  name?: string;
  labels?: string;
  window?: { level: number; width: number };
  imageUrlPrefix?: string;
  overwrite: boolean;
  progress: boolean;
}

function parseWindow(value: string): { level: number; width: number } {
  const parts = value.split(',').map((p) => p.trim());
  const [level, width] = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === '') || !Number.isFinite(level) || !(width > 0)) {
    throw new InvalidArgumentError(`--window must be level,width with width > 0 (e.g. 40,400), got "${value}"`);
  }
  return { level, width };
}

function labelLine(labelMap: Record<string, number>, ignoreValue: number, source: string): string {
  const entries = Object.entries(labelMap).sort((a, b) => a[1] - b[1]).map(([n, v]) => `${v} ${n}`);
  const list = entries.length > 12 ? `${entries.slice(0, 10).join(', ')}, ... (${entries.length} labels)` : entries.join(', ');
  return `labels (from ${source}): ${list}, ${ignoreValue} ignore`;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('hand a plan to annotators: an nnU-Net dataset with label templates (3D tools) or one PNG per planned slice (2D tools)')
    .argument('<plan>', 'plan.json written by slicewise plan')
    .addOption(new Option('--to <format>', 'nnunet (DatasetNNN_Name with label templates) or slices (PNGs, manifest.csv, Label Studio tasks)').choices(['nnunet', 'slices']).makeOptionMandatory())
    .option('--out <dir>', 'nnunet: folder the DatasetNNN_Name folder goes into (nnUNet_raw); slices: the export folder (default: beside the plan; slices: <plan folder>/slices)')
    .option('--dataset-id <n>', 'nnunet: dataset number NNN (1..999)', parseIntOption('--dataset-id', 1), DEFAULT_DATASET_ID)
    .option('--name <name>', 'nnunet: dataset name, letters and digits (default: from the plan\'s dataset folder)')
    .option('--labels <list>', 'label names and values, e.g. background=0,tumour=1 (default: the dataset\'s dataset.json, else the values in its label files)')
    .option('--window <level,width>', 'slices: CT window for every case (default: level 40 width 400 for images whose minimum is ≤ -500, else the 0.5-99.5 percentile range)', parseWindow)
    .option('--image-url-prefix <prefix>', "slices: put before each PNG's path (images/...) in the Label Studio tasks' data.image (default: /data/local-files/?d=<export folder name>/, Label Studio's local files with LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT = the export's parent folder)")
    .option('--overwrite', 'replace the export folder if it exists (only once the new one is complete)', false)
    .option('--no-progress', 'no progress lines on stderr')
    .action(async (planPath: string, opts: ExportCliOptions) => {
      if (opts.to !== 'slices' && opts.imageUrlPrefix !== undefined) throw new UserError('only applies to --to slices', '--image-url-prefix');
      const labels = opts.labels !== undefined ? parseLabelsOption(opts.labels) : undefined;
      const plan = await readPlanFile(planPath);
      const planDir = dirname(resolve(planPath));
      const onProgress = opts.progress ? progressReporter('exporting') : undefined;
      if (opts.to === 'nnunet') {
        const r = await exportNnunet(plan, { outParent: opts.out ?? planDir, datasetId: opts.datasetId, name: opts.name, labels, overwrite: opts.overwrite, onProgress });
        process.stdout.write(`${r.folder}: ${r.cases} cases, ${r.slices} planned slices to paint; images ${r.copiedImages} copied, ${r.convertedImages} converted\n`
          + `${labelLine(r.labels.labelMap, r.labels.ignoreValue, r.labels.source)}\n`);
      } else {
        const r = await exportSlices(plan, { out: opts.out ?? join(planDir, 'slices'), window: opts.window, imageUrlPrefix: opts.imageUrlPrefix, labels, overwrite: opts.overwrite, onProgress });
        process.stdout.write(`${r.folder}: ${r.slices} slice PNGs from ${r.cases} cases (${r.windowed} CT-windowed), manifest.csv, label-studio-tasks.json\n`
          + `${labelLine(r.labels.labelMap, r.labels.ignoreValue, r.labels.source)}\n`);
      }
    });
}

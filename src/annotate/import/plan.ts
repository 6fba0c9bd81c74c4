/**
 * Import dense labels through a plan: each planned case's full label volume keeps only its planned slices,
 * everything else becomes ignore (how studies simulate annotation). The result is the same sparse dataset
 * the other importers write. Every planned case must be in the dataset, labelled, with the planned slices
 * inside its volume; otherwise a one-line error names the plan file, the case and the slice.
 */
import { UserError } from '../../io/errors.js';
import { discoverDataset, loadCase, type Case, type Dataset } from '../../io/dataset.js';
import { readVolume } from '../../io/read.js';
import type { Volume } from '../../io/volume.js';
import { readPlanFile } from '../../plan/read.js';
import type { PlannedCase } from '../../plan/types.js';
import { ignoreValueFor, inferLabelMap, sparseFromPlan, type LabelMap } from '../sparse.js';
import { writeImport, type ImportOptions, type ImportResult } from './common.js';

/** The dataset's declared labels (without ignore), else the values found in the planned cases' label files. */
async function labelMapOf(dataset: Dataset, cases: Case[]): Promise<LabelMap> {
  if (dataset.labels) {
    const { ignore: _ignore, ...labelMap } = dataset.labels;
    return labelMap;
  }
  // One volume at a time rather than all held at once: the ignore value must be known before the first write.
  const found: LabelMap = {};
  for (const c of cases) Object.assign(found, inferLabelMap([await readVolume(c.labelPath!)]));
  return Object.fromEntries(Object.entries(found).sort((a, b) => a[1] - b[1]));
}

function checkPlannedSlices(planned: PlannedCase, label: Volume, labelPath: string, planPath: string): void {
  const count = label.shape[planned.axis];
  const beyond = planned.slices.find((k) => k >= count);
  if (beyond !== undefined) {
    throw new UserError(`case ${planned.id}: slice ${beyond} is beyond the volume (${count} slices along axis ${planned.axis} in ${labelPath})`, planPath);
  }
  if (count !== planned.sliceCount) {
    throw new UserError(`case ${planned.id}: planned on ${planned.sliceCount} slices along axis ${planned.axis}, ${labelPath} has ${count}`, planPath);
  }
}

export async function importPlan(datasetPath: string, planPath: string, options: ImportOptions): Promise<ImportResult> {
  const plan = await readPlanFile(planPath);
  const dataset = await discoverDataset(datasetPath);
  const byId = new Map(dataset.cases.map((c) => [c.id, c]));
  // Every planned case is found before any volume is read.
  const cases = plan.cases.map((planned) => {
    const found = byId.get(planned.id);
    if (!found) throw new UserError(`case ${planned.id} is not in the dataset ${dataset.root}`, planPath);
    if (!found.labelPath) throw new UserError(`case ${planned.id} has no label file in the dataset ${dataset.root}`, planPath);
    return found;
  });
  const labelMap = await labelMapOf(dataset, cases);
  const labels = { name: dataset.name, labelMap, ignoreValue: ignoreValueFor(labelMap) };
  const result = await writeImport(planPath, plan, labels, options, async (index) => {
    const planned = plan.cases[index];
    const { label } = await loadCase(dataset, cases[index]);
    checkPlannedSlices(planned, label!, cases[index].labelPath!, planPath);
    return { sparse: sparseFromPlan(label!, planned, labels), imagePaths: cases[index].imagePaths, missing: [] };
  });
  return { ...result, droppedPaint: [], strayFiles: [] };
}

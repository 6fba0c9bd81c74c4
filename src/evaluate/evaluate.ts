/**
 * Evaluate a folder of predicted label maps against a folder of reference labels, matched by case id
 * (nnU-Net naming: `CASE.nii.gz` in both). Per case and label: Dice, IoU, HD95 (metrics.ts); per label:
 * mean ± sd over cases; with a plan, Dice by distance to the nearest annotated slice (by-distance.ts).
 * Label cases without a prediction, and predictions without a label, are reported, not fatal.
 */
import { readFile, readdir, stat, mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { UserError, fileSystemError } from '../io/errors.js';
import { parseLabelMap } from '../io/dataset.js';
import { isVolumePath, readVolume, stripVolumeExtension, writeFileAtomic } from '../io/read.js';
import { sameGeometry, type Volume } from '../io/volume.js';
import type { Plan, PlannedCase } from '../plan/types.js';
import { readPlanFile } from '../plan/read.js';
export { readPlanFile };
import { DistanceDiceAccumulator, type DistanceRow } from './by-distance.js';
import { caseMetrics, type LabelMetrics } from './metrics.js';

export interface EvaluateOptions {
  /** A plan (object or path to its JSON) for the Dice-by-distance table. */
  plan?: Plan | string;
  /** Reference value excluded from every metric; default: the `ignore` label of a dataset.json, else none. */
  ignoreValue?: number | null;
  /** Label values to evaluate; default: those of a dataset.json, else every non-zero value seen. */
  labels?: number[];
  onProgress?: (done: number, total: number) => void;
}

export interface CaseLabelResult extends LabelMetrics {
  caseId: string;
  labelName: string;
}

export interface Stat { mean: number | null; sd: number | null; n: number }

export interface LabelSummary {
  label: number;
  name: string;
  cases: number;
  dice: Stat;
  iou: Stat;
  /** Over the cases where HD95 is defined. */
  hd95: Stat;
  bothEmpty: number;
  predictionEmpty: number;
  referenceEmpty: number;
}

export interface EvaluationResult {
  predictionDir: string;
  labelDir: string;
  planPath: string | null;
  ignoreValue: number | null;
  labels: Array<{ value: number; name: string }>;
  /** Case ids evaluated, sorted. */
  cases: string[];
  perCase: CaseLabelResult[];
  summary: LabelSummary[];
  /** Case × label pairs where prediction and reference are both empty (counted as Dice 1, HD95 0). */
  bothEmptyCount: number;
  /** Label cases with no prediction file. */
  missingPredictions: string[];
  /** Prediction files with no label file. */
  unmatchedPredictions: string[];
  /** Pooled Dice by distance to the nearest annotated slice; null without a plan. */
  byDistance: DistanceRow[] | null;
  /** Evaluated cases left out of the by-distance table (not in the plan, or no annotated slice). */
  notInPlan: string[];
}

async function listCaseFiles(folder: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (err) {
    throw fileSystemError(err, folder);
  }
  const byId = new Map<string, string>();
  for (const name of names.filter((n) => !n.startsWith('.') && isVolumePath(n)).sort()) {
    const id = stripVolumeExtension(name);
    const other = byId.get(id);
    if (other) throw new UserError(`two files for case "${id}": ${basename(other)} and ${name}`, folder);
    byId.set(id, join(folder, name));
  }
  return byId;
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The label folder itself, or its labelsTr/ when given a dataset root; plus the nearest dataset.json's labels. */
async function resolveLabelFolder(labelDir: string): Promise<{ folder: string; labelMap: Record<string, number> | null }> {
  const root = resolve(labelDir);
  if (!(await isFolder(root))) throw new UserError('is not a folder of label files', labelDir);
  const folder = (await isFolder(join(root, 'labelsTr'))) ? join(root, 'labelsTr') : root;
  for (const candidate of [join(root, 'dataset.json'), join(root, '..', 'dataset.json')]) {
    let text: string;
    try {
      text = await readFile(candidate, 'utf8');
    } catch {
      continue;
    }
    let json: { labels?: unknown };
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new UserError(`is not valid JSON (${(err as Error).message})`, candidate);
    }
    if (json.labels !== undefined) return { folder, labelMap: parseLabelMap(json.labels, candidate) };
  }
  return { folder, labelMap: null };
}


function assertIntegerLabels(volume: Volume, path: string): void {
  const data = volume.data;
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isInteger(data[i])) throw new UserError(`holds non-integer value ${data[i]} (expected a label map)`, path);
  }
}

function describeGeometry(v: Volume): string {
  const f = (a: number[]) => a.map((x) => +x.toFixed(4)).join('×');
  return `shape ${v.shape.join('×')}, spacing ${f(v.spacing)}, origin ${f(v.origin)}`;
}

/** Mean and sample standard deviation (n − 1); sd null below two values. */
export function meanSd(values: number[]): Stat {
  const n = values.length;
  if (n === 0) return { mean: null, sd: null, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, sd: null, n };
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, sd: Math.sqrt(variance), n };
}

function distinctNonZero(data: ArrayLike<number>, into: Set<number>, ignoreValue: number | null): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== 0 && v !== ignoreValue) into.add(v);
  }
}

export async function evaluateFolders(predDir: string, labelDir: string, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const { folder: labelFolder, labelMap } = await resolveLabelFolder(labelDir);
  if (!(await isFolder(predDir))) throw new UserError('is not a folder of predictions', predDir);
  const predictions = await listCaseFiles(resolve(predDir));
  const references = await listCaseFiles(labelFolder);
  const ignoreValue = options.ignoreValue !== undefined ? options.ignoreValue : (labelMap?.ignore ?? null);
  const plan = typeof options.plan === 'string' ? await readPlanFile(options.plan) : options.plan ?? null;
  const planPath = typeof options.plan === 'string' ? options.plan : null;
  const planSubject = planPath ?? 'plan';
  const plannedById = new Map<string, PlannedCase>((plan?.cases ?? []).map((c) => [c.id, c]));

  const caseIds = [...references.keys()].filter((id) => predictions.has(id)).sort();
  const missingPredictions = [...references.keys()].filter((id) => !predictions.has(id)).sort();
  const unmatchedPredictions = [...predictions.keys()].filter((id) => !references.has(id)).sort();
  if (caseIds.length === 0) {
    throw new UserError(`no prediction matches a label file by case id (${predictions.size} predictions, ${references.size} labels in ${labelFolder})`, predDir);
  }

  // Fixed label set when known; otherwise each case is scored on the labels it holds and the others are
  // filled in afterwards as both-empty (which is exactly what they are in that case).
  const fixedLabels = options.labels ?? (labelMap ? Object.entries(labelMap).filter(([k, v]) => v !== 0 && k !== 'ignore').map(([, v]) => v) : null);
  const seenLabels = new Set<number>(fixedLabels ?? []);
  const scored = new Map<string, LabelMetrics[]>();
  const byDistance = plan ? new DistanceDiceAccumulator(ignoreValue) : null;
  const notInPlan: string[] = [];

  for (const [n, id] of caseIds.entries()) {
    const predPath = predictions.get(id)!;
    const refPath = references.get(id)!;
    const [prediction, reference] = await Promise.all([readVolume(predPath), readVolume(refPath)]);
    if (!sameGeometry(prediction.geometry, reference.geometry)) {
      throw new UserError(`geometry (${describeGeometry(prediction)}) differs from its label ${refPath} (${describeGeometry(reference)})`, predPath);
    }
    assertIntegerLabels(prediction, predPath);
    let labels: number[];
    if (fixedLabels) {
      labels = fixedLabels;
    } else {
      const present = new Set<number>();
      distinctNonZero(reference.data, present, ignoreValue);
      distinctNonZero(prediction.data, present, ignoreValue);
      labels = [...present];
      for (const l of labels) seenLabels.add(l);
    }
    scored.set(id, caseMetrics(prediction, reference, labels, { ignoreValue }));

    if (byDistance) {
      const planned = plannedById.get(id);
      if (!planned || planned.slices.length === 0) {
        notInPlan.push(id);
      } else {
        if (planned.sliceCount !== reference.shape[planned.axis]) {
          throw new UserError(`case ${id} has ${planned.sliceCount} slices along axis ${planned.axis} in the plan, but ${reference.shape[planned.axis]} in ${refPath}`, planSubject);
        }
        const outside = planned.slices.find((s) => s >= planned.sliceCount);
        if (outside !== undefined) throw new UserError(`case ${id}: slice ${outside} is outside 0..${planned.sliceCount - 1}`, planSubject);
        byDistance.addCase(prediction.data, reference.data, reference.shape, planned.axis, planned.slices);
      }
    }
    options.onProgress?.(n + 1, caseIds.length);
  }

  const labelValues = [...seenLabels].sort((a, b) => a - b);
  const nameOf = new Map<number, string>(labelMap ? Object.entries(labelMap).map(([k, v]) => [v, k]) : []);
  const labels = labelValues.map((value) => ({ value, name: nameOf.get(value) ?? String(value) }));

  const perCase: CaseLabelResult[] = [];
  for (const id of caseIds) {
    const metrics = new Map(scored.get(id)!.map((m) => [m.label, m]));
    for (const { value, name } of labels) {
      const m: LabelMetrics = metrics.get(value) ?? {
        label: value, dice: 1, iou: 1, hd95: 0, predictionVoxels: 0, referenceVoxels: 0, intersectionVoxels: 0, status: 'both-empty',
      };
      perCase.push({ caseId: id, labelName: name, ...m });
    }
  }

  const summary: LabelSummary[] = labels.map(({ value, name }) => {
    const rows = perCase.filter((r) => r.label === value);
    const count = (s: LabelMetrics['status']) => rows.filter((r) => r.status === s).length;
    return {
      label: value, name, cases: rows.length,
      dice: meanSd(rows.map((r) => r.dice)),
      iou: meanSd(rows.map((r) => r.iou)),
      hd95: meanSd(rows.flatMap((r) => (r.hd95 === null ? [] : [r.hd95]))),
      bothEmpty: count('both-empty'), predictionEmpty: count('prediction-empty'), referenceEmpty: count('reference-empty'),
    };
  });

  return {
    predictionDir: resolve(predDir), labelDir: labelFolder, planPath: planPath ? resolve(planPath) : null, ignoreValue,
    labels, cases: caseIds, perCase, summary,
    bothEmptyCount: perCase.filter((r) => r.status === 'both-empty').length,
    missingPredictions, unmatchedPredictions,
    byDistance: byDistance ? byDistance.rows(labelValues) : null,
    notInPlan,
  };
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCsv(header: string[], rows: Array<Array<string | number | null>>): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/**
 * Write metrics.csv (one row per case and label; empty hd95 = undefined), metrics.json (the whole result)
 * and, with a plan, metrics-by-distance.csv; each file atomically. Returns the paths written.
 */
export async function writeEvaluation(result: EvaluationResult, outDir: string): Promise<string[]> {
  try {
    await mkdir(outDir, { recursive: true });
  } catch (err) {
    throw fileSystemError(err, outDir);
  }
  const written: string[] = [];
  const csvPath = join(outDir, 'metrics.csv');
  await writeFileAtomic(csvPath, toCsv(
    ['case', 'label', 'label_name', 'dice', 'iou', 'hd95_mm', 'status', 'prediction_voxels', 'reference_voxels', 'intersection_voxels'],
    result.perCase.map((r) => [r.caseId, r.label, r.labelName, r.dice, r.iou, r.hd95, r.status, r.predictionVoxels, r.referenceVoxels, r.intersectionVoxels]),
  ));
  written.push(csvPath);
  if (result.byDistance) {
    const distancePath = join(outDir, 'metrics-by-distance.csv');
    await writeFileAtomic(distancePath, toCsv(
      ['distance', 'label', 'dice', 'slices', 'cases', 'prediction_voxels', 'reference_voxels', 'intersection_voxels'],
      result.byDistance.map((r) => [r.distance, r.label, r.dice, r.slices, r.cases, r.predictionVoxels, r.referenceVoxels, r.intersectionVoxels]),
    ));
    written.push(distancePath);
  }
  const jsonPath = join(outDir, 'metrics.json');
  await writeFileAtomic(jsonPath, JSON.stringify(result, null, 2) + '\n');
  written.push(jsonPath);
  return written;
}

/**
 * What export and import share: the export record (`slicewise-export.json`: kind, labels, per-case image
 * geometry), the plan copy, the label map resolution, and a staging folder that is renamed into place only
 * when complete.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseLabelMap } from '../../io/dataset.js';
import { readJsonFile } from '../../io/json.js';
import { readPlanFile } from '../../plan/read.js';
import { UserError } from '../../io/errors.js';
import { readVolume, writeFileAtomic } from '../../io/read.js';
import type { Geometry, Volume } from '../../io/volume.js';
import { planSchema, type Plan } from '../../plan/types.js';
import { ignoreValueFor, inferLabelMap, type LabelMap } from '../sparse.js';

export const EXPORT_RECORD_FILE = 'slicewise-export.json';
export const EXPORT_PLAN_FILE = 'plan.json';
export const EXPORT_FORMAT_VERSION = 1;
export type ExportKind = 'nnunet' | 'slices';

const vec3 = z.tuple([z.number(), z.number(), z.number()]);
const exportCaseSchema = z.object({
  id: z.string().min(1),
  /** The image the plan names (absolute). */
  sourceImage: z.string(),
  geometry: z.object({
    shape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
    spacing: vec3,
    origin: vec3,
    direction: z.tuple([z.number(), z.number(), z.number(), z.number(), z.number(), z.number(), z.number(), z.number(), z.number()]),
  }),
});

const exportRecordSchema = z.object({
  format: z.literal('slicewise-export'),
  version: z.literal(EXPORT_FORMAT_VERSION),
  to: z.enum(['nnunet', 'slices']),
  name: z.string(),
  /** Declared labels without `ignore`. */
  labels: z.record(z.string(), z.number().int().nonnegative()),
  ignoreValue: z.number().int().positive(),
  /** How the 8-bit intensities were made (slices only). */
  intensity: z.record(z.string(), z.unknown()).optional(),
  cases: z.array(exportCaseSchema),
});

export type ExportRecord = z.infer<typeof exportRecordSchema>;
export type ExportCase = ExportRecord['cases'][number];

export function caseGeometry(volume: Volume): ExportCase['geometry'] {
  const g: Geometry = volume.geometry;
  return { shape: g.shape, spacing: g.spacing, origin: g.origin, direction: g.direction };
}


export { withStagingFolder } from '../../io/staging.js';

export async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}


/** An export folder as import sees it: the record, the plan copied into it, and the folder. */
export interface ExportFolder {
  root: string;
  record: ExportRecord;
  plan: Plan;
}

export async function readExportFolder(dir: string, kind: ExportKind): Promise<ExportFolder> {
  const root = resolve(dir);
  const recordPath = join(root, EXPORT_RECORD_FILE);
  if (!(await pathExists(root))) throw new UserError('no such file or folder', root);
  if (!(await pathExists(recordPath))) throw new UserError(`has no ${EXPORT_RECORD_FILE}; is it a folder written by slicewise export?`, root);
  const parsed = exportRecordSchema.safeParse(await readJsonFile(recordPath));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${issue.path.join('.') || 'record'}: ${issue.message}`, recordPath);
  }
  const record = parsed.data;
  if (record.to !== kind) throw new UserError(`was exported --to ${record.to}, not ${kind}; import it with --from ${record.to}`, root);
  const plan = await readPlanFile(join(root, EXPORT_PLAN_FILE));
  const known = new Set(record.cases.map((c) => c.id));
  const unknown = plan.cases.find((c) => !known.has(c.id));
  if (unknown) throw new UserError(`plans case ${unknown.id}, which ${EXPORT_RECORD_FILE} does not list`, join(root, EXPORT_PLAN_FILE));
  return { root, record, plan };
}

export async function writeExportRecord(dir: string, record: ExportRecord): Promise<void> {
  await writeFileAtomic(join(dir, EXPORT_RECORD_FILE), JSON.stringify(exportRecordSchema.parse(record), null, 1) + '\n');
}

/** `--labels background=0,anterior=1,...`; background = 0 is added when 0 is not named. */
export function parseLabelsOption(text: string): LabelMap {
  const map: LabelMap = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_.\- ]+)=(\d+)$/.exec(part);
    if (!m) throw new UserError(`"${part}" is not name=value (e.g. background=0,tumour=1)`, '--labels');
    const name = m[1].trim();
    if (name === 'ignore') throw new UserError('"ignore" is added by slicewise (one above the highest label); do not declare it', '--labels');
    if (name in map) throw new UserError(`label "${name}" is given twice`, '--labels');
    if (Object.values(map).includes(Number(m[2]))) throw new UserError(`value ${m[2]} is given twice`, '--labels');
    map[name] = Number(m[2]);
  }
  if (Object.keys(map).length === 0) throw new UserError('names no label', '--labels');
  if (!Object.values(map).includes(0)) map.background = 0;
  return map;
}

export interface ResolvedLabels {
  labelMap: LabelMap;
  ignoreValue: number;
  source: string;
}

/**
 * The labels annotators paint: `--labels` when given, else the dataset's dataset.json, else the values in
 * the planned cases' label files; with none of these, a user error asking for `--labels`.
 */
export async function resolveExportLabels(plan: Plan, explicit?: LabelMap): Promise<ResolvedLabels> {
  const done = (labelMap: LabelMap, source: string): ResolvedLabels => ({ labelMap, ignoreValue: ignoreValueFor(labelMap), source });
  if (explicit) return done(explicit, '--labels');
  const datasetJson = join(plan.dataset, 'dataset.json');
  if (await pathExists(datasetJson)) {
    const raw = (await readJsonFile(datasetJson)) as { labels?: unknown };
    if (raw.labels !== undefined) {
      const { ignore: _ignore, ...labelMap } = parseLabelMap(raw.labels, datasetJson);
      return done(labelMap, datasetJson);
    }
  }
  const labelPaths = plan.cases.map((c) => c.labelPath).filter((p): p is string => p !== undefined);
  if (labelPaths.length > 0) {
    const volumes: Volume[] = [];
    for (const path of labelPaths) volumes.push(await readVolume(path));
    return done(inferLabelMap(volumes), `the label files of the ${labelPaths.length} planned case(s)`);
  }
  throw new UserError(`the dataset has neither dataset.json labels nor label files; name the labels with --labels background=0,name=1,...`, '--labels');
}

/** Intensity statistics that decide CT handling: a minimum at or below −500 looks like Hounsfield units. */
export const CT_MINIMUM_HU = -500;
export const CT_DEFAULT_WINDOW = { level: 40, width: 400 };

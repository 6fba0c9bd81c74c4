/**
 * Import a slices export: masks/<file>.png per manifest row, 8-bit grayscale, pixel value = label value,
 * mapped back into the volume through the row's stored transposition and flips. The manifest must list
 * exactly the planned slices with the sizes the images have; a missing mask is a slice not yet annotated;
 * a mask of another size, in colour, or with an undeclared value refuses the import naming the file.
 */
import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PNG } from 'pngjs';
import { UserError, fileSystemError } from '../../io/errors.js';
import { Volume } from '../../io/volume.js';
import { validateSparse, type SparseLabels } from '../sparse.js';
import { displaySize, forEachDisplayPixel, inPlaneAxes, type DisplayTransform } from '../export/orientation.js';
import { pathExists, readExportFolder, type ExportRecord } from '../export/record.js';
import { MANIFEST_FILE, MASKS_DIR } from '../export/slices.js';
import type { Plan } from '../../plan/types.js';
import { writeImport, type ImportOptions, type ImportResult, type ImportedCase } from './common.js';

/** Split CSV text into rows of fields (RFC 4180 quoting). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += ch;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

export interface ManifestRow {
  /** 1-based line number in manifest.csv (for messages). */
  line: number;
  file: string;
  caseId: string;
  slice: number;
  transform: DisplayTransform;
  width: number;
  height: number;
}

const REQUIRED = ['file', 'case', 'slice_index', 'transpose', 'flip_horizontal', 'flip_vertical', 'width', 'height'];

/**
 * Read manifest.csv and check it against the plan and the exported geometry: every row a planned slice,
 * every planned slice exactly one row, each row's size the size its transform gives the slice.
 */
export async function readManifest(root: string, plan: Plan, record: ExportRecord): Promise<ManifestRow[]> {
  const path = join(root, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fileSystemError(err, path);
  }
  const [header, ...body] = parseCsv(text);
  const column = new Map((header ?? []).map((name, i) => [name.trim(), i]));
  const absent = REQUIRED.find((c) => !column.has(c));
  if (absent) throw new UserError(`has no "${absent}" column`, path);
  const plannedById = new Map(plan.cases.map((c) => [c.id, c]));
  const geometryById = new Map(record.cases.map((c) => [c.id, c.geometry]));
  const seen = new Set<string>();
  const rows: ManifestRow[] = body.map((fields, r) => {
    const line = r + 2;
    const get = (name: string) => (fields[column.get(name)!] ?? '').trim();
    const integer = (name: string, min = 0) => {
      const n = Number(get(name));
      if (!/^\d+$/.test(get(name)) || n < min) throw new UserError(`line ${line}: ${name} "${get(name)}" is not an integer ≥ ${min}`, path);
      return n;
    };
    const flag = (name: string) => {
      const v = get(name);
      if (v !== '0' && v !== '1') throw new UserError(`line ${line}: ${name} must be 0 or 1, got "${v}"`, path);
      return v === '1';
    };
    const caseId = get('case');
    const planned = plannedById.get(caseId);
    if (!planned) throw new UserError(`line ${line}: case "${caseId}" is not in the plan`, path);
    const slice = integer('slice_index');
    if (!planned.slices.includes(slice)) throw new UserError(`line ${line}: slice ${slice} of case ${caseId} is not a planned slice`, path);
    const key = `${caseId}\u0000${slice}`;
    if (seen.has(key)) throw new UserError(`line ${line}: case ${caseId} slice ${slice} is listed twice`, path);
    seen.add(key);
    const transform: DisplayTransform = { transpose: flag('transpose'), flipHorizontal: flag('flip_horizontal'), flipVertical: flag('flip_vertical') };
    const width = integer('width', 1), height = integer('height', 1);
    const shape = geometryById.get(caseId)!.shape;
    const [a, b] = inPlaneAxes(planned.axis);
    const [w, h] = displaySize(transform, shape[a], shape[b]);
    if (w !== width || h !== height) throw new UserError(`line ${line}: ${width}×${height} does not match case ${caseId}'s slices (${w}×${h} with this transpose)`, path);
    return { line, file: get('file'), caseId, slice, transform, width, height };
  });
  for (const c of plan.cases) {
    const unlisted = c.slices.find((k) => !seen.has(`${c.id}\u0000${k}`));
    if (unlisted !== undefined) throw new UserError(`planned slice ${unlisted} of case ${c.id} has no row`, path);
  }
  return rows;
}

/** Decode a mask PNG to one value per pixel (row-major); refuses colour. */
export function decodeMask(bytes: Buffer, path: string): { width: number; height: number; values: Uint8Array | Uint16Array } {
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(bytes, { skipRescale: true });
  } catch (err) {
    throw new UserError(`is not a readable PNG (${(err as Error).message})`, path);
  }
  const { width, height } = png;
  const n = width * height;
  const rgba = png.data as unknown as ArrayLike<number>;
  const values = png.depth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    const r = rgba[4 * p], g = rgba[4 * p + 1], b = rgba[4 * p + 2];
    if (r !== g || g !== b) throw new UserError(`is a colour image (pixel ${p % width},${Math.floor(p / width)} is ${r},${g},${b}); save masks as grayscale, pixel value = label value`, path);
    values[p] = r;
  }
  return { width, height, values };
}

export async function importSlices(exportDir: string, options: ImportOptions): Promise<ImportResult> {
  const { root, record, plan } = await readExportFolder(exportDir, 'slices');
  const rows = await readManifest(root, plan, record);
  const byCase = new Map<string, ManifestRow[]>();
  for (const row of rows) byCase.set(row.caseId, [...(byCase.get(row.caseId) ?? []), row]);
  const allowed = new Set(Object.values(record.labels));
  const allowedText = [...allowed].sort((a, b) => a - b).join(', ');
  const masksDir = join(root, MASKS_DIR);
  const expected = new Set(rows.map((r) => basename(r.file)));
  const strayFiles = (await pathExists(masksDir) ? await readdir(masksDir) : [])
    .filter((f) => !f.startsWith('.') && !expected.has(f)).sort().map((f) => `${MASKS_DIR}/${f}`);

  const result = await writeImport(root, plan, { name: record.name, labelMap: record.labels, ignoreValue: record.ignoreValue }, options, async (index): Promise<ImportedCase> => {
    const planned = plan.cases[index];
    const exported = record.cases.find((c) => c.id === planned.id)!;
    const geometry = exported.geometry;
    const ignore = record.ignoreValue;
    const data = ignore < 256 ? new Uint8Array(geometry.shape[0] * geometry.shape[1] * geometry.shape[2]) : new Uint16Array(geometry.shape[0] * geometry.shape[1] * geometry.shape[2]);
    data.fill(ignore);
    const done: number[] = [];
    const missing: number[] = [];
    for (const row of (byCase.get(planned.id) ?? []).sort((x, y) => x.slice - y.slice)) {
      const maskPath = join(masksDir, basename(row.file));
      if (!(await pathExists(maskPath))) { missing.push(row.slice); continue; }
      let bytes: Buffer;
      try {
        bytes = await readFile(maskPath);
      } catch (err) {
        throw fileSystemError(err, maskPath);
      }
      const mask = decodeMask(bytes, maskPath);
      if (mask.width !== row.width || mask.height !== row.height) {
        throw new UserError(`is ${mask.width}×${mask.height}, its image (manifest line ${row.line}) is ${row.width}×${row.height}`, maskPath);
      }
      const bad = mask.values.findIndex((v) => !allowed.has(v));
      if (bad >= 0) throw new UserError(`pixel ${bad % mask.width},${Math.floor(bad / mask.width)} has value ${mask.values[bad]}, not a declared label (${allowedText})`, maskPath);
      forEachDisplayPixel(geometry.shape, planned.axis, row.slice, row.transform, (pixel, offset) => { data[offset] = mask.values[pixel]; });
      done.push(row.slice);
    }
    const imagePaths = [exported.sourceImage];
    if (done.length === 0) return { sparse: null, imagePaths, missing };
    const sparse: SparseLabels = {
      caseId: planned.id, labels: new Volume(data, geometry), ignoreValue: ignore, axis: planned.axis, annotatedSlices: done, interpolatedSlices: [],
    };
    validateSparse(sparse, { labelMap: record.labels });
    return { sparse, imagePaths, missing };
  });
  return { ...result, droppedPaint: [], strayFiles };
}

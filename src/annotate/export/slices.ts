/**
 * Export a plan as one 8-bit grayscale PNG per planned slice for 2D tools (CVAT, Label Studio, any painter):
 *   images/CASE_slice-KKK.png   the slice in radiological display orientation, at its own resolution
 *   manifest.csv                per PNG: case, slice, position, orientation and the exact flips/transposition
 *   label-studio-tasks.json     one task per PNG (data.image = a URL Label Studio can load: the image URL prefix +
 *                               the PNG's relative path; by default its local-files URL, see defaultImageUrlPrefix)
 *   plan.json, slicewise-export.json, ANNOTATORS.md; annotators put their masks in masks/ under the same names.
 * Intensities: a CT window (level 40, width 400 by default) when the image looks like CT (minimum ≤ −500) or
 * a window is given, otherwise the volume's 0.5–99.5 percentile range, mapped to 0..255.
 */
import { basename, join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { UserError } from '../../io/errors.js';
import { intensityRange, percentiles } from '../../io/normalize.js';
import { readVolume, writeFileAtomic } from '../../io/read.js';
import type { Volume, VoxelArray } from '../../io/volume.js';
import type { Plan, PlannedCase } from '../../plan/types.js';
import type { LabelMap } from '../sparse.js';
import { forEachDisplayPixel, sliceDisplay, type SliceDisplay } from './orientation.js';
import {
  CT_DEFAULT_WINDOW, CT_MINIMUM_HU, EXPORT_FORMAT_VERSION, EXPORT_PLAN_FILE, caseGeometry, resolveExportLabels, withStagingFolder,
  writeExportRecord, type ExportCase, type ResolvedLabels,
} from './record.js';

export const MANIFEST_FILE = 'manifest.csv';
export const LABEL_STUDIO_FILE = 'label-studio-tasks.json';
export const IMAGES_DIR = 'images';
export const MASKS_DIR = 'masks';

export const MANIFEST_COLUMNS = [
  'file', 'case', 'slice_index', 'slice', 'position_mm', 'axis', 'plane', 'rows_toward', 'columns_toward',
  'transpose', 'flip_horizontal', 'flip_vertical', 'width', 'height', 'pixel_width_mm', 'pixel_height_mm', 'aspect', 'intensity',
] as const;

export interface SlicesExportOptions {
  out: string;
  /** Force a CT window (level, width) for every case. */
  window?: { level: number; width: number };
  labels?: LabelMap;
  overwrite?: boolean;
  /** Prepended to each PNG's relative path in the Label Studio tasks (default: defaultImageUrlPrefix(out)). */
  imageUrlPrefix?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface SlicesExportResult {
  folder: string;
  cases: number;
  slices: number;
  labels: ResolvedLabels;
  /** Cases shown through a CT window. */
  windowed: number;
}

/** Intensity → 0..255: a window [lo, hi] with a description for the manifest. */
interface IntensityMap { lo: number; hi: number; description: string }

export function intensityMapFor(data: VoxelArray, window?: { level: number; width: number }): IntensityMap {
  const ct = window ?? (intensityRange(data)[0] <= CT_MINIMUM_HU ? CT_DEFAULT_WINDOW : undefined);
  if (ct) return { lo: ct.level - ct.width / 2, hi: ct.level + ct.width / 2, description: `window L${ct.level} W${ct.width}` };
  const [lo, hi] = percentiles(data, [0.5, 99.5]);
  return { lo, hi, description: `percentile 0.5-99.5 [${round(lo)} ${round(hi)}]` };
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  const r = Math.round(x * f) / f;
  return r === 0 ? 0 : r;
}

/**
 * Label Studio's local-files URL of the export folder: what it serves with local file serving enabled and
 * LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT set to the export's parent folder.
 */
export function defaultImageUrlPrefix(out: string): string {
  return `/data/local-files/?d=${encodeURIComponent(basename(resolve(out)))}/`;
}

/** The URL of an export-relative path (`images/X.png`) under `prefix`, each path segment URL-encoded. */
export function imageUrl(prefix: string, relativePath: string): string {
  return prefix + relativePath.split('/').map(encodeURIComponent).join('/');
}

export function sliceFileName(caseId: string, index: number, sliceCount: number): string {
  return `${caseId}_slice-${String(index).padStart(Math.max(3, String(sliceCount - 1).length), '0')}.png`;
}

/** Encode `pixels` (one byte each, row-major) as an 8-bit grayscale PNG. */
export function encodeGray8(width: number, height: number, pixels: Uint8Array): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
}

/** The display pixels of one slice, intensities mapped to 0..255. */
export function renderSlice(image: Volume, axis: 0 | 1 | 2, index: number, display: SliceDisplay, map: IntensityMap): Uint8Array {
  const out = new Uint8Array(display.width * display.height);
  const scale = map.hi > map.lo ? 255 / (map.hi - map.lo) : 0;
  const data = image.data;
  forEachDisplayPixel(image.shape, axis, index, display, (pixel, offset) => {
    out[pixel] = Math.round(Math.min(255, Math.max(0, (data[offset] - map.lo) * scale)));
  });
  return out;
}

export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function manifestRow(file: string, planned: PlannedCase, i: number, display: SliceDisplay, map: IntensityMap): string {
  const k = planned.slices[i];
  const values: Record<(typeof MANIFEST_COLUMNS)[number], string | number> = {
    file, case: planned.id, slice_index: k, slice: k + 1, position_mm: planned.positionsMm[i], axis: planned.axis, plane: display.plane,
    rows_toward: display.rowsToward, columns_toward: display.columnsToward,
    transpose: Number(display.transpose), flip_horizontal: Number(display.flipHorizontal), flip_vertical: Number(display.flipVertical),
    width: display.width, height: display.height, pixel_width_mm: round(display.pixelWidthMm), pixel_height_mm: round(display.pixelHeightMm),
    aspect: round(display.pixelHeightMm / display.pixelWidthMm), intensity: map.description,
  };
  return MANIFEST_COLUMNS.map((c) => csvField(values[c])).join(',');
}

export async function exportSlices(plan: Plan, options: SlicesExportOptions): Promise<SlicesExportResult> {
  if (options.window && !(options.window.width > 0)) throw new UserError(`width must be positive, got ${options.window.width}`, '--window');
  if (plan.cases.length === 0) throw new UserError('plans no case; nothing to export', EXPORT_PLAN_FILE);
  const labels = await resolveExportLabels(plan, options.labels);
  const urlPrefix = options.imageUrlPrefix ?? defaultImageUrlPrefix(options.out);
  const rows: string[] = [MANIFEST_COLUMNS.join(',')];
  const tasks: Array<{ data: Record<string, string | number> }> = [];
  const cases: ExportCase[] = [];
  let windowed = 0;
  const { path } = await withStagingFolder(options.out, options.overwrite ?? false, async (folder) => {
    const imagesDir = await folder.mkdir(IMAGES_DIR);
    await folder.mkdir(MASKS_DIR);
    for (const [c, planned] of plan.cases.entries()) {
      const image = await readVolume(planned.imagePath);
      if (image.shape[planned.axis] !== planned.sliceCount) {
        throw new UserError(`has ${image.shape[planned.axis]} slices along axis ${planned.axis}, the plan expects ${planned.sliceCount}`, planned.imagePath);
      }
      const display = sliceDisplay(image.direction, image.shape, image.spacing, planned.axis);
      const map = intensityMapFor(image.data, options.window);
      if (map.description.startsWith('window')) windowed++;
      for (const [i, k] of planned.slices.entries()) {
        const file = sliceFileName(planned.id, k, planned.sliceCount);
        await writeFileAtomic(join(imagesDir, file), encodeGray8(display.width, display.height, renderSlice(image, planned.axis, k, display, map)));
        rows.push(manifestRow(`${IMAGES_DIR}/${file}`, planned, i, display, map));
        tasks.push({ data: { image: imageUrl(urlPrefix, `${IMAGES_DIR}/${file}`), case: planned.id, slice_index: k, slice: k + 1, position_mm: planned.positionsMm[i], mask: `${MASKS_DIR}/${file}` } });
      }
      cases.push({ id: planned.id, sourceImage: planned.imagePath, geometry: caseGeometry(image) });
      options.onProgress?.(c + 1, plan.cases.length);
    }
    await writeFileAtomic(join(folder.path, MANIFEST_FILE), rows.join('\n') + '\n');
    await writeFileAtomic(join(folder.path, LABEL_STUDIO_FILE), JSON.stringify(tasks, null, 1) + '\n');
    await writeFileAtomic(join(folder.path, EXPORT_PLAN_FILE), JSON.stringify(plan, null, 2) + '\n');
    await writeFileAtomic(join(folder.path, 'ANNOTATORS.md'), annotatorsGuide(labels, tasks.length, urlPrefix, options.imageUrlPrefix === undefined));
    await writeExportRecord(folder.path, {
      format: 'slicewise-export', version: EXPORT_FORMAT_VERSION, to: 'slices', name: plan.dataset.split(/[\\/]/).filter(Boolean).pop() ?? 'dataset',
      labels: labels.labelMap, ignoreValue: labels.ignoreValue,
      intensity: options.window ? { window: options.window } : { ctWindowWhenMinimumAtMost: CT_MINIMUM_HU, ctWindow: CT_DEFAULT_WINDOW, otherwise: 'percentile 0.5-99.5' },
      cases,
    });
  });
  return { folder: path, cases: plan.cases.length, slices: tasks.length, labels, windowed };
}

function annotatorsGuide(labels: ResolvedLabels, count: number, urlPrefix: string, defaultPrefix: boolean): string {
  const rows = Object.entries(labels.labelMap).sort((a, b) => a[1] - b[1]).map(([name, value]) => `| ${value} | ${name} |`);
  return `# Annotating this export

There are ${count} slice images in \`${IMAGES_DIR}/\`, one PNG per slice to annotate. Paint every structure on
each of them (a slice with nothing on it is still annotated: save an all-background mask).

They are shown as radiologists view them: axial slices with anterior at the top and the patient's right on
your left; coronal slices with superior at the top and the patient's right on your left; sagittal slices with
superior at the top and anterior on your left (\`${MANIFEST_FILE}\` gives, per file, where rows and columns
point, e.g. rows_toward L = moving right goes toward the patient's left). Pixels may not be square: the
manifest gives the pixel size in mm (\`aspect\` = height / width); never resize an image or a mask.

| pixel value | label |
|---|---|
${rows.join('\n')}

**Save** each mask as an 8-bit grayscale PNG with the **same file name** as its image, in \`${MASKS_DIR}/\`, with
the same width and height; each pixel's value is the label value from the table (0 = background). Colour
masks, other sizes or other values are refused on import. Slices without a mask count as not yet annotated.

Label Studio: import \`${LABEL_STUDIO_FILE}\`; each task's data.image is ${urlPrefix ? `\`${urlPrefix}\` followed by ` : ''}the
PNG's path in this folder${defaultPrefix ? ` (Label Studio's local-files URL: start it with
LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT set to the folder that
holds this one, and add a "Local files" source storage for this folder; or export again with
--image-url-prefix pointing wherever the PNGs are served)` : ''}. Then export the brush masks and save them
into \`${MASKS_DIR}/\` as above.
Hand the whole folder back; it is read by \`slicewise import <this folder> --from slices\`.
`;
}

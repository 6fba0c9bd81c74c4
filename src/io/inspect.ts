import { discoverDataset, labelCounts, loadCase, type Case, type Dataset } from './dataset.js';
import { isUserError } from './errors.js';
import { orientationCode, resolveAxis, type AxisChoice } from './geometry.js';
import { intensityRange } from './normalize.js';

export interface CaseSummary {
  id: string;
  imagePaths: string[];
  labelPath: string | null;
  shape: number[];
  spacing: number[];
  orientation: string;
  axis: number;
  slices: number;
  dataType: string;
  intensityRange: [number, number];
  labelCounts: Record<string, number> | null;
}

export interface InspectResult {
  root: string;
  name: string;
  layout: Dataset['layout'];
  labels: Record<string, number> | null;
  cases: CaseSummary[];
  bad: Array<{ id: string; error: string }>;
  unpaired: Dataset['unpaired'];
  totals: { cases: number; slices: number; casesWithLabels: number; badCases: number; unpaired: number };
}

export interface InspectOptions {
  axis?: AxisChoice;
  /** Stop at the first bad case instead of reporting it and going on. */
  strict?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export async function summarizeCase(dataset: Dataset, c: Case, axisChoice?: AxisChoice): Promise<CaseSummary> {
  const loaded = await loadCase(dataset, c);
  const { image, label } = loaded;
  const axis = resolveAxis(axisChoice, image.direction);
  return {
    id: c.id,
    imagePaths: c.imagePaths,
    labelPath: c.labelPath ?? null,
    shape: [...image.shape],
    spacing: image.spacing.map((s) => Number(s.toPrecision(6))),
    orientation: orientationCode(image.direction),
    axis,
    slices: image.shape[axis],
    dataType: image.dataType,
    intensityRange: intensityRange(image.data),
    labelCounts: label ? Object.fromEntries([...labelCounts(label)].map(([v, n]) => [String(v), n])) : null,
  };
}

export async function inspectDataset(path: string, options: InspectOptions = {}): Promise<InspectResult> {
  const dataset = await discoverDataset(path);
  const all = [...dataset.cases, ...dataset.testCases];
  // One volume (a file or a DICOM series) is not a dataset to report on: its problem is the error.
  const strict = options.strict || dataset.layout === 'single-file' || dataset.layout === 'dicom-series';
  const cases: CaseSummary[] = [];
  const bad: InspectResult['bad'] = [];
  let done = 0;
  // A few reads in flight: decompression runs on libuv's thread pool.
  const queue = [...all];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      try {
        cases.push(await summarizeCase(dataset, c, options.axis));
      } catch (err) {
        if (!isUserError(err) || strict) throw err;
        bad.push({ id: c.id, error: err.message });
      }
      options.onProgress?.(++done, all.length);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  cases.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  bad.sort((a, b) => (a.id < b.id ? -1 : 1));
  return {
    root: dataset.root, name: dataset.name, layout: dataset.layout, labels: dataset.labels, cases, bad, unpaired: dataset.unpaired,
    totals: {
      cases: cases.length,
      slices: cases.reduce((n, c) => n + c.slices, 0),
      casesWithLabels: cases.filter((c) => c.labelPath).length,
      badCases: bad.length,
      unpaired: dataset.unpaired.length,
    },
  };
}

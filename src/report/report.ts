/** `writeReport`: study folder → report.html (self-contained) and cells.csv, written atomically. */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/read.js';
import { recommendations } from './conclusion.js';
import { cellsCsv } from './csv.js';
import { loadStudy } from './data.js';
import { analyseFindings, type FindingResult } from './findings.js';
import { renderReport } from './html.js';
import { allocationFigures, budgetFigures, interpolationFigures, strategyFigures } from './plots.js';

export interface ReportSummary {
  htmlPath: string;
  csvPath: string;
  cells: number;
  done: number;
  failed: number;
  figures: number;
  findings: FindingResult[];
  advice: string[];
}

export async function writeReport(studyDir: string, options: { outDir?: string; now?: Date } = {}): Promise<ReportSummary> {
  const dir = resolve(studyDir);
  const data = loadStudy(dir);
  const findings = analyseFindings(data);
  const advice = recommendations(data, findings);
  const figures = [...allocationFigures(data), ...strategyFigures(data), ...interpolationFigures(data), ...budgetFigures(data)];
  const html = renderReport({ data, findings, advice, figures, generatedAt: (options.now ?? new Date()).toISOString() });
  const outDir = resolve(options.outDir ?? dir);
  await mkdir(outDir, { recursive: true });
  const htmlPath = join(outDir, 'report.html');
  const csvPath = join(outDir, 'cells.csv');
  await writeFileAtomic(csvPath, cellsCsv(data));
  await writeFileAtomic(htmlPath, html);
  return {
    htmlPath, csvPath, cells: data.cells.length, done: data.cells.filter((c) => c.status === 'done').length,
    failed: data.cells.filter((c) => c.status === 'failed').length, figures: figures.length, findings, advice,
  };
}

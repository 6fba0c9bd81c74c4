/**
 * The study report: one self-contained HTML file (inline CSS and SVG, no script, no network) with the
 * conclusion first, then the findings with their paired tests, the figures, failed cells and the design.
 */
import { formatDuration } from '../study/progress.js';
import { describeArm, type StudyData } from './data.js';
import { describeComparison, formatP, type Comparison, type FindingResult } from './findings.js';
import type { Figure } from './plots.js';
import { escapeXml } from './svg.js';

const esc = escapeXml;
const pct = (v: number) => (v * 100).toFixed(1);

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1180px;margin:24px auto;padding:0 16px;color:#222;line-height:1.45}
h1{font-size:24px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:16px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}th{background:#f5f5f5}
.verdict{font-weight:600}.holds{color:#1a7f37}.does-not-hold{color:#b42318}.partly-holds,.inconclusive,.not-tested{color:#9a6700}
.figures{display:flex;flex-wrap:wrap;gap:12px}.figures svg{border:1px solid #eee}.note{color:#666;font-size:13px}
.sig{font-weight:600}`;

function comparisonTable(comparisons: Comparison[]): string {
  if (!comparisons.length) return '<p class="note">No comparison could be made.</p>';
  const rows = comparisons.map((c) => `<tr${c.significant ? ' class="sig"' : ''}><td>${esc(c.label)}</td><td>${pct(c.meanA)}</td><td>${pct(c.meanB)}</td>` +
    `<td>${c.difference.estimate >= 0 ? '+' : ''}${pct(c.difference.estimate)} [${pct(c.difference.low)}, ${pct(c.difference.high)}]</td><td>${c.cohensDz.toFixed(2)}</td>` +
    `<td>${c.n}</td><td>${formatP(c.p)}</td><td>${formatP(c.pHolm)}</td></tr>`).join('\n');
  return `<table><tr><th>comparison (A vs B)</th><th>Dice A %</th><th>Dice B %</th><th>A − B, points [95% CI]</th><th>d_z</th><th>pairs</th><th>p</th><th>Holm p</th></tr>\n${rows}</table>`;
}

function findingSection(f: FindingResult): string {
  const cls = f.verdict.replace(/ /g, '-');
  return `<h3>Finding ${f.number}: ${esc(f.claim)}</h3>
<p>On this dataset: <span class="verdict ${cls}">${esc(f.verdict)}</span>. ${esc(f.summary)}</p>
${comparisonTable(f.comparisons)}
${f.caveats.length ? `<p class="note">ual-pooled gives volumes unequal numbers of slices (the caveat under finding 2); shown apart, not counted in the verdict:</p>${comparisonTable(f.caveats)}` : ''}`;
}

function figureSection(title: string, intro: string, figures: Figure[]): string {
  return `<h2>${esc(title)}</h2><p class="note">${esc(intro)}</p>` +
    (figures.length ? `<div class="figures">${figures.map((f) => f.svg).join('\n')}</div>` : '<p class="note">This study has no cells for this figure.</p>');
}

export interface ReportParts {
  data: StudyData;
  findings: FindingResult[];
  advice: string[];
  figures: Figure[];
  generatedAt: string;
}

export function renderReport({ data, findings, advice, figures, generatedAt }: ReportParts): string {
  const done = data.cells.filter((c) => c.status === 'done');
  const failed = data.cells.filter((c) => c.status === 'failed');
  const waiting = data.cells.length - done.length - failed.length;
  const cellSeconds = done.reduce((a, c) => a + (c.seconds ?? 0), 0);
  const starts = data.cells.map((c) => c.startedAt).filter((t): t is string => !!t).map((t) => Date.parse(t));
  const ends = data.cells.map((c) => c.finishedAt).filter((t): t is string => !!t).map((t) => Date.parse(t));
  const span = starts.length && ends.length ? (Math.max(...ends) - Math.min(...starts)) / 1000 : 0;
  const testCases = new Set(data.rows.map((r) => r.caseId)).size;
  const seeds = data.config?.seeds ?? [];
  const name = data.dataset?.name ?? 'dataset';
  const bySection = (s: Figure['section']) => figures.filter((f) => f.section === s);
  const failedRows = failed.map((c) => `<tr><td>${esc(c.spec.id.slice(0, 12))}</td><td>${esc(describeArm({ key: '', config: c.spec.config, volumes: c.spec.volumes, slicesPerVolume: c.spec.slicesPerVolume, cells: new Map() }))}, seed ${c.spec.config.seed}</td><td>${c.attempts}</td><td>${esc(c.error ?? '')}</td></tr>`).join('\n');
  const experiments = (data.config?.experiments ?? []).map((e) => `<tr><td>${esc(e.name)}</td><td>${esc(e.budgets.join(', '))}</td><td>${esc(e.allocations.map((a) => JSON.stringify(a)).join(', '))}</td><td>${esc(e.strategies.join(', '))}</td><td>${esc(e.interpolations.join(', '))}</td><td>${esc(e.models.join(', '))}</td></tr>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>slicewise study: ${esc(name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>
<h1>Slice-selection study on ${esc(name)}</h1>
<p class="note">Generated ${esc(generatedAt)} from ${esc(data.dir)}. ${done.length} of ${data.cells.length} cells done${failed.length ? `, ${failed.length} failed` : ''}${waiting ? `, ${waiting} not run yet (the study is incomplete: resume it with --resume)` : ''};
${testCases} test cases; seeds ${esc(seeds.join(', '))}; training time ${formatDuration(cellSeconds)} summed over cells, ${formatDuration(span)} wall time from the first cell's start to the last cell's end.
Dice is averaged over the foreground labels of each test case; confidence intervals are 95% percentile bootstrap intervals over (seed, test case) pairs.</p>
<h2>Conclusion</h2>
<ul>${advice.map((a) => `<li>${esc(a)}</li>`).join('\n')}</ul>
<h2>The study's three findings on this dataset</h2>
<p class="note">Paired comparisons over matched (seed, test case) pairs: Wilcoxon signed-rank test (two-sided), p-values Holm-corrected within each finding; effect sizes are the mean Dice difference in percentage points with its bootstrap CI and Cohen's d_z. Significant rows (Holm p &lt; 0.05) are bold.</p>
${findings.map(findingSection).join('\n')}
${figureSection('Dice vs number of volumes at each fixed budget', 'One line per strategy, without interpolation; 2D and 3D models in separate panels. Whiskers: 95% CI.', bySection('allocation'))}
${figureSection('Strategies compared', 'Mean Dice of each selection strategy at the same budget and allocation, with 95% bootstrap CIs.', bySection('strategy'))}
${figureSection('Effect of interpolation per density', 'Mean Dice against annotated slices per chosen volume, one line per interpolation method.', bySection('interpolation'))}
${figureSection('Dice vs budget', 'At each budget the allocation with the most volumes, without interpolation.', bySection('budget'))}
<h2>Failed cells</h2>
${failed.length ? `<table><tr><th>cell</th><th>configuration</th><th>attempts</th><th>error</th></tr>${failedRows}</table>` : '<p class="note">None.</p>'}
${data.skipped.length ? `<h2>Combinations skipped</h2><ul>${data.skipped.map((s) => `<li>${esc(`${s.experiment}: budget ${s.budget}, ${s.allocation}: ${s.reason}`)}</li>`).join('')}</ul>` : ''}
<h2>Design</h2>
<table><tr><th>experiment</th><th>budgets</th><th>allocations</th><th>strategies</th><th>interpolations</th><th>models</th></tr>${experiments}</table>
<p class="note">Every cell is listed in cells.csv beside this file. Study design after Zhang, Kramer &amp; Mazurowski, “How to select slices for annotation to train best-performing deep learning segmentation models for cross-sectional medical images?”, MIDL 2025.</p>
</body></html>
`;
}

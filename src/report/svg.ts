/**
 * Plots as inline SVG strings, drawn here (no chart library, no network): a line chart with optional
 * confidence whiskers, and a dot-and-interval chart for comparing arms. Every plot is an
 * `<svg class="plot">` with a title, axes with ticks and a legend.
 */

export interface Point {
  x: number;
  y: number;
  low?: number;
  high?: number;
}

export interface Series {
  name: string;
  points: Point[];
  /** Fixed colour (so a strategy has the same colour in every chart); default by position. */
  color?: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  width?: number;
  height?: number;
}

export interface IntervalRow {
  label: string;
  color?: string;
  estimate: number;
  low: number;
  high: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const MARGIN = { left: 58, right: 150, top: 34, bottom: 46 };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmt = (v: number) => (Number.isInteger(v) || Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function domain(values: number[], pad: number): [number, number] {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (!(hi > lo)) { const half = Math.abs(lo) > 0 ? Math.abs(lo) * 0.05 : 0.05; lo -= half; hi += half; }
  const span = hi - lo;
  return [lo - span * pad, hi + span * pad];
}

function frame(width: number, height: number, title: string): string[] {
  return [
    `<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">${escapeXml(title)}</text>`,
  ];
}

function legend(entries: Array<{ name: string; color: string }>, x: number, y: number): string[] {
  return entries.flatMap(({ name, color }, i) => [
    `<line x1="${x}" y1="${y + i * 18}" x2="${x + 18}" y2="${y + i * 18}" stroke="${color}" stroke-width="2.5"/>`,
    `<circle cx="${x + 9}" cy="${y + i * 18}" r="3.5" fill="${color}"/>`,
    `<text x="${x + 24}" y="${y + i * 18 + 4}" font-size="12">${escapeXml(name)}</text>`,
  ]);
}

export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 560, height = options.height ?? 320;
  const plotW = width - MARGIN.left - MARGIN.right, plotH = height - MARGIN.top - MARGIN.bottom;
  const points = options.series.flatMap((s) => s.points);
  const tx = (x: number) => (options.logX ? Math.log10(Math.max(x, 1e-9)) : x);
  const [x0, x1] = domain(points.map((p) => tx(p.x)), 0.06);
  const [y0, y1] = domain(points.flatMap((p) => [p.y, p.low ?? p.y, p.high ?? p.y]), 0.08);
  const sx = (x: number) => MARGIN.left + ((tx(x) - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => MARGIN.top + (1 - (y - y0) / (y1 - y0)) * plotH;
  const out = frame(width, height, options.title);
  // Few distinct x values (budgets, volumes, densities): tick exactly at them.
  const xValues = [...new Set(points.map((p) => p.x))].sort((a, b) => a - b);
  const xTicks = options.logX || xValues.length <= 6 ? xValues : niceTicks(x0, x1);
  out.push(`<g class="axes" font-size="11" stroke="#444">`);
  out.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top + plotH}" x2="${MARGIN.left + plotW}" y2="${MARGIN.top + plotH}"/>`);
  out.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotH}"/>`);
  for (const t of xTicks) out.push(`<line x1="${sx(t)}" y1="${MARGIN.top + plotH}" x2="${sx(t)}" y2="${MARGIN.top + plotH + 4}"/><text stroke="none" x="${sx(t)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${fmt(t)}</text>`);
  for (const t of niceTicks(y0, y1)) out.push(`<line x1="${MARGIN.left - 4}" y1="${sy(t)}" x2="${MARGIN.left}" y2="${sy(t)}"/><line x1="${MARGIN.left}" y1="${sy(t)}" x2="${MARGIN.left + plotW}" y2="${sy(t)}" stroke="#eee"/><text stroke="none" x="${MARGIN.left - 7}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  out.push(`</g>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 8}" text-anchor="middle" font-size="12">${escapeXml(options.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(options.yLabel)}</text>`);
  const colors = options.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  options.series.forEach((s, i) => {
    const color = colors[i];
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    if (sorted.length > 1) out.push(`<path d="${sorted.map((p, j) => `${j ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of sorted) {
      if (p.low !== undefined && p.high !== undefined) out.push(`<line x1="${sx(p.x)}" y1="${sy(p.low)}" x2="${sx(p.x)}" y2="${sy(p.high)}" stroke="${color}" stroke-width="1.2"/>`);
      out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name}: x=${fmt(p.x)}, y=${p.y.toFixed(4)}`)}</title></circle>`);
    }
    out.push(`</g>`);
  });
  out.push(...legend(options.series.map((s, i) => ({ name: s.name, color: colors[i] })), MARGIN.left + plotW + 14, MARGIN.top + 10));
  out.push('</svg>');
  return out.join('\n');
}

/** One row per arm: the estimate as a dot, its confidence interval as a bar. */
export function intervalChart(options: { title: string; xLabel: string; rows: IntervalRow[]; width?: number }): string {
  const width = options.width ?? 560;
  const labelW = 170, right = 30, rowH = 24;
  const height = MARGIN.top + options.rows.length * rowH + MARGIN.bottom;
  const [x0, x1] = domain(options.rows.flatMap((r) => [r.low, r.high, r.estimate]), 0.08);
  const plotW = width - labelW - right;
  const sx = (x: number) => labelW + ((x - x0) / (x1 - x0)) * plotW;
  const out = frame(width, height, options.title);
  const bottom = MARGIN.top + options.rows.length * rowH;
  out.push(`<g class="axes" font-size="11" stroke="#444"><line x1="${labelW}" y1="${bottom}" x2="${labelW + plotW}" y2="${bottom}"/>`);
  for (const t of niceTicks(x0, x1)) out.push(`<line x1="${sx(t)}" y1="${MARGIN.top}" x2="${sx(t)}" y2="${bottom}" stroke="#eee"/><text stroke="none" x="${sx(t)}" y="${bottom + 16}" text-anchor="middle">${fmt(t)}</text>`);
  out.push('</g>');
  options.rows.forEach((r, i) => {
    const y = MARGIN.top + i * rowH + rowH / 2;
    const color = r.color ?? PALETTE[i % PALETTE.length];
    out.push(`<text x="${labelW - 8}" y="${y + 4}" text-anchor="end" font-size="12">${escapeXml(r.label)}</text>`);
    out.push(`<line x1="${sx(r.low)}" y1="${y}" x2="${sx(r.high)}" y2="${y}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<circle cx="${sx(r.estimate)}" cy="${y}" r="5" fill="${color}"><title>${escapeXml(`${r.label}: ${r.estimate.toFixed(4)} [${r.low.toFixed(4)}, ${r.high.toFixed(4)}]`)}</title></circle>`);
  });
  out.push(`<text x="${labelW + plotW / 2}" y="${height - 8}" text-anchor="middle" font-size="12">${escapeXml(options.xLabel)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

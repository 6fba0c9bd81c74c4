/** cells.csv: one row per cell of the grid, done or not, with its configuration, scores and timing. */
import { mean } from '../study/stats.js';
import type { StudyData } from './data.js';

export function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'number' ? (Number.isFinite(value) ? String(Number(value.toPrecision(6))) : '') : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function cellsCsv(data: StudyData): string {
  const labels = [...new Set(data.rows.map((r) => r.label))].sort((a, b) => a - b);
  const byCell = new Map<string, typeof data.rows>();
  for (const r of data.rows) byCell.set(r.cellId, [...(byCell.get(r.cellId) ?? []), r]);
  const header = ['cell_id', 'status', 'experiments', 'model', 'budget', 'volumes', 'slices_per_volume', 'allocation', 'strategy', 'interpolation', 'seed',
    'test_cases', 'mean_dice', 'mean_iou', 'mean_hd95_mm', ...labels.map((l) => `dice_label_${l}`), 'seconds', 'attempts', 'worker', 'error'];
  const lines = [header.join(',')];
  for (const cell of data.cells) {
    const c = cell.spec.config;
    const rows = byCell.get(cell.spec.id) ?? [];
    const hd = rows.map((r) => r.hd95).filter((v): v is number => v !== null);
    const allocation = c.allocation.kind === 'volumes' ? `volumes=${c.allocation.volumes}` : `slices-per-volume=${c.allocation.slicesPerVolume}`;
    const fields = [cell.spec.id, cell.status, cell.experiments.join(' '), c.model, c.budget, cell.spec.volumes, cell.spec.slicesPerVolume, allocation,
      c.strategy, c.interpolation, c.seed, new Set(rows.map((r) => r.caseId)).size || null,
      rows.length ? mean(rows.map((r) => r.dice)) : null, rows.length ? mean(rows.map((r) => r.iou)) : null, hd.length ? mean(hd) : null,
      ...labels.map((l) => { const d = rows.filter((r) => r.label === l).map((r) => r.dice); return d.length ? mean(d) : null; }),
      cell.seconds, cell.attempts, cell.worker, cell.error];
    lines.push(fields.map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}

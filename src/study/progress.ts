/**
 * Study progress on stderr: on a terminal, one live line per running cell and a grid line with the ETA,
 * redrawn in place; otherwise (CI logs) one line per started and finished cell with the ETA.
 * The ETA divides the expected work left by the queue's parallel slots; a cell's expected time is the mean
 * of finished cells of its model kind, or the preset sizing estimate before any has finished.
 */
import { EXPECTED_CELL_MINUTES } from './presets.js';
import type { CellSpec, ModelKind } from './types.js';

interface Running {
  cell: CellSpec;
  startedMs: number;
  fraction: number;
  message: string;
  attempt: number;
}

export type ProgressMode = 'tty' | 'lines' | 'none';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export function describeCell(cell: CellSpec): string {
  const c = cell.config;
  const perVolume = Number.isInteger(cell.slicesPerVolume) ? cell.slicesPerVolume : cell.slicesPerVolume.toFixed(1);
  return `${cell.id.slice(0, 8)} ${c.model} B=${c.budget} s=${cell.volumes}×${perVolume} ${c.strategy}${c.interpolation === 'none' ? '' : '+' + c.interpolation} seed ${c.seed}`;
}

/** Where progress goes and what time it is; the defaults are stderr and the wall clock (tests inject both). */
export interface ProgressOutput {
  write?: (text: string) => void;
  /** Milliseconds, as Date.now. */
  now?: () => number;
  /** Width of the terminal: live lines are cut to it. */
  columns?: () => number;
}

export class StudyProgress {
  private readonly running = new Map<string, Running>();
  private readonly secondsByModel: Record<ModelKind, number[]> = { '2d': [], '3d': [] };
  private readonly write: (text: string) => void;
  private readonly now: () => number;
  private readonly columns: () => number;
  private readonly started: number;
  private drawnLines = 0;
  private lastDraw = 0;
  private done = 0;
  private failed = 0;

  constructor(
    private readonly pending: Map<string, CellSpec>,
    private readonly alreadyDone: number,
    private readonly total: number,
    private readonly concurrency: number,
    private readonly mode: ProgressMode,
    output: ProgressOutput = {},
  ) {
    this.write = output.write ?? ((text) => process.stderr.write(text));
    this.now = output.now ?? Date.now;
    this.columns = output.columns ?? (() => process.stderr.columns ?? 120);
    this.started = this.now();
  }

  private expectedSeconds(model: ModelKind): number {
    const seen = this.secondsByModel[model];
    return seen.length > 0 ? seen.reduce((a, b) => a + b, 0) / seen.length : EXPECTED_CELL_MINUTES[model] * 60;
  }

  /** Seconds of work left (waiting cells plus the unfinished part of running ones) over the slots. */
  etaSeconds(): number {
    let work = 0;
    for (const cell of this.pending.values()) if (!this.running.has(cell.id)) work += this.expectedSeconds(cell.config.model);
    for (const r of this.running.values()) {
      const expected = this.expectedSeconds(r.cell.config.model);
      const elapsed = (this.now() - r.startedMs) / 1000;
      work += Math.max(expected * (1 - r.fraction), expected - elapsed, 0);
    }
    return work / this.concurrency;
  }

  private gridLine(): string {
    const finished = this.alreadyDone + this.done;
    return `study ${finished}/${this.total} cells done${this.failed ? `, ${this.failed} failed` : ''}, ${this.running.size} running, ` +
      `elapsed ${formatDuration((this.now() - this.started) / 1000)}, ETA ${formatDuration(this.etaSeconds())}`;
  }

  cellStarted(cell: CellSpec, attempt: number): void {
    this.running.set(cell.id, { cell, startedMs: this.now(), fraction: 0, message: 'starting', attempt });
    if (this.mode === 'lines') this.write(`start ${describeCell(cell)}${attempt > 1 ? ` (attempt ${attempt})` : ''}\n`);
    this.draw(true);
  }

  progress(cellId: string, fraction: number, message: string): void {
    const r = this.running.get(cellId);
    if (!r) return;
    r.fraction = Math.min(1, Math.max(0, fraction));
    r.message = message;
    this.draw(false);
  }

  cellFinished(cell: CellSpec, outcome: { seconds: number; error?: string; final: boolean }): void {
    this.running.delete(cell.id);
    if (outcome.final) this.pending.delete(cell.id);
    if (!outcome.error) {
      this.done++;
      this.secondsByModel[cell.config.model].push(outcome.seconds);
    } else if (outcome.final) {
      this.failed++;
    }
    const what = outcome.error ? `${outcome.final ? 'FAILED' : 'retry'} ${describeCell(cell)}: ${outcome.error}` : `done  ${describeCell(cell)} in ${formatDuration(outcome.seconds)}`;
    if (this.mode === 'lines') this.write(`${what} — ${this.gridLine()}\n`);
    else if (this.mode === 'tty') {
      this.clear();
      this.write(what + '\n');
    }
    this.draw(true);
  }

  private clear(): void {
    if (this.drawnLines > 0) this.write(`\x1b[${this.drawnLines}F\x1b[J`);
    this.drawnLines = 0;
  }

  private draw(force: boolean): void {
    if (this.mode !== 'tty') return;
    const now = this.now();
    if (!force && now - this.lastDraw < 250) return;
    this.lastDraw = now;
    this.clear();
    const width = Math.max(40, this.columns() - 1);
    const lines = [...this.running.values()].map((r) => {
      const pct = `${Math.round(r.fraction * 100)}%`.padStart(4);
      return `  ${pct} ${formatDuration((now - r.startedMs) / 1000).padStart(6)} ${describeCell(r.cell)} ${r.message}`.slice(0, width);
    });
    lines.push(this.gridLine().slice(0, width));
    this.write(lines.join('\n') + '\n');
    this.drawnLines = lines.length;
  }

  end(): void {
    if (this.mode === 'tty') this.clear();
    if (this.mode !== 'none') this.write(this.gridLine().replace(/, ETA .*$/, '') + '\n');
  }
}

/**
 * The study's results store: one SQLite file (better-sqlite3, WAL) in the study folder. A cell's results
 * (its row and every per-case row) are written in ONE transaction, so a SIGKILL at any moment leaves each
 * cell either finished with all its results or not finished at all: only the cells in flight are lost.
 * Results are recorded once per cell id; a second report of a finished cell (a retried queue job) is ignored.
 */
import Database from 'better-sqlite3';
import { UserError } from '../io/errors.js';
import type { CellResult, CellSpec } from './types.js';

export type CellStatus = 'pending' | 'running' | 'done' | 'failed';

export interface StoredCell {
  spec: CellSpec;
  experiments: string[];
  status: CellStatus;
  plan: unknown | null;
  timings: Record<string, number> | null;
  extra: Record<string, unknown> | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Wall time of the successful (or last) attempt, in seconds. */
  seconds: number | null;
  error: string | null;
  attempts: number;
  worker: string | null;
}

export interface CaseResultRow {
  cellId: string;
  caseId: string;
  label: number;
  dice: number;
  iou: number;
  hd95: number | null;
}

/** Timing and provenance of one finished attempt. */
export interface AttemptInfo {
  startedAt: string;
  finishedAt: string;
  seconds: number;
  attempts: number;
  worker?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS study (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
  id TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  config TEXT NOT NULL,
  experiments TEXT NOT NULL,
  volumes INTEGER NOT NULL,
  slices_per_volume REAL NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  plan TEXT, timings TEXT, extra TEXT,
  started_at TEXT, finished_at TEXT, seconds REAL,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  worker TEXT
);
CREATE TABLE IF NOT EXISTS case_results (
  cell_id TEXT NOT NULL REFERENCES cells(id),
  case_id TEXT NOT NULL,
  label INTEGER NOT NULL,
  dice REAL NOT NULL,
  iou REAL NOT NULL,
  hd95 REAL,
  PRIMARY KEY (cell_id, case_id, label)
);
`;

interface CellRow {
  id: string; config: string; experiments: string; volumes: number; slices_per_volume: number; status: CellStatus;
  plan: string | null; timings: string | null; extra: string | null; started_at: string | null; finished_at: string | null;
  seconds: number | null; error: string | null; attempts: number; worker: string | null;
}

/**
 * Opens (writable: creates) the store and reads it once, so that a file that is not a study store (a text
 * file of that name, a truncated copy) is a one-line user error naming it here, not a stack trace later.
 */
function openStore(path: string, readonly: boolean): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly });
    if (readonly) {
      const hasCells = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cells'").get();
      if (!hasCells) throw new UserError('is not a slicewise study store (it has no cells table)', path);
    } else {
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a killed process (only a power loss can drop the last commits).
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.exec(SCHEMA);
    }
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof Database.SqliteError) throw new UserError(`cannot open the study store (${err.message}); move it away or choose another study folder`, path);
    throw err;
  }
}

const parseOrNull = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export class StudyStore {
  private readonly db: Database.Database;

  constructor(readonly path: string, options: { readonly?: boolean } = {}) {
    this.db = openStore(path, options.readonly ?? false);
  }

  close(): void {
    this.db.close();
  }

  getMeta<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM study WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  setMeta(key: string, value: unknown): void {
    this.db.prepare('INSERT INTO study (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }

  /** Add the grid's cells (existing ids keep their status and results); returns how many were new. */
  addCells(cells: CellSpec[], experimentsOf: Map<string, string[]>): number {
    const insert = this.db.prepare(`INSERT INTO cells (id, position, config, experiments, volumes, slices_per_volume, status)
      VALUES (@id, @position, @config, @experiments, @volumes, @slicesPerVolume, 'pending') ON CONFLICT(id) DO UPDATE SET experiments = excluded.experiments, position = excluded.position`);
    let added = 0;
    this.db.transaction(() => {
      const before = this.countCells();
      cells.forEach((cell, position) => insert.run({
        id: cell.id, position, config: JSON.stringify(cell.config), experiments: JSON.stringify(experimentsOf.get(cell.id) ?? []),
        volumes: cell.volumes, slicesPerVolume: cell.slicesPerVolume,
      }));
      added = this.countCells() - before;
    })();
    return added;
  }

  countCells(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM cells').get() as { n: number }).n;
  }

  /** Cells a killed run left running go back to pending. */
  resetInterrupted(): number {
    return this.db.prepare("UPDATE cells SET status = 'pending' WHERE status = 'running'").run().changes;
  }

  markRunning(id: string, startedAt: string, worker?: string): void {
    this.db.prepare("UPDATE cells SET status = 'running', started_at = ?, worker = ? WHERE id = ? AND status != 'done'").run(startedAt, worker ?? null, id);
  }

  /** The cell and all its per-case rows in one transaction; false when the cell was already done. */
  recordResult(id: string, result: CellResult, attempt: AttemptInfo): boolean {
    const insertCase = this.db.prepare('INSERT INTO case_results (cell_id, case_id, label, dice, iou, hd95) VALUES (?, ?, ?, ?, ?, ?)');
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT status FROM cells WHERE id = ?').get(id) as { status: CellStatus } | undefined;
      if (!row) throw new Error(`result for unknown cell ${id}`);
      if (row.status === 'done') return false;
      this.db.prepare('DELETE FROM case_results WHERE cell_id = ?').run(id);
      for (const c of result.cases) {
        for (const [label, m] of Object.entries(c.labels)) insertCase.run(id, c.caseId, Number(label), m.dice, m.iou, m.hd95);
      }
      this.db.prepare(`UPDATE cells SET status = 'done', plan = ?, timings = ?, extra = ?, started_at = ?, finished_at = ?, seconds = ?,
        error = NULL, attempts = ?, worker = ? WHERE id = ?`).run(
        JSON.stringify(result.plan ?? null), JSON.stringify(result.timings ?? {}), result.extra ? JSON.stringify(result.extra) : null,
        attempt.startedAt, attempt.finishedAt, attempt.seconds, attempt.attempts, attempt.worker ?? null, id);
      return true;
    })();
  }

  recordFailure(id: string, error: string, attempt: AttemptInfo): void {
    this.db.prepare(`UPDATE cells SET status = 'failed', error = ?, started_at = ?, finished_at = ?, seconds = ?, attempts = ?, worker = ?
      WHERE id = ? AND status != 'done'`).run(error, attempt.startedAt, attempt.finishedAt, attempt.seconds, attempt.attempts, attempt.worker ?? null, id);
  }

  /** Attempts already spent on a cell (they add up across resumes). */
  attempts(id: string): number {
    return (this.db.prepare('SELECT attempts FROM cells WHERE id = ?').get(id) as { attempts: number } | undefined)?.attempts ?? 0;
  }

  cells(): StoredCell[] {
    const rows = this.db.prepare('SELECT * FROM cells ORDER BY position, id').all() as CellRow[];
    return rows.map((r) => ({
      spec: { id: r.id, config: JSON.parse(r.config), volumes: r.volumes, slicesPerVolume: r.slices_per_volume },
      experiments: JSON.parse(r.experiments), status: r.status,
      plan: parseOrNull(r.plan), timings: parseOrNull(r.timings), extra: parseOrNull(r.extra),
      startedAt: r.started_at, finishedAt: r.finished_at, seconds: r.seconds, error: r.error, attempts: r.attempts, worker: r.worker,
    }));
  }

  caseResults(): CaseResultRow[] {
    return this.db.prepare('SELECT cell_id AS cellId, case_id AS caseId, label, dice, iou, hd95 FROM case_results ORDER BY cell_id, case_id, label').all() as CaseResultRow[];
  }
}

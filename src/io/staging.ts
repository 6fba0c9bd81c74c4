/**
 * An output folder written under a temporary name beside its target and renamed into place by `commit()`,
 * so an error, a crash or a Ctrl-C never leaves half an output behind (and an interrupted process removes
 * the temporary folder too).
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError, fileSystemError } from './errors.js';
import { removeOnInterrupt } from './interrupt.js';

const exists = (path: string) => stat(path).then(() => true, () => false);

export class StagingFolder {
  readonly path: string;
  private release: () => void = () => undefined;

  private constructor(readonly target: string, private readonly overwrite: boolean) {
    this.path = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  }

  /** Refuses an existing target unless `overwrite` (which replaces it only on commit). */
  static async create(target: string, overwrite = false): Promise<StagingFolder> {
    target = resolve(target);
    if (!overwrite && (await exists(target))) throw new UserError('already exists; choose another --out or pass --overwrite', target);
    const folder = new StagingFolder(target, overwrite);
    await mkdir(folder.path, { recursive: true }).catch((err) => { throw fileSystemError(err, dirname(target)); });
    folder.release = removeOnInterrupt(folder.path);
    return folder;
  }

  async mkdir(relativePath: string): Promise<string> {
    const path = join(this.path, relativePath);
    await mkdir(path, { recursive: true }).catch((err) => { throw fileSystemError(err, path); });
    return path;
  }

  async commit(): Promise<string> {
    const old = `${this.path}.old`;
    const replacing = this.overwrite && (await exists(this.target));
    try {
      if (replacing) await rename(this.target, old);
      await rename(this.path, this.target);
    } catch (err) {
      throw fileSystemError(err, this.target);
    } finally {
      this.release();
    }
    if (replacing) await rm(old, { recursive: true, force: true });
    return this.target;
  }

  async abort(): Promise<void> {
    this.release();
    await rm(this.path, { recursive: true, force: true });
  }
}

/** Run `body` in a staging folder; commit on success, remove it on any error. */
export async function withStagingFolder<T>(target: string, overwrite: boolean, body: (folder: StagingFolder) => Promise<T>): Promise<{ path: string; result: T }> {
  const folder = await StagingFolder.create(target, overwrite);
  try {
    const result = await body(folder);
    return { path: await folder.commit(), result };
  } catch (err) {
    await folder.abort();
    throw err;
  }
}

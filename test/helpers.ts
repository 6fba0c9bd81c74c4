import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/...). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Real data, read in place: ../shared/data beside the repository. */
export const DATA_ROOT = resolve(REPO_ROOT, '..', 'shared', 'data');
export const HIPPOCAMPUS = join(DATA_ROOT, 'msd-hippocampus');
export const TOTALSEG_CT = join(DATA_ROOT, 'totalseg-ct');
export const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** Skip reason when the shared data is absent (it is present on every project machine and in CI). */
export const NO_DATA = existsSync(HIPPOCAMPUS) ? false : `real data not found at ${HIPPOCAMPUS}`;

export function hippocampusCase(id: string): { image: string; label: string } {
  return { image: join(HIPPOCAMPUS, 'imagesTr', `${id}.nii.gz`), label: join(HIPPOCAMPUS, 'labelsTr', `${id}.nii.gz`) };
}

const temporaryDirs: string[] = [];

/** A fresh temporary folder, removed when the process exits (one exit hook for all of them). */
export function tempDir(prefix = 'slicewise-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (temporaryDirs.length === 0) process.on('exit', () => { for (const d of temporaryDirs) rmSync(d, { recursive: true, force: true }); });
  temporaryDirs.push(dir);
  return dir;
}

/** A TCP port free on 127.0.0.1 right now (for a redis-server of a test's own). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

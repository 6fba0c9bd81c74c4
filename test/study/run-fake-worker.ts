/**
 * A `slicewise worker` with the fake executor and short lock times, for the distributed-study tests:
 * node dist/test/study/run-fake-worker.js <redis url> [--concurrency n]
 * Environment: FAKE_CELL_MS, FAKE_FAIL (fake-executor.ts), FAKE_CRASH (crashing-executor.ts).
 * Prints "ready <worker id>" once it takes jobs; SIGTERM stops it after its running cells.
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCellWorker } from '../../src/study/worker.js';

const EXECUTOR = join(dirname(fileURLToPath(import.meta.url)), 'crashing-executor.js');

const [url, ...rest] = process.argv.slice(2);
const at = rest.indexOf('--concurrency');
const worker = await startCellWorker({
  url, executorModule: EXECUTOR, concurrency: at >= 0 ? Number(rest[at + 1]) : 1,
  lockDurationMs: 1000, stalledIntervalMs: 500,
  onInfo: (message) => process.stderr.write(message + '\n'),
});
await worker.ready();
process.stdout.write(`ready ${worker.id}\n`);
process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));

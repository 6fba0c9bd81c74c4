/**
 * A study runner process with the fake executor, for tests that kill and resume a study:
 * node dist/test/study/run-fake-study.js <dataset> <out-dir> <config.json> [--resume] [--workers n]
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadStudyConfig } from '../../src/study/config.js';
import { runStudy } from '../../src/study/runner.js';

const FAKE_EXECUTOR = join(dirname(fileURLToPath(import.meta.url)), 'fake-executor.js');

const [dataset, outDir, configPath, ...rest] = process.argv.slice(2);
const workersAt = rest.indexOf('--workers');
const summary = await runStudy(await loadStudyConfig(configPath), {
  dataset, outDir, resume: rest.includes('--resume'), workers: workersAt >= 0 ? Number(rest[workersAt + 1]) : 2,
  executor: FAKE_EXECUTOR, progress: 'lines',
});
process.stdout.write(JSON.stringify(summary) + '\n');

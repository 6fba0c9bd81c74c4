import type { Command } from 'commander';
import { parseRedisUrl } from '../study/redis-url.js';
import { DEFAULT_EXECUTOR, requireEngine } from '../study/runner.js';
import { startCellWorker } from '../study/worker.js';
import { parseIntOption } from './common.js';

interface WorkerCliOptions {
  queue: string;
  concurrency: number;
  dataRoot?: string;
  scratch?: string;
  lockDuration: number;
  stalledInterval: number;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run study cells from a Redis queue (filled by `slicewise study --queue`), each in its own process, until stopped')
    .requiredOption('--queue <url>', 'Redis URL: redis://[:password@]host:port[/db], or rediss:// for TLS')
    .option('--concurrency <n>', 'cells run at once, each in its own process', parseIntOption('--concurrency', 1), 1)
    .option('--data-root <dir>', "dataset folder on this machine, replacing the coordinator's path (default: the coordinator's path)")
    .option('--scratch <dir>', "folder for the cells' temporary files (default: <tmp>/slicewise-worker)")
    .option('--lock-duration <ms>', "a cell's lock in Redis; if this worker dies its cells are retried after about this long", parseIntOption('--lock-duration', 100), 30_000)
    .option('--stalled-interval <ms>', 'how often to look for cells of dead workers', parseIntOption('--stalled-interval', 100), 30_000)
    .action(async (options: WorkerCliOptions) => {
      // The URL first, then the engine: a worker without it would take cells only to fail them.
      parseRedisUrl(options.queue);
      requireEngine();
      const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);
      const worker = await startCellWorker({
        url: options.queue, concurrency: options.concurrency, dataRoot: options.dataRoot, scratchDir: options.scratch,
        executorModule: DEFAULT_EXECUTOR, lockDurationMs: options.lockDuration, stalledIntervalMs: options.stalledInterval, onInfo: log,
      });
      await worker.ready();
      // First Ctrl-C / SIGTERM: finish the running cells, then exit; a second one abandons them (they are retried elsewhere).
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (!stopping) log(`${signal}: finishing running cells (again to abandon them)`);
          void worker.close(stopping).then(resolve);
          stopping = true;
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
      });
      log('worker stopped');
    });
}

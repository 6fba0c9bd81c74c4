import type { Command } from 'commander';
import { queueStatus } from '../study/bullmq-queue.js';

export function registerQueue(program: Command): void {
  const queue = program.command('queue').description('inspect the Redis queue of distributed studies');
  queue
    .command('status')
    .description('waiting, active, done and failed cells and connected workers (all studies on this Redis database)')
    .argument('<url>', 'Redis URL: redis://[:password@]host:port[/db], or rediss:// for TLS')
    .option('--json', 'print one JSON object', false)
    .action(async (url: string, options: { json: boolean }) => {
      const counts = await queueStatus(url, '<url>');
      if (options.json) process.stdout.write(JSON.stringify(counts) + '\n');
      else process.stdout.write(`waiting ${counts.waiting}\nactive ${counts.active}\ndone ${counts.done}\nfailed ${counts.failed}\nworkers ${counts.workers}\n`);
    });
  for (const command of queue.commands) command.exitOverride();
}

#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isUserError } from '../io/errors.js';
import { VERSION } from '../version.js';
import { registerInspect } from './inspect.js';
import { registerInterpolate } from './interpolate.js';
import { registerPlan } from './plan.js';
import { registerDemo } from './demo.js';
import { registerEvaluate } from './evaluate.js';
import { registerStudy } from './study.js';
import { registerReport } from './report.js';
import { registerExport } from './export.js';
import { registerImport } from './import.js';
import { registerTrain } from './train.js';
import { registerSplit } from './split.js';
import { registerWorker } from './worker.js';
import { registerQueue } from './queue.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('slicewise')
    .description('Plan, interpolate, train and study sparse slice annotation of 3D medical scans')
    .version(VERSION)
    // A parsing mistake is one line, like every other user error, with where to look.
    .configureOutput({ outputError: (message, write) => write(`slicewise: ${message.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')} (see --help)\n`) })
    .exitOverride();
  registerInspect(program);
  registerInterpolate(program);
  registerPlan(program);
  registerDemo(program);
  registerEvaluate(program);
  registerStudy(program);
  registerReport(program);
  registerExport(program);
  registerImport(program);
  registerTrain(program);
  registerSplit(program);
  registerWorker(program);
  registerQueue(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; every parsing mistake exits 2, its message already printed.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isUserError(err)) {
      process.stderr.write(`slicewise: ${err.message.split('\n')[0]}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

await main(process.argv);

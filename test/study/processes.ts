/** Child processes of the distributed tests: output collected, exit awaited later, all killed at the end. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Launched {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  output: () => { stdout: string; stderr: string };
}

const children: ChildProcess[] = [];

/** `node <args>` with `env` added to this process's environment. */
export function launchNode(args: string[], env: Record<string, string> = {}): Launched {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '', stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<Awaited<Launched['exit']>>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, exit, output: () => ({ stdout, stderr }) };
}

/** SIGKILL every launched process still running. */
export function killLaunched(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

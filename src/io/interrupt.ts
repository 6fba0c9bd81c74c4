/**
 * Temporary outputs (a run's `.partial-<pid>` folder, a dataset's `.tmp-` folder) are renamed into place
 * when complete; a Ctrl-C or kill before that would leave them behind. While any is registered, SIGINT
 * and SIGTERM remove them and end the process with the usual status (130 / 143). With none registered the
 * default signal behaviour is untouched (queue workers keep their own shutdown).
 */
import { rmSync } from 'node:fs';

const pending = new Set<string>();
const SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;

function onSignal(signal: keyof typeof SIGNALS): void {
  for (const path of pending) rmSync(path, { recursive: true, force: true });
  process.exit(SIGNALS[signal]);
}

/** Removes `path` if the process is interrupted before the returned release function is called. */
export function removeOnInterrupt(path: string): () => void {
  if (pending.size === 0) for (const signal of Object.keys(SIGNALS) as Array<keyof typeof SIGNALS>) process.on(signal, onSignal);
  pending.add(path);
  return () => {
    pending.delete(path);
    if (pending.size === 0) for (const signal of Object.keys(SIGNALS) as Array<keyof typeof SIGNALS>) process.off(signal, onSignal);
  };
}

import { InvalidArgumentError } from 'commander';
import { UserError } from '../io/errors.js';

/** Progress on stderr: one line rewritten in place on a terminal, a line per 10% otherwise. */
export function progressReporter(label: string): (done: number, total: number, extra?: string) => void {
  let lastDecile = -1;
  const started = Date.now();
  return (done, total, extra = '') => {
    const elapsed = (Date.now() - started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : 0;
    const text = `${label} ${done}/${total}${extra ? ' ' + extra : ''} (${elapsed.toFixed(0)} s, ETA ${eta.toFixed(0)} s)`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${text}\x1b[K${done === total ? '\n' : ''}`);
    } else {
      const decile = Math.floor((10 * done) / Math.max(1, total));
      if (decile !== lastDecile || done === total) {
        lastDecile = decile;
        process.stderr.write(text + '\n');
      }
    }
  };
}

export function parseIntOption(name: string, min = -Infinity): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${value}"`);
    if (n < min) throw new InvalidArgumentError(`${name} must be at least ${min}, got ${n}`);
    return n;
  };
}

export function parseNumberOption(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${value}"`);
    return n;
  };
}

export function optionError(option: string, message: string): UserError {
  return new UserError(message, option);
}

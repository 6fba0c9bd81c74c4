/** Shared by every benchmark: the one JSON line each measurement ends with. */
export interface BenchLine {
  bench: string;
  metric: string;
  slicewise: number;
  yardstick: string;
  yardstick_value: number;
}

/** Prints the line; `extra` adds figures on the same line (peak memory, counts, ...). */
export function printBenchLine(line: BenchLine, extra: Record<string, unknown> = {}): void {
  const ratio = line.yardstick_value > 0 ? line.slicewise / line.yardstick_value : null;
  const { bench, metric, slicewise, yardstick, yardstick_value } = line;
  console.log(JSON.stringify({ bench, metric, slicewise: round(slicewise), yardstick, yardstick_value: round(yardstick_value), ratio: ratio === null ? null : round(ratio), ...extra }));
}

export function round(x: number, digits = 4): number {
  return Number(x.toPrecision(digits));
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return round(process.resourceUsage().maxRSS / 1024);
}

/** The system Python (Debian's, which has numpy, nibabel, torch, sklearn), not a pyenv one first on PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

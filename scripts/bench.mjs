#!/usr/bin/env node
// npm run bench -- <name> [args...]: builds, then runs dist/bench/<name>.js, which ends each benchmark
// with one JSON line {"bench", "metric", "slicewise", "yardstick", "yardstick_value", "ratio"}.
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const [name, ...rest] = process.argv.slice(2);
const available = existsSync('bench') ? readdirSync('bench').filter((f) => f.endsWith('.ts') && !f.startsWith('_')).map((f) => f.slice(0, -3)) : [];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>   (one of: ${available.join(', ')})`);
  process.exit(2);
}
const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const run = spawnSync(process.execPath, ['--expose-gc', `dist/bench/${name}.js`, ...rest], { stdio: 'inherit' });
process.exit(run.status ?? 1);

#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's built-in runner.
// Usage: node scripts/run-tests.mjs [filter-substring ...]
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (build.status !== 0) {
  // tsc still emits JavaScript; in CI a type error fails the run, locally the tests still run.
  if (process.env.CI) process.exit(build.status ?? 1);
  console.error('run-tests: TypeScript reported errors (above); running the tests anyway');
}
const filters = process.argv.slice(2);
const files = walk('dist/test').sort().filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Spec output for people, TAP to a file for the closing count line.
const tap = join(mkdtempSync(join(tmpdir(), 'slicewise-tap-')), 'results.tap');
const run = spawnSync(process.execPath, [
  '--test', '--test-concurrency=2',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`,
  ...files,
], { stdio: 'inherit' });
const text = readFileSync(tap, 'utf8');
const count = (key) => Number((text.match(new RegExp(`^# ${key} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
console.log(`tests: ${count('pass')} passed, ${count('fail') + count('cancelled')} failed, ${count('skipped')} skipped`);
process.exit(run.status ?? 1);

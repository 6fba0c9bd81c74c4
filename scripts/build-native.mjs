#!/usr/bin/env node
// Builds the libtorch addon (native/) with node-gyp; run by `npm ci` / `npm install` (package "install"
// script) and by hand (`node scripts/build-native.mjs`). Finds libtorch in LIBTORCH=<dir> (an unpacked
// libtorch download: include/, lib/) or Debian's libtorch-dev (/usr/include/torch). Without libtorch, or if
// the build fails, it prints how to build and exits 0, so installing the package never fails; the commands
// that need the engine then say how to build it. SLICEWISE_SKIP_NATIVE=1 skips the build.
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const HOW_TO = [
  'To build it: install libtorch (Debian/Ubuntu: `apt-get install libtorch-dev`, or unpack a libtorch download',
  'and set LIBTORCH=<dir>), then run `node scripts/build-native.mjs` in the slicewise folder.',
].join('\n');

function say(message) {
  console.log(`[slicewise] ${message}`);
}

function findLibtorch() {
  const user = process.env.LIBTORCH;
  if (user) {
    const dir = resolve(user);
    const include = join(dir, 'include');
    if (!existsSync(join(include, 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h'))) {
      say(`LIBTORCH=${user} has no include/torch/csrc/api/include/torch/torch.h`);
      return null;
    }
    const lib = join(dir, 'lib');
    if (!existsSync(join(lib, 'libtorch_cpu.so'))) {
      say(`LIBTORCH=${user} has no lib/libtorch_cpu.so`);
      return null;
    }
    const libs = readdirSync(lib);
    const names = ['torch', 'torch_cpu', 'c10'];
    // A CUDA build: link its CUDA library whether or not the addon references it, so CUDA devices register.
    const cudaLibs = ['torch_cuda', 'c10_cuda'].filter((n) => libs.some((f) => f.startsWith(`lib${n}.so`)));
    const flags = [...names.map((n) => `-l${n}`), ...(cudaLibs.length ? ['-Wl,--no-as-needed', ...cudaLibs.map((n) => `-l${n}`), '-Wl,--as-needed'] : [])];
    // libtorch downloads come in two C++ ABIs: set LIBTORCH_CXX11_ABI=0 for a pre-cxx11 one.
    const abi = process.env.LIBTORCH_CXX11_ABI ?? '1';
    return { include: [include, join(include, 'torch', 'csrc', 'api', 'include')], lib, libs: flags.join(' '), abi, where: dir };
  }
  if (existsSync('/usr/include/torch/csrc/api/include/torch/torch.h')) {
    const lib = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib'].find((d) => existsSync(join(d, 'libtorch_cpu.so')));
    if (!lib) {
      say('found libtorch headers in /usr/include/torch but no libtorch_cpu.so');
      return null;
    }
    return { include: ['/usr/include', '/usr/include/torch/csrc/api/include'], lib, libs: '-ltorch -ltorch_cpu -lc10', abi: '1', where: 'Debian libtorch-dev' };
  }
  return null;
}

function nodeGyp() {
  try {
    return createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return null;
  }
}

function main() {
  if (process.env.SLICEWISE_SKIP_NATIVE === '1') {
    say('SLICEWISE_SKIP_NATIVE=1: not building the training engine.');
    return;
  }
  const torch = findLibtorch();
  if (!torch) {
    say(`libtorch not found: the training engine (native addon) is not built.\n${HOW_TO}`);
    return;
  }
  const gyp = nodeGyp();
  if (!gyp) {
    say(`node-gyp is not installed (a devDependency): the training engine is not built.\nRun \`npm install\`, then \`node scripts/build-native.mjs\`.`);
    return;
  }
  const env = {
    ...process.env,
    SLICEWISE_TORCH_INCLUDE: torch.include.join(' '),
    SLICEWISE_TORCH_LIB: torch.lib,
    SLICEWISE_TORCH_LIBS: torch.libs,
    SLICEWISE_CXX11_ABI: torch.abi,
    JOBS: process.env.JOBS ?? 'max',
  };
  // Node's own headers: Debian's nodejs ships them in /usr/include/node; otherwise node-gyp downloads or
  // finds them (npm_config_nodedir wins when the user sets it).
  if (!env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h') && process.execPath.startsWith('/usr/')) env.npm_config_nodedir = '/usr';
  say(`building the training engine against ${torch.where} (about a minute)...`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [gyp, 'rebuild', '--release'], { cwd: nativeDir, env, stdio: 'inherit' });
  if (result.status !== 0) {
    say(`building the training engine failed (node-gyp exit ${result.status}); slicewise works without it, except training and prediction.\n${HOW_TO}`);
    return;
  }
  say(`training engine built in ${((Date.now() - started) / 1000).toFixed(0)} s: native/build/Release/slicewise_engine.node`);
}

try {
  main();
} catch (err) {
  // Installing slicewise must not fail because of the optional engine.
  say(`could not build the training engine: ${err?.message ?? err}\n${HOW_TO}`);
}

#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine with Node 20 (run as root to install system packages):
# system packages the tests need, npm dependencies (which build the libtorch addon), and the TypeScript build.
# Does only what is missing, so it is cheap to run before every command.
#   SLICEWISE_BENCH=1 also installs the benchmark yardsticks (PyTorch, nibabel, scikit-learn).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libtorch-dev libopenblas0-pthread redis-server chromium)
if [ "${SLICEWISE_BENCH:-0}" = 1 ]; then packages+=(python3-torch python3-nibabel python3-sklearn); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
  fi
fi

# npm ci when node_modules is absent or older than the lock file; it runs our install script (addon build).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
# The addon: built by npm ci; rebuilt here when it is missing (e.g. libtorch installed afterwards).
if [ -f scripts/build-native.mjs ] && ! ls native/build/Release/*.node >/dev/null 2>&1; then
  node scripts/build-native.mjs >&2
fi
npx tsc -p tsconfig.json

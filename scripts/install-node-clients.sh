#!/usr/bin/env bash
# Install the Node.js Kafka client that tests/real_clients.rs runs against `seedlog broker`:
# kafkajs, pinned exactly in tests/clients/node/package.json and package-lock.json (with
# its integrity hash), installed with `npm ci` from the npm registry into .node/.
#
# Run from the repo root: scripts/install-node-clients.sh
# Idempotent: when .node/.seedlog-node-clients-ok exists and .node/package-lock.json is
# the same file as tests/clients/node/package-lock.json, it does nothing; a changed pin
# (a changed lock file) reinstalls. Safe to run concurrently (an flock serialises
# installers). Needs: node >= 18 and npm on PATH, and network to the npm registry.
set -euo pipefail

root="$(pwd)"
src="$root/tests/clients/node"
if [[ ! -f "$root/Cargo.toml" || ! -f "$src/package-lock.json" ]]; then
  echo "install-node-clients: run me from the seedlog repo root (found no tests/clients/node/package-lock.json in $root)" >&2
  exit 2
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-node-clients: '$tool' is not on PATH; the kafkajs tests need Node.js 18 or newer with npm" \
      "(Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
done
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
  echo "install-node-clients: node is $(node --version); the kafkajs tests need Node.js 18 or newer" >&2
  exit 1
fi

start=$SECONDS
dest="$root/.node"
marker="$dest/.seedlog-node-clients-ok"

mkdir -p "$dest"
exec 9>"$dest/.install.lock"
flock 9

if [[ -f "$marker" && -f "$dest/node_modules/kafkajs/package.json" ]] \
  && cmp -s "$src/package-lock.json" "$dest/package-lock.json" \
  && cmp -s "$src/package.json" "$dest/package.json"; then
  echo "install-node-clients: already installed ($marker)"
  exit 0
fi
rm -f "$marker"

cp "$src/package.json" "$src/package-lock.json" "$dest/"
echo "install-node-clients: npm ci in $dest ($(node --version), npm $(npm --version))"
# npm ci installs exactly the lock file (and checks each package's integrity hash); no
# install scripts run, no audit or funding calls.
(cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

kafkajs_version="$(cd "$dest" && node -e 'console.log(require("kafkajs/package.json").version)')"
{
  echo "# written by scripts/install-node-clients.sh; delete to force a reinstall"
  echo "kafkajs $kafkajs_version"
  echo "# node $(node --version), npm $(npm --version)"
} >"$marker.tmp"
mv "$marker.tmp" "$marker"
echo "install-node-clients: done in $((SECONDS - start)) s; kafkajs $kafkajs_version"

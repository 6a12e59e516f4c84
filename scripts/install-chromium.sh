#!/usr/bin/env bash
# Install Debian's Chromium, which the simulation report test (sim/src/report/) uses to
# render a report's index.html headless (`chromium --headless --dump-dom`) and check that
# its timelines are drawn.
#
# Run from the repo root: scripts/install-chromium.sh
# Idempotent: when `chromium` is on PATH and starts (`chromium --version`) it does nothing.
# Safe to run concurrently (an flock serialises installers; apt itself also locks).
# Needs: Debian 12 and apt-get as root (or sudo), network to Debian's mirrors.
set -euo pipefail

root="$(pwd)"
if [[ ! -f "$root/Cargo.toml" || ! -f "$root/scripts/install-chromium.sh" ]]; then
  echo "install-chromium: run me from the seedlog repo root (found no scripts/install-chromium.sh in $root)" >&2
  exit 2
fi

# A working chromium: on PATH, and it prints its version.
installed() { command -v chromium >/dev/null 2>&1 && chromium --version >/dev/null 2>&1; }

if installed; then
  echo "install-chromium: already installed: $(chromium --version 2>/dev/null) ($(command -v chromium))"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-chromium: chromium is missing and I am not root (no sudo): install it with 'apt-get install chromium'" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: chromium is missing and there is no apt-get here: install Chromium so that 'chromium' is on PATH" >&2
  exit 1
fi

# Serialise concurrent runs: the second waits, then finds chromium installed.
lock_dir="$root/target"
mkdir -p "$lock_dir"
exec 9>"$lock_dir/.install-chromium.lock"
flock 9
if installed; then
  echo "install-chromium: installed meanwhile by another run: $(chromium --version 2>/dev/null)"
  exit 0
fi

start=$SECONDS
echo "install-chromium: installing Debian's chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
# Update the lists first: on a fresh machine apt knows no packages yet.
$sudo apt-get update -qq
if ! $sudo apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends chromium >/dev/null; then
  echo "install-chromium: 'apt-get install chromium' failed (see above)" >&2
  exit 1
fi
if ! installed; then
  echo "install-chromium: apt-get installed chromium, yet 'chromium --version' does not run" >&2
  exit 1
fi
echo "install-chromium: installed $(chromium --version 2>/dev/null) in $((SECONDS - start)) s"

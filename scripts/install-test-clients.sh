#!/usr/bin/env bash
# Install the real Kafka clients that tests/real_clients.rs runs against `seedlog broker`:
# a Python venv at .venv with the pinned clients of tests/clients/requirements.txt
# (confluent-kafka, kafka-python, aiokafka and every codec library they need), and
# Debian's kcat.
#
# Run from the repo root: scripts/install-test-clients.sh
# Idempotent: when .venv/.seedlog-clients-ok matches the pins (and kcat is on PATH) it
# does nothing. Safe to run concurrently (an flock serialises installers).
# Needs: python3 >= 3.10 with venv (override with PYTHON=...), network to PyPI, and for
# kcat either kcat already on PATH or apt-get as root (Debian 12).
set -euo pipefail

root="$(pwd)"
if [[ ! -f "$root/Cargo.toml" || ! -f "$root/tests/clients/requirements.txt" ]]; then
  echo "install-test-clients: run me from the seedlog repo root (found no tests/clients/requirements.txt in $root)" >&2
  exit 2
fi

start=$SECONDS
venv="$root/.venv"
reqs="$root/tests/clients/requirements.txt"
marker="$venv/.seedlog-clients-ok"
python="${PYTHON:-python3}"

# The pins, one per line; the marker repeats them, so a changed pin forces a reinstall.
pins() { grep -E '^[A-Za-z0-9_.-]+==' "$1"; }

mkdir -p "$venv"
exec 9>"$venv/.install.lock"
flock 9

if [[ -f "$marker" && -x "$venv/bin/python" ]] && command -v kcat >/dev/null 2>&1 \
  && [[ "$(pins "$reqs")" == "$(pins "$marker")" ]]; then
  echo "install-test-clients: already installed ($marker)"
  exit 0
fi
rm -f "$marker"

# 1. kcat, from Debian (skip apt when it is already there).
if command -v kcat >/dev/null 2>&1; then
  echo "install-test-clients: kcat already on PATH: $(command -v kcat)"
else
  echo "install-test-clients: installing kcat with apt-get"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "install-test-clients: kcat is missing and I am not root (no sudo): install it with 'apt-get install kcat'" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Update the lists first: on a fresh machine apt knows no packages yet.
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends kcat >/dev/null
fi
# "Version 1.7.1 (JSON, ..., librdkafka 2.0.2 builtin.features=...)" -> "1.7.1 (librdkafka 2.0.2)"
kcat_version="$(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\).*librdkafka \([0-9.]*\).*/\1 (librdkafka \2)/p' | head -n 1)"

# 2. The venv and the pinned Python clients.
if [[ ! -x "$venv/bin/python" ]]; then
  if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "install-test-clients: $python is $("$python" --version 2>&1); aiokafka 0.14 needs Python >= 3.10 (set PYTHON=...)" >&2
    exit 1
  fi
  echo "install-test-clients: creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# --only-binary: every pin ships a manylinux wheel for CPython 3.11; never compile C here.
"$venv/bin/python" -m pip install --quiet --only-binary=:all: -r "$reqs"

# 3. Check that each client imports and finds its codecs.
"$venv/bin/python" - <<'PY'
import confluent_kafka, kafka, aiokafka
from kafka import codec
missing = [name for name, ok in [("snappy", codec.has_snappy()), ("lz4", codec.has_lz4()), ("zstd", codec.has_zstd())] if not ok]
if missing:
    raise SystemExit(f"kafka-python lacks codecs: {missing}")
from aiokafka import codec as acodec
amissing = [name for name, ok in [("snappy", acodec.has_snappy()), ("lz4", acodec.has_lz4()), ("zstd", acodec.has_zstd())] if not ok]
if amissing:
    raise SystemExit(f"aiokafka lacks codecs: {amissing}")
features = confluent_kafka.libversion()
print(f"install-test-clients: confluent-kafka {confluent_kafka.__version__} (librdkafka {features[0]}), "
      f"kafka-python {kafka.__version__}, aiokafka {aiokafka.__version__}")
PY

{
  echo "# written by scripts/install-test-clients.sh; delete to force a reinstall"
  pins "$reqs"
  echo "kcat $kcat_version"
  echo "# librdkafka in confluent-kafka: $("$venv/bin/python" -c 'import confluent_kafka; print(confluent_kafka.libversion()[0])')"
} >"$marker.tmp"
mv "$marker.tmp" "$marker"
echo "install-test-clients: done in $((SECONDS - start)) s; kcat: $kcat_version"

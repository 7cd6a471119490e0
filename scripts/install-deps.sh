#!/usr/bin/env bash
# Installs the Debian packages Sluice needs to build, run and test, if they are missing.
# Idempotent: does nothing (and needs no network) when everything is present.
# Usage: scripts/install-deps.sh [build|test|bench]
set -euo pipefail
what=${1:-build}

pkgs=(build-essential cmake pkg-config libuv1-dev libhttp-parser-dev libjansson-dev
      libsqlite3-dev libssl-dev libcurl4-openssl-dev libgmp-dev libzip-dev)
case "$what" in
  test)  pkgs+=(libcmocka-dev clang libclang-rt-14-dev python3-boto3 python3-pytest python3-pytest-xdist
                python3-cryptography python3-aiosmtpd
                awscli nodejs)
         # NodeSource's nodejs bundles npm (and conflicts with Debian's npm package).
         command -v npm >/dev/null || pkgs+=(npm) ;;
  bench) pkgs+=(nginx-light wrk rabbitmq-server nats-server librabbitmq-dev libnats-dev gnuplot-nox
                nodejs)
         command -v npm >/dev/null || pkgs+=(npm) ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ "$what" = bench ]; then
  # fauxqs, the SQS emulator the bench compares with, pinned by the committed lock file.
  dir="$(cd "$(dirname "$0")/.." && pwd)/bench/fauxqs"
  if [ ! -d "$dir/node_modules/fauxqs" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
fi

if [ "$what" = test ]; then
  # The JavaScript SDK for the JSON-protocol tests, pinned by the committed lock file.
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/node"
  # Again whenever the committed lock file is newer than the install (npm's hidden lock file).
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
fi

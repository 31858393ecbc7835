#!/usr/bin/env bash
# Make sure an HTTP load tool is installed for bench/http_bench.py: wrk, else hey (Debian
# packages). Does nothing when one is already there.
set -euo pipefail
if command -v wrk >/dev/null 2>&1 || command -v hey >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "installing an HTTP load tool (wrk, else hey) with apt-get" >&2
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk \
  || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hey
command -v wrk >/dev/null 2>&1 || command -v hey >/dev/null 2>&1

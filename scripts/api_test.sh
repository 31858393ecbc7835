#!/usr/bin/env bash
# `make api-test`: run test_all_endpoints.sh against BASE_URL. When nothing answers there and
# BASE_URL is on this machine, start the service there for the run (with the settings of the
# environment and .env), and stop it afterwards.
#
# Usage: scripts/api_test.sh [BASE_URL]          (default http://127.0.0.1:8000)
#   PYTHON_BIN (default .venv/bin/python), START_TIMEOUT seconds (default 180)
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$script_dir")"
# shellcheck source=scripts/_lib.sh
source "${script_dir}/_lib.sh"

base="${1:-http://127.0.0.1:8000}"
base="${base%/}"
# Checked once ready (the first score book is computed in the background after start-up).
if curl -s -o /dev/null --max-time 3 "${base}/"; then
    "${script_dir}/wait_for_http.sh" "${base}/health/ready" "${START_TIMEOUT:-180}" || exit 1
    exec "${root}/test_all_endpoints.sh" "$base"
fi

hostport="${base#*://}"
hostport="${hostport%%/*}"
host="${hostport%:*}"
port="${hostport##*:}"
[[ "$port" =~ ^[0-9]+$ ]] || die "BASE_URL needs an explicit port to start a server on: ${base}"
case "$host" in
    127.0.0.1 | localhost) ;;
    *) die "nothing answers at ${base}, and a server is started only on this machine" ;;
esac

log_file=$(mktemp)
cd "$root"
log "nothing answers at ${base}: starting the service there (log: ${log_file})"
"${PYTHON_BIN:-.venv/bin/python}" -m uvicorn backend.main:create_app --factory --host "$host" --port "$port" >"$log_file" 2>&1 &
pid=$!
stop() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
trap stop EXIT
if ! "${script_dir}/wait_for_http.sh" "${base}/health/ready" "${START_TIMEOUT:-180}"; then
    tail -n 30 "$log_file" >&2
    exit 1
fi
"${root}/test_all_endpoints.sh" "$base"

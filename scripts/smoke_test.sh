#!/usr/bin/env bash
# Smoke test a running service: wait until it is ready, then run every endpoint check.
#
# Usage: scripts/smoke_test.sh [BASE_URL]
#   BASE_URL defaults to nginx on this host, http://127.0.0.1:$NGINX_PORT, NGINX_PORT read from
#   the environment or the .env beside scripts/ (80 if unset): what the users reach. READY_PATH
#   (default /health/ready) is what is waited for, for up to SMOKE_TIMEOUT seconds (default 60);
#   then test_all_endpoints.sh BASE_URL runs.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/_lib.sh
source "${script_dir}/_lib.sh"

root="$(dirname "$script_dir")"
port="${NGINX_PORT:-$(env_get "${root}/.env" NGINX_PORT)}"
base="${1:-http://127.0.0.1:${port:-80}}"
base="${base%/}"

"${script_dir}/wait_for_http.sh" "${base}${READY_PATH:-/health/ready}" "${SMOKE_TIMEOUT:-60}"
exec "${root}/test_all_endpoints.sh" "$base"

#!/usr/bin/env bash
# Wait until URL answers with a 2xx status, or give up.
#
# Usage: scripts/wait_for_http.sh URL [TIMEOUT_SECONDS] [INTERVAL_SECONDS]
#   Exit 0 as soon as URL answers 2xx; exit 1 (with the last status seen) once TIMEOUT_SECONDS
#   (default 60) have passed. Used by the CI api-tests job, deploy.sh, rollback.sh, smoke_test.sh
#   and container_test.sh.
set -euo pipefail

url="${1:?usage: wait_for_http.sh URL [TIMEOUT_SECONDS] [INTERVAL_SECONDS]}"
timeout="${2:-60}"
interval="${3:-1}"

start=$(date +%s)
status="none"
while :; do
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" || true)
    if [[ "$status" =~ ^2[0-9][0-9]$ ]]; then
        echo "ready: $url answered $status after $(($(date +%s) - start))s"
        exit 0
    fi
    if (($(date +%s) - start >= timeout)); then
        echo "not ready: $url did not answer 2xx within ${timeout}s (last status: ${status:-none})" >&2
        exit 1
    fi
    sleep "$interval"
done

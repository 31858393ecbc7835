#!/usr/bin/env bash
# The build-status job of ci.yml: one line per required job, and a failure when any of them did
# not succeed (failure, cancelled, skipped or missing all count as not succeeded).
#
# Usage: NEEDS_JSON='${{ toJSON(needs) }}' scripts/build_status.sh JOB...
set -euo pipefail

needs="${NEEDS_JSON:?NEEDS_JSON must hold the needs context as JSON}"
(($#)) || { echo "usage: build_status.sh JOB..." >&2; exit 2; }

failed=0
for job in "$@"; do
    result=$(jq -r --arg job "$job" '.[$job].result // "missing"' <<<"$needs")
    printf '%-12s %s\n' "$job" "$result"
    [[ "$result" == success ]] || failed=1
done
if ((failed)); then
    echo "build status: FAILED - a required job did not succeed" >&2
    exit 1
fi
echo "build status: PASSED - every required job succeeded"

#!/usr/bin/env bash
# `make container-test`: build the image, run it, and check that the container becomes healthy
# (its HEALTHCHECK on /health/ready), runs as a non-root user and answers /api/v1/momentum/AAPL.
#
# Usage: scripts/container_test.sh
#   CONTAINER_ENGINE  docker or podman (default: the first of CONTAINER_ENGINES, "docker podman",
#                     whose engine runs)
#   BASE_IMAGE        the Dockerfile's base (default python:3.11-slim-bookworm); for a local base
#                     made with debootstrap see docs/pipeline.md
#   IMAGE             tag to build (default alphavelocity:container-test)
#   HEALTH_TIMEOUT    seconds to wait for "healthy" (default 240)
#   REQUIRE_ENGINE=1  no engine is a failure instead of a plainly reported skip
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$script_dir")"
# shellcheck source=scripts/_lib.sh
source "${script_dir}/_lib.sh"

engine="${CONTAINER_ENGINE:-}"
if [[ -z "$engine" ]]; then
    for candidate in ${CONTAINER_ENGINES:-docker podman}; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" info >/dev/null 2>&1; then
            engine="$candidate"
            break
        fi
    done
fi
if [[ -z "$engine" ]]; then
    echo "container test: SKIPPED - no Docker or Podman engine runs on this machine; the image was NOT built or tested" >&2
    [[ "${REQUIRE_ENGINE:-0}" == 1 ]] && exit 3
    exit 0
fi

image="${IMAGE:-alphavelocity:container-test}"
build_args=()
run_args=()
[[ -z "${BASE_IMAGE:-}" ]] || build_args+=(--build-arg "BASE_IMAGE=${BASE_IMAGE}")
if [[ "$engine" == podman ]]; then
    # Podman's default OCI image format drops HEALTHCHECK; and its default rlimits (a million
    # open files, processes) may be above what a container host (or a sandbox) allows.
    build_args+=(--format docker)
    run_args+=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
fi
log "building ${image} with ${engine}"
"$engine" build "${build_args[@]}" -t "$image" "$root"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cid=$("$engine" run -d "${run_args[@]}" -p "127.0.0.1:${port}:8000" -e DATA_PROVIDER=none -e ENVIRONMENT=test \
    -e WORKERS=1 -e JWT_SECRET_KEY=container-test-only -e ADMIN_TOKEN=container-test-only "$image")
cleanup() {
    "$engine" logs "$cid" 2>&1 | tail -n 20 >&2 || true
    "$engine" rm -f "$cid" >/dev/null 2>&1 || true
}
trap cleanup EXIT

deadline=$(($(date +%s) + ${HEALTH_TIMEOUT:-240}))
status=starting
while :; do
    # Podman runs health checks from systemd timers; without systemd, run the check here.
    [[ "$engine" != podman ]] || "$engine" healthcheck run "$cid" >/dev/null 2>&1 || true
    status=$("$engine" inspect --format '{{.State.Health.Status}}' "$cid" 2>/dev/null || echo unknown)
    [[ "$status" == healthy ]] && break
    (($(date +%s) < deadline)) || die "container did not become healthy (status: ${status})"
    sleep 3
done
log "container is healthy"

uid=$("$engine" exec "$cid" id -u)
[[ "$uid" != 0 ]] || die "the service runs as root"
"$engine" exec "$cid" python -c "import backend.main" || die "the service user cannot import backend.main"

body=$(curl -fsS --max-time 30 "http://127.0.0.1:${port}/api/v1/momentum/AAPL")
jq -e '.ticker == "AAPL" and (.overall_momentum_score | type == "number")' <<<"$body" >/dev/null ||
    die "unexpected answer from /api/v1/momentum/AAPL: ${body:0:300}"
echo "container test: PASSED - ${image} (${engine}) is healthy, runs as uid ${uid} and scored AAPL"

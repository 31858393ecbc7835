#!/usr/bin/env bash
# Create a GitHub deployment and report its status (REST API, curl + jq).
#
# Usage: scripts/github_deployment.sh create ENVIRONMENT REF      prints the deployment id
#        scripts/github_deployment.sh status DEPLOYMENT_ID STATE [ENVIRONMENT_URL]
#   STATE: queued | in_progress | success | failure | error | inactive | pending
# Needs GITHUB_TOKEN (deployments: write) and GITHUB_REPOSITORY; GITHUB_API_URL defaults to
# https://api.github.com. `create` also writes deployment_id to $GITHUB_OUTPUT when set.
set -euo pipefail
# shellcheck source=scripts/_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

api="${GITHUB_API_URL:-https://api.github.com}/repos/${GITHUB_REPOSITORY:?GITHUB_REPOSITORY must be set}"

post() {
    curl -fsS --max-time 30 -X POST \
        -H "Authorization: Bearer ${GITHUB_TOKEN:?GITHUB_TOKEN must be set}" \
        -H "Accept: application/vnd.github+json" \
        -H "X-GitHub-Api-Version: 2022-11-28" \
        -H "Content-Type: application/json" \
        --data "$2" "${api}$1"
}

case "${1:-}" in
    create)
        environment="${2:?usage: github_deployment.sh create ENVIRONMENT REF}"
        ref="${3:?usage: github_deployment.sh create ENVIRONMENT REF}"
        body=$(jq -cn --arg ref "$ref" --arg env "$environment" '{
            ref: $ref, environment: $env, auto_merge: false, required_contexts: [],
            production_environment: ($env == "production"),
            description: ("AlphaVelocity " + $ref + " to " + $env)}')
        id=$(post /deployments "$body" | jq -er '.id')
        log "created deployment ${id} of ${ref} to ${environment}"
        [[ -z "${GITHUB_OUTPUT:-}" ]] || echo "deployment_id=${id}" >>"$GITHUB_OUTPUT"
        echo "$id"
        ;;
    status)
        id="${2:?usage: github_deployment.sh status DEPLOYMENT_ID STATE [ENVIRONMENT_URL]}"
        state="${3:?usage: github_deployment.sh status DEPLOYMENT_ID STATE [ENVIRONMENT_URL]}"
        [[ "$id" =~ ^[0-9]+$ ]] || die "deployment id must be a number, not '${id}'"
        case "$state" in
            queued | in_progress | success | failure | error | inactive | pending) ;;
            *) die "unknown deployment state '${state}'" ;;
        esac
        log_url=""
        [[ -z "${GITHUB_RUN_ID:-}" ]] ||
            log_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}"
        body=$(jq -cn --arg state "$state" --arg log "$log_url" --arg url "${4:-}" '
            {state: $state, auto_inactive: true}
            + (if $log != "" then {log_url: $log} else {} end)
            + (if $url != "" then {environment_url: $url} else {} end)')
        post "/deployments/${id}/statuses" "$body" >/dev/null
        log "deployment ${id}: ${state}"
        ;;
    *)
        die "usage: github_deployment.sh create ENVIRONMENT REF | status DEPLOYMENT_ID STATE [URL]"
        ;;
esac

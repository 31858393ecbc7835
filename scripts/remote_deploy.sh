#!/usr/bin/env bash
# Run a deployment step on a server over SSH. This is what the deploy workflow and
# `make deploy-staging` / `make deploy-prod` call; the server-side work is in deploy.sh,
# rollback.sh and smoke_test.sh, which this copies to the server first.
#
# Usage: scripts/remote_deploy.sh deploy IMAGE_REF
#        scripts/remote_deploy.sh rollback [--restore-db]
#        scripts/remote_deploy.sh smoke
# Settings (environment): DEPLOY_HOST and DEPLOY_USER (required), DEPLOY_PATH (default
# /opt/alphavelocity), SSH (default "ssh"), SSH_OPTS (default: batch mode, strict host keys:
# the host key must already be in known_hosts).
# The server needs docker (with compose), curl, jq and a .env in DEPLOY_PATH (see .env.example).
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$script_dir")"
# shellcheck source=scripts/_lib.sh
source "${script_dir}/_lib.sh"

action="${1:-}"
shift || true
host="${DEPLOY_HOST:?DEPLOY_HOST must be set}"
user="${DEPLOY_USER:?DEPLOY_USER must be set}"
path="${DEPLOY_PATH:-/opt/alphavelocity}"
ssh_cmd="${SSH:-ssh}"
ssh_opts="${SSH_OPTS:--o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=20}"

# remote ARG...: run one command in DEPLOY_PATH on the server, each argument quoted.
remote() {
    local cmd
    printf -v cmd '%q ' "$@"
    # ssh_cmd and ssh_opts are word lists on purpose.
    # shellcheck disable=SC2086
    $ssh_cmd $ssh_opts "${user}@${host}" "cd $(printf '%q' "$path") && ${cmd}"
}

case "$action" in
    deploy)
        image="${1:?usage: remote_deploy.sh deploy IMAGE_REF}"
        log "copying the deployment files to ${user}@${host}:${path}"
        # shellcheck disable=SC2086
        (cd "$repo_dir" && tar -czf - docker-compose.yml nginx/nginx.conf nginx/resolver.sh test_all_endpoints.sh scripts/*.sh) |
            $ssh_cmd $ssh_opts "${user}@${host}" \
                "mkdir -p $(printf '%q' "$path") && tar -xzf - -C $(printf '%q' "$path")"
        remote scripts/deploy.sh "$image"
        ;;
    rollback)
        remote scripts/rollback.sh "$@"
        ;;
    smoke)
        remote scripts/smoke_test.sh
        ;;
    *)
        die "usage: remote_deploy.sh deploy IMAGE_REF | rollback [--restore-db] | smoke"
        ;;
esac

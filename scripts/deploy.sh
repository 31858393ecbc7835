#!/usr/bin/env bash
# Deploy an image on this server with docker compose. Runs ON the server, from the deployment
# folder that holds docker-compose.yml, .env and scripts/ (remote_deploy.sh copies them there).
#
# Usage: scripts/deploy.sh IMAGE_REF          e.g. docker.io/acme/alphavelocity@sha256:... or :v1.2.3
#   1. records the image now in service (APP_IMAGE in .env) as the one to roll back to
#   2. backs up the database (db_backup.sh inside the postgres container) and records the file
#   3. pulls the new image, starts postgres and redis, then the app on the new image
#   4. runs the migrations (simple_db_migration.py inside the app container)
#   5. waits for the health check; on failure exits non-zero and leaves the state for rollback.sh
#
# Settings (environment): DEPLOY_DIR (default: the folder above this script), COMPOSE (default:
# docker compose / docker-compose, whichever exists), HEALTH_URL (default
# http://127.0.0.1:${APP_PORT:-8000}/health/ready), HEALTH_TIMEOUT seconds (default 120),
# SKIP_BACKUP=1 to skip step 2 (first deployment: there is no database yet either way).
# State lives in $DEPLOY_DIR/.deploy/: previous_image, last_backup, history.log.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/_lib.sh
source "${script_dir}/_lib.sh"

image="${1:?usage: deploy.sh IMAGE_REF}"
deploy_dir="${DEPLOY_DIR:-$(dirname "$script_dir")}"
cd "$deploy_dir"
env_file="${deploy_dir}/.env"
state="${deploy_dir}/.deploy"
mkdir -p "$state"
compose=$(compose_cmd) || die "no compose command found (docker compose, docker-compose, podman-compose)"
app_port="${APP_PORT:-$(env_get "$env_file" APP_PORT)}"
health_url="${HEALTH_URL:-http://127.0.0.1:${app_port:-8000}/health/ready}"

current="$(env_get "$env_file" APP_IMAGE)"
log "deploying ${image} in ${deploy_dir} (in service now: ${current:-nothing})"

# 1. What to roll back to: always the image in service right now, so a rollback after a deploy
# that failed early (before the switch) keeps that image rather than an older record.
if [[ -n "$current" ]]; then
    printf '%s\n' "$current" >"${state}/previous_image"
else
    rm -f "${state}/previous_image"
fi

# 2. Back up the database before anything changes.
if [[ "${SKIP_BACKUP:-0}" == 1 ]]; then
    log "database backup skipped (SKIP_BACKUP=1)"
elif [[ -z "$($compose ps -q postgres 2>/dev/null)" ]]; then
    log "database backup skipped: the postgres service is not running yet (first deployment)"
else
    db_user="$(env_get "$env_file" POSTGRES_USER)"
    db_name="$(env_get "$env_file" POSTGRES_DB)"
    backup=$(DATABASE_URL="postgresql://${db_user:-alphavelocity}@/${db_name:-alphavelocity}" \
        PG_EXEC="$compose exec -T postgres" "${script_dir}/db_backup.sh" "${deploy_dir}/backups" |
        tail -n 1)
    printf '%s\n' "$backup" >"${state}/last_backup"
fi

# 3. Pull, then start. APP_IMAGE in .env is what docker-compose.yml runs, so a later manual
# `docker compose up -d` keeps the deployed image; it changes only once the pull has succeeded.
APP_IMAGE="$image" $compose pull app
env_set "$env_file" APP_IMAGE "$image"
$compose up -d postgres redis
$compose up -d app

# 4. Migrate (idempotent; the container also migrates on start).
if ! $compose exec -T app python simple_db_migration.py; then
    record "$state" "$image" "failed: migration"
    die "migration failed for ${image}; run scripts/rollback.sh"
fi

# 5. Health.
if ! "${script_dir}/wait_for_http.sh" "$health_url" "${HEALTH_TIMEOUT:-120}" 2; then
    $compose logs --tail=100 app || true
    record "$state" "$image" "failed: health check"
    die "${image} did not become healthy at ${health_url}; run scripts/rollback.sh"
fi
record "$state" "$image" "deployed (replaced: ${current:-nothing})"
log "deployed ${image}; previous image: ${current:-none}"

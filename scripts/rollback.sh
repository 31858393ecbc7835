#!/usr/bin/env bash
# Put back the image that the last deploy.sh replaced, optionally with the database backup that
# deploy.sh took just before it. Runs ON the server, from the deployment folder.
#
# Usage: scripts/rollback.sh [--restore-db]
#   Reads .deploy/previous_image (and .deploy/last_backup with --restore-db), sets APP_IMAGE in
#   .env back to it, restarts the app, waits for the health check. On success the previous image
#   is in service again and the record is consumed, so a second rollback does not flip back.
# Settings as for deploy.sh: DEPLOY_DIR, COMPOSE, HEALTH_URL, HEALTH_TIMEOUT.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/_lib.sh
source "${script_dir}/_lib.sh"

restore_db=0
case "${1:-}" in
    --restore-db) restore_db=1 ;;
    "") ;;
    *) die "usage: rollback.sh [--restore-db]" ;;
esac

deploy_dir="${DEPLOY_DIR:-$(dirname "$script_dir")}"
cd "$deploy_dir"
env_file="${deploy_dir}/.env"
state="${deploy_dir}/.deploy"
compose=$(compose_cmd) || die "no compose command found (docker compose, docker-compose, podman-compose)"
app_port="${APP_PORT:-$(env_get "$env_file" APP_PORT)}"
health_url="${HEALTH_URL:-http://127.0.0.1:${app_port:-8000}/health/ready}"

[[ -s "${state}/previous_image" ]] || die "nothing to roll back to: ${state}/previous_image is missing"
previous="$(cat "${state}/previous_image")"
failed="$(env_get "$env_file" APP_IMAGE)"
log "rolling back from ${failed:-nothing} to ${previous}"

if ((restore_db)); then
    [[ -s "${state}/last_backup" ]] || die "--restore-db: no backup recorded in ${state}/last_backup"
    backup="$(cat "${state}/last_backup")"
    db_user="$(env_get "$env_file" POSTGRES_USER)"
    db_name="$(env_get "$env_file" POSTGRES_DB)"
    $compose stop app
    DATABASE_URL="postgresql://${db_user:-alphavelocity}@/${db_name:-alphavelocity}" \
        PG_EXEC="$compose exec -T postgres" "${script_dir}/db_restore.sh" "$backup"
fi

env_set "$env_file" APP_IMAGE "$previous"
$compose up -d app
if ! "${script_dir}/wait_for_http.sh" "$health_url" "${HEALTH_TIMEOUT:-120}" 2; then
    $compose logs --tail=100 app || true
    record "$state" "$previous" "rollback failed: health check"
    die "rolled back to ${previous} but it did not become healthy at ${health_url}"
fi
rm -f "${state}/previous_image"
what="rolled back from ${failed:-nothing}"
((restore_db)) && what+=", database restored from ${backup}"
record "$state" "$previous" "$what"
log "rolled back to ${previous}"

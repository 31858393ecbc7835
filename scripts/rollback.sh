#!/usr/bin/env bash
# Put back the release that the last deploy.sh replaced (or tried to replace). Runs ON the
# server, from the deployment folder.
#
# Usage: scripts/rollback.sh [--restore-db]
#   The database (docs/pipeline.md, "Migrations and rollback"):
#     - kept as it is when the failed deploy applied no migration, or only backward-compatible
#       ones: the previous release runs on that schema, and nothing committed since is lost;
#     - restored from the backup that same deploy took when it applied a migration that is not
#       backward compatible (that deploy stopped the service before its backup, so the backup
#       holds every committed write), or when --restore-db asks for it (writes since are lost).
#   The app: with the database kept, the previous image is swapped in without stopping the
#   service (or is simply checked, when the failed release never took over); with the database
#   restored, the app is stopped, the backup restored, the previous image started.
#   On success the record is consumed, so a second rollback does not flip back.
# Settings as for deploy.sh: DEPLOY_DIR, COMPOSE, HEALTH_URL, HEALTH_TIMEOUT, LOCK_TIMEOUT.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/_lib.sh
source "${script_dir}/_lib.sh"
# shellcheck source=scripts/_compose.sh
source "${script_dir}/_compose.sh"

restore_db=0
case "${1:-}" in
    --restore-db) restore_db=1 ;;
    "") ;;
    *) die "usage: rollback.sh [--restore-db]" ;;
esac

deploy_dir="${DEPLOY_DIR:-$(dirname "$script_dir")}"
cd "$deploy_dir"
state="${deploy_dir}/.deploy"
mkdir -p "$state"
deploy_lock "$state"
stack_init "$deploy_dir"
timeout="${HEALTH_TIMEOUT:-$(env_get "$env_file" HEALTH_TIMEOUT)}"
timeout="${timeout:-120}"
nginx_port="${NGINX_PORT:-$(env_get "$env_file" NGINX_PORT)}"
health_url="${HEALTH_URL:-http://127.0.0.1:${nginx_port:-80}/health/ready}"

[[ -s "${state}/previous_image" ]] || die "nothing to roll back to: ${state}/previous_image is missing"
previous="$(cat "${state}/previous_image")"
failed="$(cat "${state}/attempted_image" 2>/dev/null || env_get "$env_file" APP_IMAGE)"
migration=none
before=""
if [[ -s "${state}/last_migration" ]]; then
    read -r migration before <"${state}/last_migration"
fi
if [[ "$migration" == incompatible ]] && ((!restore_db)); then
    log "the failed deploy applied a migration that is not backward compatible (from ${before}): the database is restored from its backup"
    restore_db=1
fi
log "rolling back from ${failed:-nothing} to ${previous} (database: $( ((restore_db)) && echo "restored" || echo "kept, migrations of the failed deploy: ${migration}"))"

if ((restore_db)); then
    [[ -s "${state}/last_backup" ]] ||
        die "the database must be restored but the failed deploy recorded no backup (${state}/last_backup)"
    backup="$(cat "${state}/last_backup")"
    "$engine" rm -f "$(candidate_name)" >/dev/null 2>&1 || true
    remove_container "$(service_cid app)"
    pg_restore "$backup"
    if ! { start_app "$previous" && healthy_app "$(service_cid app)" "$timeout"; }; then
        record "$state" "$previous" "rollback failed: health check"
        die "rolled back to ${previous} but it did not become healthy"
    fi
    start_nginx
else
    cid="$(service_cid app)"
    if is_running "$cid" && [[ "$(container_image_id "$cid")" == "$(image_id "$previous")" ]] &&
        app_health "$cid" >/dev/null 2>&1; then
        log "${previous} still serves (the failed release never took over)"
        env_set "$env_file" APP_IMAGE "$previous"
        start_nginx
    elif ! swap_app "$previous" "$timeout"; then
        record "$state" "$previous" "rollback failed: health check"
        die "rolled back to ${previous} but it did not become healthy"
    fi
fi

if ! "${script_dir}/wait_for_http.sh" "$health_url" "$timeout" 2 >&2; then
    record "$state" "$previous" "rollback failed: health check through nginx"
    die "rolled back to ${previous} but ${health_url} is not healthy"
fi
rm -f "${state}/previous_image" "${state}/last_migration"
printf '%s\n' "$previous" >"${state}/current_image"
what="rolled back from ${failed:-nothing}"
((restore_db)) && what+=", database restored from ${backup}"
record "$state" "$previous" "$what"
log "rolled back to ${previous}"

#!/usr/bin/env bash
# Deploy an image on this server. Runs ON the server, from the deployment folder that holds
# docker-compose.yml, nginx/, .env and scripts/ (remote_deploy.sh copies them there).
#
# Usage: scripts/deploy.sh IMAGE_REF          e.g. docker.io/acme/alphavelocity@sha256:... or :v1.2.3
#   1. one deploy or rollback at a time on this server (a lock), the image in service recorded
#   2. a database that exists but whose postgres is not running (so cannot be backed up) stops
#      the deploy here, with nothing changed
#   3. pulls the image; starts postgres and redis if they are not running, waits for them
#   4. plans the migrations with the new image: all backward compatible (or none) -> an online
#      deploy, the old release serving throughout; otherwise the app stops for this deploy
#   5. backs up the database; a failed backup stops the deploy (the app restarted if stopped)
#   6. migrates (with the new image), records what was applied for rollback.sh
#   7. starts the new release beside the old one, waits for its health check, moves nginx over
#      to it and retires the old container (scripts/_compose.sh, swap_app)
#   8. checks the health through nginx
# Any failure exits non-zero; the old container serves on whenever the engine allowed it to stay
# (steps 2-6 of an online deploy), and scripts/rollback.sh puts back the rest.
#
# Settings (environment): DEPLOY_DIR (default: the folder above this script), COMPOSE (default:
# docker compose / docker-compose / podman-compose, whichever exists), HEALTH_URL (default
# http://127.0.0.1:${NGINX_PORT:-80}/health/ready), HEALTH_TIMEOUT seconds for each container
# (default 120), LOCK_TIMEOUT seconds to wait for another deploy (default 600).
# State in $DEPLOY_DIR/.deploy/: current_image, previous_image, last_backup, last_migration,
# history.log, deploy.log.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/_lib.sh
source "${script_dir}/_lib.sh"
# shellcheck source=scripts/_compose.sh
source "${script_dir}/_compose.sh"

image="${1:?usage: deploy.sh IMAGE_REF}"
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

# 1. What is in service now: what the last deploy or rollback put there, else (a server deployed
# before this record existed) the image of the running app container. Never .env's APP_IMAGE
# alone: on a first deployment that is .env.example's placeholder.
current="$(cat "${state}/current_image" 2>/dev/null || true)"
app_cid="$(service_cid app)"
if [[ -z "$current" ]] && is_running "$app_cid"; then
    current="$(env_get "$env_file" APP_IMAGE)"
fi
log "deploying ${image} in ${deploy_dir} with ${compose} (in service now: ${current:-nothing})"
# the record of the previous deploy is consumed: a failure below must not restore an old backup
rm -f "${state}/last_backup" "${state}/last_migration"
printf '%s\n' "$image" >"${state}/attempted_image"
configured_image="$(env_get "$env_file" APP_IMAGE)"
stopped_app=""
switched=0
on_exit() {
    local code=$?
    tool_stop
    "$engine" rm -f "$(candidate_name)" >/dev/null 2>&1 || true
    if ((code != 0)); then
        # .env names what runs: the old image, unless the new one has taken over
        if ((!switched)) && [[ -n "$configured_image" ]]; then
            env_set "$env_file" APP_IMAGE "$configured_image"
        fi
        [[ -z "$stopped_app" ]] || log "the app was stopped for this deploy: run scripts/rollback.sh"
    fi
}
trap on_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# 2. The database: does it exist, and can it be backed up? A database that exists must be
# backed up before anything changes.
database_exists=0
if is_running "$(service_cid postgres)"; then
    database_exists=1
elif volume_exists "$(database_volume)"; then
    die "the database volume $(database_volume) exists but postgres is not running, so it cannot be backed up: start it (compose up -d postgres) and deploy again; nothing changed"
fi

# 3. Pull: nothing changes before the new image is here.
pull_image "$image" || die "could not pull ${image}: nothing changed"
start_data_services

# 4. Plan the migrations with the new image.
tool_start "$image"
plan="$(tool_exec python simple_db_migration.py --plan | tail -n 1)" ||
    die "the new image could not plan its migrations: nothing changed"
pending="$(jq -r '[.pending[].revision] | join(", ")' <<<"$plan")"
compatible="$(jq -r '.backward_compatible' <<<"$plan")"
serving=0
is_running "$app_cid" && serving=1
if [[ -z "$pending" ]]; then
    migration=none
elif [[ "$compatible" == true ]]; then
    migration=compatible
else
    migration=incompatible
fi
log "migrations to apply: ${pending:-none} (${migration})"
if [[ "$migration" == incompatible ]] && ((serving)); then
    log "not every migration is backward compatible: the service stops for this deploy"
    stopped_app="$app_cid"
    remove_container "$app_cid"
fi

# 5. Back up before the schema changes (after the stop above, so the backup holds every write).
if ((database_exists)); then
    backup=$(pg_backup) || {
        if [[ -n "$stopped_app" ]]; then
            { start_app "$configured_image" && healthy_app "$(service_cid app)" "$timeout"; } || true
        fi
        die "the database backup failed: nothing deployed"
    }
    printf '%s\n' "$backup" >"${state}/last_backup"
else
    log "first deployment: no database to back up yet"
fi

# 6. Migrate, with the new image; what was applied tells rollback.sh whether the previous release
# runs on the database as it is, or needs this deploy's backup back.
before="$(jq -r '.revision // "empty"' <<<"$plan")"
printf '%s %s\n' "$migration" "$before" >"${state}/last_migration"
if ! tool_exec python simple_db_migration.py >&2; then
    record "$state" "$image" "failed: migration"
    die "migration failed for ${image}; run scripts/rollback.sh"
fi
tool_stop

# 7. The new release beside the old one, then in its place.
printf '%s\n' "${current}" >"${state}/previous_image"
if ! swap_app "$image" "$timeout"; then
    record "$state" "$image" "failed: health check"
    die "${image} did not become healthy; run scripts/rollback.sh"
fi
switched=1

# 8. Through nginx, as the users see it.
if ! "${script_dir}/wait_for_http.sh" "$health_url" "$timeout" 2 >&2; then
    record "$state" "$image" "failed: health check through nginx"
    die "${image} is healthy but ${health_url} is not; run scripts/rollback.sh"
fi
printf '%s\n' "$image" >"${state}/current_image"
[[ -n "$current" ]] || rm -f "${state}/previous_image"
record "$state" "$image" "deployed (replaced: ${current:-nothing}; migrations: ${pending:-none})"
log "deployed ${image}; previous image: ${current:-none}"

# shellcheck shell=bash
# The compose stack of a deployment folder, the same way on the three engines docs/pipeline.md
# names: `docker compose` (v2), `docker-compose` (v1) and `podman-compose` (1.0.3, Debian 12).
# Source it after _lib.sh, then call stack_init DEPLOY_DIR. Used by deploy.sh and rollback.sh.
#
# Where the engines differ, this file is the one place that knows:
#   - podman-compose 1.0.3 takes the project name only from -p (or the folder's name), reads .env
#     over the environment, has no `ps -q SERVICE`, `pull SERVICE` or `up --scale`, never
#     recreates a container whose configuration changed, ignores depends_on conditions, network
#     ipam and ipv4_address. So: -p always; APP_IMAGE is written to .env before any compose
#     command that should use it; images are pulled with the engine; containers are found by
#     their labels and names; health is waited for here; the front network is created here with
#     its subnet (docker compose creates it from the file).
#   - the candidate container of a release is `compose run -d --name PROJECT_app_next app`:
#     docker compose needs --use-aliases to give it the service's DNS name `app`, which
#     podman-compose always gives.

compose_lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Inside the app container: what the image's HEALTHCHECK runs (Dockerfile).
APP_HEALTH_PY="import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=4).status != 200)"

# stack_init DIR: sets compose (the command, words), engine (docker|podman), project, stack_dir
# and env_file.
stack_init() {
    local dir="$1" name db_password
    stack_dir="$dir"
    env_file="${dir}/.env"
    mkdir -p "${dir}/.deploy"
    compose_log="${dir}/.deploy/compose.log"
    (umask 077 && : >"$compose_log")
    compose=$(compose_cmd) || die "no compose command found (docker compose, docker-compose, podman-compose)"
    case "$compose" in
        *podman-compose*) engine=podman ;;
        *) engine=docker ;;
    esac
    engine="${CONTAINER_ENGINE:-$engine}"
    name="${COMPOSE_PROJECT_NAME:-$(env_get "$env_file" COMPOSE_PROJECT_NAME)}"
    name="${name:-$(basename "$dir")}"
    # lower case letters and digits only: what all three engines accept unchanged
    project=$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]' | tr -cd 'a-z0-9')
    [[ -n "$project" ]] || die "no usable compose project name from '${name}'"
    # The seed's name for the database password (DB_PASSWORD) is accepted for POSTGRES_PASSWORD.
    db_password="$(env_get "$env_file" DB_PASSWORD)"
    if [[ -z "${POSTGRES_PASSWORD:-}" && -z "$(env_get "$env_file" POSTGRES_PASSWORD)" && -n "$db_password" ]]; then
        export POSTGRES_PASSWORD="$db_password"
    elif [[ -n "$db_password" && "$db_password" != "${POSTGRES_PASSWORD:-$(env_get "$env_file" POSTGRES_PASSWORD)}" ]]; then
        die "DB_PASSWORD and POSTGRES_PASSWORD are both set and differ in ${env_file}: keep one"
    fi
}

# dc ARGS...: the compose command on this project. Its output goes to .deploy/compose.log (only
# the owner may read it), never to the deploy's own output: podman-compose prints each container's
# whole command line, secrets in the environment included, and that output ends in CI logs.
dc() {
    local code=0
    printf '+ %s -p %s %s\n' "$compose" "$project" "$*" >>"$compose_log"
    # compose is a word list on purpose ("docker compose").
    # shellcheck disable=SC2086
    $compose -p "$project" "$@" >>"$compose_log" 2>&1 || code=$?
    ((code == 0)) || log "${compose} $1 failed (exit ${code}): see ${compose_log}"
    return "$code"
}

is_podman_compose() { [[ "$compose" == *podman-compose* ]]; }

# service_cid SERVICE: the id of the service's container (running or not), or nothing.
service_cid() {
    if is_podman_compose; then
        "$engine" ps -a -q --filter "name=^${project}_${1}_1\$" 2>/dev/null | head -n 1
    else
        "$engine" ps -a -q --filter "label=com.docker.compose.project=${project}" \
            --filter "label=com.docker.compose.service=${1}" \
            --filter "label=com.docker.compose.oneoff=False" 2>/dev/null | head -n 1
    fi
}

# candidate_name: the container that serves a new release beside the old one during a swap.
candidate_name() { printf '%s_app_next\n' "$project"; }

is_running() { [[ -n "$1" && "$("$engine" inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" == true ]]; }

# database_volume: the named volume of the database (the same name on all three engines).
database_volume() { printf '%s_postgres-data\n' "$project"; }

volume_exists() { "$engine" volume inspect "$1" >/dev/null 2>&1; }

# image_id REF: the local id of an image reference, or nothing.
image_id() { "$engine" image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# container_image_id CID: the id of the image a container runs.
container_image_id() { "$engine" inspect -f '{{.Image}}' "$1" 2>/dev/null || true; }

# pull IMAGE: with the engine itself (podman-compose 1.0.3 cannot pull one service).
pull_image() {
    log "pulling $1"
    "$engine" pull "$1" >&2
}

# ensure_front_network: podman-compose creates networks without their ipam; create the front
# network with its subnet first, so TRUSTED_PROXIES (the subnet) matches nginx's address.
ensure_front_network() {
    is_podman_compose || return 0
    local net="${project}_front" subnet
    subnet="${FRONT_SUBNET:-$(env_get "$env_file" FRONT_SUBNET)}"
    "$engine" network exists "$net" 2>/dev/null && return 0
    "$engine" network create --label "io.podman.compose.project=${project}" \
        --label "com.docker.compose.project=${project}" \
        --subnet "${subnet:-172.30.1.0/28}" "$net" >/dev/null
}

# wait_until SECONDS WHAT COMMAND...: run COMMAND every 2 s until it succeeds, or fail.
wait_until() {
    local seconds="$1" what="$2" deadline
    shift 2
    deadline=$(($(date +%s) + seconds))
    until "$@" >/dev/null 2>&1; do
        if (($(date +%s) >= deadline)); then
            log "${what}: not within ${seconds}s"
            return 1
        fi
        sleep 2
    done
}

# shellcheck disable=SC2016 # the container's shell expands them
pg_ready() { "$engine" exec "$(service_cid postgres)" sh -c 'pg_isready -q -U "$POSTGRES_USER" -d "$POSTGRES_DB"'; }
redis_ready() { "$engine" exec "$(service_cid redis)" sh -c 'redis-cli ping | grep -q PONG'; }

# start_data_services: postgres and redis up and answering (compose's depends_on conditions are
# not honoured by podman-compose, so the wait is here, for every engine).
start_data_services() {
    ensure_front_network
    dc up -d --no-build postgres redis
    wait_until "${SERVICE_TIMEOUT:-90}" "postgres ready" pg_ready || die "postgres did not become ready"
    wait_until "${SERVICE_TIMEOUT:-90}" "redis ready" redis_ready || die "redis did not become ready"
}

# app_health CID: the container's own health check, run now (no engine timers needed).
app_health() { "$engine" exec "$1" python -c "$APP_HEALTH_PY"; }

# wait_app_healthy CID SECONDS: until its health check passes; fails early once the container
# is gone, has exited with no restart policy, or keeps restarting (a release that cannot start).
wait_app_healthy() {
    local cid="$1" seconds="$2" deadline status restarts policy
    deadline=$(($(date +%s) + seconds))
    while :; do
        app_health "$cid" >/dev/null 2>&1 && return 0
        status=$("$engine" inspect -f '{{.State.Status}}' "$cid" 2>/dev/null || echo gone)
        restarts=$("$engine" inspect -f '{{.RestartCount}}' "$cid" 2>/dev/null || echo 0)
        policy=$("$engine" inspect -f '{{.HostConfig.RestartPolicy.Name}}' "$cid" 2>/dev/null || true)
        if [[ "$status" == gone ]] ||
            [[ "$status" =~ ^(exited|stopped|dead)$ && "$policy" =~ ^(no|)$ ]]; then
            log "container ${cid:0:12} ${status}: it will not become healthy"
            return 1
        fi
        if ((restarts >= ${MAX_RESTARTS:-3})); then
            log "container ${cid:0:12} restarted ${restarts} times: it will not become healthy"
            return 1
        fi
        if (($(date +%s) >= deadline)); then
            log "container ${cid:0:12} not healthy within ${seconds}s (status ${status})"
            return 1
        fi
        sleep 2
    done
}

# A tool container of a release: the app service's configuration (environment, networks) on
# IMAGE, idle, to run one-off commands in with the engine's exec (podman-compose 1.0.3 neither
# returns the exit code of `run` nor keeps its output apart from its own).
tool_name() { printf '%s_app_tool\n' "$project"; }

tool_start() {
    local extra=()
    # podman-compose drops the service's restart policy only with --rm (ignored with -d)
    is_podman_compose && extra=(--rm)
    "$engine" rm -f "$(tool_name)" >/dev/null 2>&1 || true
    env_set "$env_file" APP_IMAGE "$1"
    dc run -d --no-deps "${extra[@]}" --name "$(tool_name)" app sleep 3600
}

# tool_exec ARGS...: run ARGS in the tool container; its stdout and exit code are the command's.
tool_exec() { "$engine" exec "$(tool_name)" "$@"; }

tool_stop() { "$engine" rm -f "$(tool_name)" >/dev/null 2>&1 || true; }

# show_logs CID: the end of a container's log, for the deploy log.
show_logs() { [[ -z "$1" ]] || "$engine" logs --tail 60 "$1" >&2 2>&1 || true; }

# remove_container CID: stop it gracefully (uvicorn finishes the requests in flight), remove it.
remove_container() {
    [[ -n "$1" ]] || return 0
    "$engine" stop -t "${STOP_GRACE:-30}" "$1" >/dev/null 2>&1 || true
    "$engine" rm -f "$1" >/dev/null 2>&1 || true
}

# nginx_reload: new nginx workers, which resolve `app` afresh (nginx would anyway within 5 s:
# resolver.conf). Checked first: a configuration that does not load leaves nginx as it was.
nginx_reload() {
    local cid
    cid=$(service_cid nginx)
    is_running "$cid" || return 0
    "$engine" exec "$cid" nginx -t -q >&2 || {
        log "nginx -t failed: nginx keeps its previous configuration"
        return 1
    }
    "$engine" exec "$cid" nginx -s reload >&2
    sleep "${RELOAD_SETTLE:-1}" # the new workers take over
}

# start_nginx: nginx up (it resolves `app` when it starts, so after the app is healthy).
start_nginx() {
    local cid
    cid=$(service_cid nginx)
    if is_running "$cid"; then
        nginx_reload
    else
        [[ -z "$cid" ]] || "$engine" rm -f "$cid" >/dev/null
        dc up -d --no-build nginx
    fi
}

# nginx finds the app by its DNS name `app` on the front network, and asks again every 5 s, so a
# container that is starting, or never gets healthy, must not carry that name there: each new
# container is taken off the front network as soon as it exists (long before it listens: the
# interpreter alone takes seconds to start) and put back, as `app`, once its health check passes.
front_network() { printf '%s_front\n' "$project"; }
hide_from_nginx() { "$engine" network disconnect "$(front_network)" "$1" >/dev/null; }
show_to_nginx() { "$engine" network connect --alias app "$(front_network)" "$1" >/dev/null; }

# start_app IMAGE: the app service's container on IMAGE (APP_IMAGE in .env), replacing the one
# there: removed first (gracefully), on every engine - podman-compose would never recreate it, and
# nginx is told it is gone before the new one starts. The new one starts hidden from nginx
# (healthy_app shows it).
start_app() {
    local old
    env_set "$env_file" APP_IMAGE "$1"
    old=$(service_cid app)
    if [[ -n "$old" ]]; then
        remove_container "$old"
        nginx_reload || true
    fi
    dc up -d --no-build --no-deps app || return 1
    hide_from_nginx "$(service_cid app)"
}

# healthy_app CID SECONDS: wait for the container's health check, then let nginx find it.
healthy_app() {
    if ! wait_app_healthy "$1" "$2"; then
        show_logs "$1"
        return 1
    fi
    show_to_nginx "$1"
}

# swap_app IMAGE TIMEOUT: put IMAGE in service. When the app serves, without stopping the
# service: a candidate container of IMAGE starts beside the old one (hidden from nginx); once it is
# healthy nginx spreads requests over both, the app service's container is replaced by one of
# IMAGE, and the candidate leaves. When nothing serves, the app simply starts. Fails (the old
# container still serving, the candidate removed) when IMAGE does not become healthy.
swap_app() {
    local image="$1" timeout="$2" old cand new
    old=$(service_cid app)
    cand=$(candidate_name)
    "$engine" rm -f "$cand" >/dev/null 2>&1 || true
    if ! is_running "$old" || ! app_health "$old" >/dev/null 2>&1; then
        log "no healthy app container serves: starting ${image} in place"
        start_app "$image" || return 1
        healthy_app "$(service_cid app)" "$timeout" || return 1
        start_nginx
        return 0
    fi
    log "starting ${image} beside the serving container (${old:0:12})"
    env_set "$env_file" APP_IMAGE "$image"
    local aliases=()
    is_podman_compose || aliases=(--use-aliases)
    dc run -d --no-deps "${aliases[@]}" --name "$cand" app || return 1
    hide_from_nginx "$cand"
    if ! healthy_app "$cand" "$timeout"; then
        "$engine" rm -f "$cand" >/dev/null 2>&1 || true
        return 1
    fi
    nginx_reload # old + candidate
    log "candidate healthy: replacing the app service's container"
    start_app "$image" || return 1 # old removed, nginx reloaded: the candidate serves alone
    new=$(service_cid app)
    healthy_app "$new" "$timeout" || return 1 # the candidate (healthy, same image) serves on
    nginx_reload # new + candidate
    remove_container "$cand"
    nginx_reload # new only
}

# pg_script SCRIPT ARGS...: db_backup.sh or db_restore.sh on the database in the postgres
# container, run with the engine's exec (podman-compose's exec would mix its own messages into a
# dump, and does not return the exit code).
pg_script() {
    local script="$1" user db
    shift
    user="$(env_get "$env_file" POSTGRES_USER)"
    db="$(env_get "$env_file" POSTGRES_DB)"
    DATABASE_URL="postgresql://${user:-alphavelocity}@/${db:-alphavelocity}" \
        PG_EXEC="$engine exec -i $(service_cid postgres)" "${compose_lib_dir}/${script}" "$@"
}

# pg_backup: back up into DEPLOY_DIR/backups; prints the file.
pg_backup() { pg_script db_backup.sh "${stack_dir}/backups" | tail -n 1; }

pg_restore() { pg_script db_restore.sh "$1"; }

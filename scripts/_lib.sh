# shellcheck shell=bash
# Helpers shared by the scripts in this folder. Source it; do not run it.

log() { printf '[%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# libpq_url URL: turn a SQLAlchemy PostgreSQL URL (postgresql+psycopg2://...) into one that
# pg_dump and psql accept (postgresql://...). Anything that is not PostgreSQL is refused.
libpq_url() {
    local url="$1"
    case "$url" in
        postgresql+*://*) printf 'postgresql://%s\n' "${url#*://}" ;;
        postgresql://* | postgres://*) printf '%s\n' "$url" ;;
        *) die "not a PostgreSQL URL (backup and restore need PostgreSQL): ${url%%://*}://..." ;;
    esac
}

# compose_cmd: the compose command of this machine ("docker compose", "docker-compose" or
# "podman-compose"), or $COMPOSE when it is set. Prints nothing and fails when there is none.
# docker-compose (v1) counts only where a Docker engine's socket is there: Debian installs it
# beside Podman too, and without an engine it can do nothing.
compose_cmd() {
    if [[ -n "${COMPOSE:-}" ]]; then
        printf '%s\n' "$COMPOSE"
    elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
        echo "docker compose"
    elif command -v docker-compose >/dev/null 2>&1 &&
        { [[ -S /var/run/docker.sock ]] || [[ -n "${DOCKER_HOST:-}" ]] || ! command -v podman-compose >/dev/null 2>&1; }; then
        echo "docker-compose"
    elif command -v podman-compose >/dev/null 2>&1; then
        echo "podman-compose"
    else
        return 1
    fi
}

# env_get FILE KEY: the value of KEY in a dotenv FILE (last assignment wins; surrounding quotes
# removed), or nothing. The file is read, never sourced.
env_get() {
    local file="$1" key="$2" line value
    [[ -f "$file" ]] || return 0
    line=$(grep -E "^[[:space:]]*${key}=" "$file" | tail -n 1 || true)
    value="${line#*=}"
    value="${value%\"}"
    value="${value#\"}"
    value="${value%\'}"
    value="${value#\'}"
    printf '%s' "$value"
}

# env_set FILE KEY VALUE: set KEY=VALUE in a dotenv FILE, replacing an existing assignment or
# appending one. Written through a temporary file and renamed, so a crash never leaves half a file.
env_set() {
    local file="$1" key="$2" value="$3" tmp
    tmp=$(mktemp "${file}.XXXXXX")
    if [[ -f "$file" ]]; then
        grep -vE "^[[:space:]]*${key}=" "$file" >"$tmp" || true
        chmod --reference="$file" "$tmp"
    fi
    printf '%s=%s\n' "$key" "$value" >>"$tmp"
    mv "$tmp" "$file"
}

# record STATE_DIR IMAGE WHAT: append one line to STATE_DIR/history.log (the deployment log).
record() {
    printf '%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$2" "$3" >>"$1/history.log"
}

# deploy_lock STATE_DIR: one deploy or rollback at a time on this server. Held (file descriptor
# 9) until the script exits; waits up to LOCK_TIMEOUT seconds (600) for another one to finish.
deploy_lock() {
    exec 9>>"$1/lock"
    flock -w "${LOCK_TIMEOUT:-600}" 9 ||
        die "another deploy or rollback still holds $1/lock after ${LOCK_TIMEOUT:-600}s"
}

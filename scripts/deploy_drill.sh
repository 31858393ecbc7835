#!/usr/bin/env bash
# `make deploy-drill`: the deploy path run end to end on this machine, as the deploy workflow runs
# it against a server (docs/pipeline.md, "The deploy drill").
#
#   1. builds a Debian base image with debootstrap (from the mirror apt uses) and, on it, the
#      STAND-INS for the postgres, redis and nginx images (scripts/drill/*.Containerfile: Debian's
#      PostgreSQL 15, Redis 7.0 and nginx 1.22 behind the official images' interface - no image
#      registry is reachable here), and four releases of the app with Podman:
#        A  this working tree
#        B  A + test migration 9001 (a new table; backward compatible)
#        C  B + test migration 9002 (a nullable column on portfolios; backward compatible), and
#           a readiness check that never passes
#        D  B + 9002 + test migration 9003 (drops 9001's table; NOT backward compatible), and a
#           start-up that crashes
#      The test migrations exist only in the drill's copies of the tree, never in the product.
#   2. starts a registry (Debian's docker-registry) and sshd, both on loopback, as the "server"
#   3. deploys A, B, C and D with scripts/remote_deploy.sh over that ssh, as the workflow does,
#      rolls back C and D as the workflow would, and restarts B on the schema C left; all the
#      while a user probes /health/ready through nginx 5 times a second and commits a
#      transaction twice a second (scripts/drill/traffic.py)
#   4. after each step checks the smoke test (remote_deploy.sh smoke), that no acknowledged
#      transaction is missing from the database, the schema revision and the image in service,
#      and how long the service did not answer
# One line per step, then `deploy drill: N passed, M failed`; exit 1 when a step failed.
# Everything it starts is removed at the end (containers, volumes, networks, images, the
# registry, sshd, its folder), also when it is interrupted or runs out of time.
#
# Settings (environment): DRILL_TIMEOUT seconds for the whole drill (default 2700),
# DEBIAN_MIRROR (default: the first Debian mirror in apt's sources), DRILL_LOG (default
# ./deploy-drill.log: every command's output), DRILL_KEEP_IMAGES=1 keeps the base, stand-in and
# release images for a faster next run (they are tagged localhost/avdrill/...), PYTHON (a Python
# with the project's requirements, to read the migrations' head; default python3).
# Needs root, podman, podman-compose, debootstrap, sshd, docker-registry, curl, jq, flock.
# shellcheck disable=SC2329 # the steps are functions called through run_step
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$script_dir")"

if [[ -z "${DRILL_UNDER_TIMEOUT:-}" ]]; then
    # Bounded in time: TERM at DRILL_TIMEOUT (the trap below cleans up), KILL 3 minutes later.
    export DRILL_UNDER_TIMEOUT=1
    exec timeout --kill-after=180 "${DRILL_TIMEOUT:-2700}" "$0" "$@"
fi

# shellcheck source=scripts/_lib.sh
source "${script_dir}/_lib.sh"

PYTHON="${PYTHON:-python3}"
drill_log="${DRILL_LOG:-${PWD}/deploy-drill.log}"
: >"$drill_log"
work="$(mktemp -d /var/tmp/avdrill.XXXXXX)"
project=avdrill
prefix=localhost/avdrill
base_image="${prefix}/debian:bookworm"
server="${work}/server/alphavelocity"
passed=0
failed=0
registry_pid=""
traffic_pid=""
sshd_pidfile="${work}/ssh/sshd.pid"
images_before="${work}/images-before"

note() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >>"$drill_log"; }
# quiet CMD...: run CMD with its output in the drill log.
quiet() { "$@" >>"$drill_log" 2>&1; }
step() {
    local verdict="$1" name="$2" details="$3"
    if [[ "$verdict" == PASS ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    printf '%s  %s: %s\n' "$verdict" "$name" "$details"
    note "$verdict $name: $details"
}
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N | cut -c1-14; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

cleanup() {
    local code=$?
    trap - EXIT INT TERM
    note "cleaning up (exit ${code})"
    [[ -z "$traffic_pid" ]] || {
        touch "${work}/traffic/stop"
        kill "$traffic_pid" 2>/dev/null || true
    }
    if ((failed > 0 || code != 0)); then
        local name
        for name in $(podman ps -a --format '{{.Names}}' --filter "name=^${project}_" 2>/dev/null); do
            note "--- last log lines of ${name}"
            podman logs --tail 80 "$name" >>"$drill_log" 2>&1 || true
        done
    fi
    # the stack: its containers (services, candidate, tool), volumes and networks
    podman ps -a -q --filter "label=com.docker.compose.project=${project}" | xargs -r podman rm -f >/dev/null 2>&1 || true
    podman ps -a -q --filter "name=^${project}_" | xargs -r podman rm -f >/dev/null 2>&1 || true
    podman volume ls -q --filter "name=^${project}_" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
    podman network ls -q --filter "name=^${project}_" | xargs -r podman network rm -f >/dev/null 2>&1 || true
    [[ -z "$registry_pid" ]] || kill "$registry_pid" 2>/dev/null || true
    [[ ! -s "$sshd_pidfile" ]] || kill "$(cat "$sshd_pidfile")" 2>/dev/null || true
    if [[ "${DRILL_KEEP_IMAGES:-0}" != 1 && -f "$images_before" ]]; then
        # every image this run made (tagged or the build's intermediate layers), and no other
        podman images -a --format '{{.ID}}' | sort -u | comm -23 - "$images_before" |
            xargs -r podman rmi -f >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
    exit "$code"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'echo "FAIL  the drill ran out of time (DRILL_TIMEOUT=${DRILL_TIMEOUT:-2700}s)"; echo "deploy drill: ${passed} passed, $((failed + 1)) failed"; exit 124' TERM

for tool in podman podman-compose debootstrap /usr/sbin/sshd docker-registry curl jq flock ssh ssh-keyscan ssh-keygen; do
    command -v "$tool" >/dev/null 2>&1 || die "${tool} is missing: apt-get install -y podman podman-compose debootstrap openssh-server docker-registry curl jq"
done
((EUID == 0)) || die "the drill runs as root (rootful Podman, sshd)"
podman images -a --format '{{.ID}}' | sort -u >"$images_before"
echo "deploy drill: work folder ${work}, every command's output in ${drill_log}"

# ---------------------------------------------------------------- images ---------------------
debian_mirror() {
    local uri
    uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list |
        grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n 1 || true)
    printf '%s\n' "${DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

build_base_and_standins() {
    local rootfs="${work}/rootfs" mirror name how
    mirror=$(debian_mirror)
    if [[ "${DRILL_KEEP_IMAGES:-0}" == 1 ]] && podman image exists "$base_image"; then
        how="the base kept from an earlier run (DRILL_KEEP_IMAGES=1)"
    else
        note "debootstrap bookworm from ${mirror}"
        quiet debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror" || return 1
        # the host's CA bundle: where the network intercepts TLS (pip inside the build) it is needed
        cp /etc/ssl/certs/ca-certificates.crt "${rootfs}/etc/ssl/certs/ca-certificates.crt"
        printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"${rootfs}/etc/pip.conf"
        tar -C "$rootfs" -c . | quiet podman import - "$base_image" || return 1
        rm -rf "$rootfs"
        how="debootstrap bookworm from ${mirror}"
    fi
    for name in postgres-standin:15 redis-standin:7 nginx-standin:1.22; do
        quiet podman build --format docker --build-arg "BASE=${base_image}" \
            -f "${script_dir}/drill/${name%%:*}.Containerfile" -t "${prefix}/${name}" "${script_dir}/drill" || return 1
    done
    echo "${how}; stand-ins postgres (Debian PostgreSQL 15), redis (7.0), nginx (1.22)"
}

# drill_migration DIR REVISION DOWN COMPATIBLE UPGRADE DOWNGRADE: a test revision in a tree copy.
drill_migration() {
    cat >"$1/backend/db/migrations/versions/$2.py" <<EOF
"""Deploy drill test revision $2 (scripts/deploy_drill.sh): never part of the product."""

import sqlalchemy as sa
from alembic import op

revision = "$2"
down_revision = "$3"
branch_labels = None
depends_on = None
backward_compatible = $4


def upgrade() -> None:
    $5


def downgrade() -> None:
    $6
EOF
}

build_releases() {
    local head
    mkdir -p "${work}/A"
    (cd "$repo" && git ls-files -co --exclude-standard -z |
        tar --null --ignore-failed-read -T - -c 2>/dev/null) | tar -x -C "${work}/A"
    head=$(cd "${work}/A" && "$PYTHON" -c 'from backend.db.migrate import head_revision; print(head_revision())') || return 1
    printf '%s\n' "$head" >"${work}/head"
    cp -a "${work}/A" "${work}/B"
    drill_migration "${work}/B" 9001_drill_b "$head" True \
        'op.create_table("drill_release_b", sa.Column("id", sa.Integer, primary_key=True))' \
        'op.drop_table("drill_release_b")'
    cp -a "${work}/B" "${work}/C"
    drill_migration "${work}/C" 9002_drill_c 9001_drill_b True \
        'op.add_column("portfolios", sa.Column("drill_note", sa.String(40), nullable=True))' \
        'op.drop_column("portfolios", "drill_note")'
    cp -a "${work}/C" "${work}/D"
    cat >>"${work}/C/backend/main.py" <<'EOF'


# Deploy drill, release C: broken on purpose - it serves, but its readiness check never passes.
@app.middleware("http")
async def _drill_never_ready(request, call_next):  # type: ignore[no-untyped-def]
    from starlette.responses import JSONResponse

    if request.url.path == "/health/ready":
        return JSONResponse({"status": "not_ready", "checks": {}}, status_code=503)
    return await call_next(request)
EOF
    drill_migration "${work}/D" 9003_drill_d 9002_drill_c False \
        'op.drop_table("drill_release_b")' \
        'op.create_table("drill_release_b", sa.Column("id", sa.Integer, primary_key=True))'
    printf '\n# Deploy drill, release D: broken on purpose - it cannot start.\nraise RuntimeError("release D of the deploy drill")\n' >>"${work}/D/backend/main.py"
    local release
    for release in A B C D; do
        quiet podman build --format docker --build-arg "BASE_IMAGE=${base_image}" \
            -t "${prefix}/alphavelocity:${release}" "${work}/${release}" || return 1
        quiet podman push --tls-verify=false --digestfile "${work}/${release}.digest" \
            "${prefix}/alphavelocity:${release}" "127.0.0.1:${registry_port}/alphavelocity:${release}" || return 1
        printf '127.0.0.1:%s/alphavelocity@%s\n' "$registry_port" "$(cat "${work}/${release}.digest")" >"${work}/${release}.ref"
        rm -rf "${work:?}/${release}"
    done
    echo "A (this tree, head ${head}), B (+9001, compatible), C (+9002, compatible, never ready), D (+9003, not compatible, crashes); pushed by digest"
}

# ---------------------------------------------------------------- the "server" ---------------
start_registry() {
    registry_port=$(free_port)
    mkdir -p "${work}/registry"
    cat >"${work}/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${work}/registry
http:
  addr: 127.0.0.1:${registry_port}
EOF
    docker-registry serve "${work}/registry.yml" >>"$drill_log" 2>&1 &
    registry_pid=$!
    quiet "${script_dir}/wait_for_http.sh" "http://127.0.0.1:${registry_port}/v2/" 30
}

start_sshd() {
    ssh_port=$(free_port)
    local dir="${work}/ssh"
    mkdir -p "$dir" /run/sshd
    chmod 700 "$dir"
    ssh-keygen -q -t ed25519 -N '' -f "${dir}/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "${dir}/deploy_key"
    cp "${dir}/deploy_key.pub" "${dir}/authorized_keys"
    # the registry is plain HTTP on loopback; the engine's defaults for open files and processes
    # can exceed what this machine allows containers (see container_test.sh)
    printf '[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$registry_port" >"${dir}/registries.conf"
    printf '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n' >"${dir}/containers.conf"
    cat >"${dir}/sshd_config" <<EOF
Port ${ssh_port}
ListenAddress 127.0.0.1
HostKey ${dir}/host_key
PidFile ${sshd_pidfile}
AuthorizedKeysFile ${dir}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv COMPOSE=podman-compose CONTAINERS_REGISTRIES_CONF=${dir}/registries.conf CONTAINERS_CONF=${dir}/containers.conf
EOF
    /usr/sbin/sshd -f "${dir}/sshd_config" -E "${dir}/sshd.log"
    for _ in $(seq 1 20); do
        ssh-keyscan -T 5 -p "$ssh_port" 127.0.0.1 >"${dir}/known_hosts" 2>/dev/null && [[ -s "${dir}/known_hosts" ]] && break
        sleep 0.5
    done
    export DEPLOY_HOST=127.0.0.1 DEPLOY_USER=root DEPLOY_PATH="$server"
    export SSH_OPTS="-p ${ssh_port} -i ${dir}/deploy_key -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${dir}/known_hosts -o ConnectTimeout=20"
    # SSH_OPTS is a word list on purpose.
    # shellcheck disable=SC2086
    ssh $SSH_OPTS root@127.0.0.1 true
}

make_server() {
    mkdir -p "$server"
    nginx_port=$(free_port)
    secret() { "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(36).replace("-", "x").replace("_", "y"))'; }
    cp "${repo}/.env.example" "${server}/.env"
    {
        echo "COMPOSE_PROJECT_NAME=${project}"
        echo "ENVIRONMENT=production"
        echo "WORKERS=2"
        echo "DATA_PROVIDER=yfinance"
        echo "POSTGRES_PASSWORD=$(secret)"
        echo "REDIS_PASSWORD=$(secret)"
        echo "JWT_SECRET_KEY=$(secret)"
        echo "ADMIN_TOKEN=$(secret)"
        echo "NGINX_BIND=127.0.0.1"
        echo "NGINX_PORT=${nginx_port}"
        echo "FRONT_SUBNET=172.30.250.0/28"
        echo "HEALTH_TIMEOUT=180"
        echo "POSTGRES_IMAGE=${prefix}/postgres-standin:15"
        echo "REDIS_IMAGE=${prefix}/redis-standin:7"
        echo "NGINX_IMAGE=${prefix}/nginx-standin:1.22"
    } >>"${server}/.env"
    base_url="http://127.0.0.1:${nginx_port}"
}

# ---------------------------------------------------------------- checks ---------------------
remote() { "${script_dir}/remote_deploy.sh" "$@" >>"$drill_log" 2>&1; }
ref_of() { cat "${work}/$1.ref"; }
psql_q() { podman exec "${project}_postgres_1" psql -U alphavelocity -d alphavelocity -tAc "$1"; }
serving_image() { cat "${server}/.deploy/current_image" 2>/dev/null || true; }

# check_state NAME T0 EXPECTED_RELEASE EXPECTED_REVISION: the checks after a step; sets $checks
# (the details) and returns non-zero when one failed.
check_state() {
    local release="$2" revision="$3" t0="$1" ok=0 got down lost
    checks=""
    if remote smoke; then checks+="smoke passed"; else checks+="SMOKE FAILED"; ok=1; fi
    got=$(psql_q "SELECT version_num FROM alembic_version" 2>/dev/null || echo "?")
    [[ "$got" == "$revision" ]] || {
        checks+=", SCHEMA AT ${got} (expected ${revision})"
        ok=1
    }
    checks+=", schema ${got}"
    if [[ "$(serving_image)" != "$(ref_of "$release")" ]]; then
        checks+=", IMAGE IN SERVICE NOT ${release}"
        ok=1
    else
        checks+=", ${release} serving"
    fi
    if [[ -s "${work}/traffic/portfolio_id" ]]; then
        # what was acknowledged BEFORE the database is read must all be in it
        mkdir -p "${work}/snapshot"
        cp "${work}/traffic/acked.log" "${work}/snapshot/acked.log"
        psql_q "SELECT id FROM transactions WHERE portfolio_id = $(cat "${work}/traffic/portfolio_id")" >"${work}/ids" 2>/dev/null || : >"${work}/ids"
        read -r lost acked missing < <("$PYTHON" "${script_dir}/drill/traffic.py" lost "${work}/snapshot" "${work}/ids")
        checks+=", ${lost} of ${acked} committed rows lost"
        ((lost == 0)) || {
            ok=1
            note "acknowledged but missing: ${missing}"
        }
        read -r down longest probes failures < <("$PYTHON" "${script_dir}/drill/traffic.py" downtime "${work}/traffic" "$t0" "$(now)")
        checks+=", down ${down}s (longest ${longest}s; ${failures} of ${probes} probes failed)"
        awk -v t0="$t0" '$1 >= t0 && $2 != 200 { print "probe failed at " $1 ": status " $2 }' \
            "${work}/traffic/probes.log" >>"$drill_log"
    fi
    return "$ok"
}

# run_step NAME FUNCTION ARGS...: one line for the step, from what FUNCTION prints (it runs in
# this shell, not a subshell: the ports and process ids it sets are needed later).
run_step() {
    local name="$1" t0 code=0
    shift
    t0=$(now)
    note "== ${name}"
    "$@" >"${work}/step.out" 2>>"$drill_log" || code=$?
    if ((code == 0)); then
        step PASS "$name" "$(tr '\n' ' ' <"${work}/step.out" | sed 's/ *$//') [$(seconds_since "$t0")s]"
    else
        step FAIL "$name" "$(tr '\n' ' ' <"${work}/step.out" | sed 's/ *$//') (see ${drill_log}) [$(seconds_since "$t0")s]"
    fi
    return "$code"
}

deploy_ok() { # deploy_ok RELEASE REVISION BUDGET_LABEL
    local t0 took
    t0=$(now)
    remote deploy "$(ref_of "$1")" || {
        echo "the deploy of $1 failed"
        return 1
    }
    took=$(seconds_since "$t0")
    check_state "$t0" "$1" "$2" || {
        echo "deploy ${took}s; ${checks}"
        return 1
    }
    echo "deploy ${took}s ($3); ${checks}"
}

deploy_fails_then_rollback() { # RELEASE_BAD RELEASE_BACK REVISION_AFTER WHAT
    local t0 took t1 rolled
    t0=$(now)
    if remote deploy "$(ref_of "$1")"; then
        echo "the deploy of $1 succeeded: it should have failed"
        return 1
    fi
    took=$(seconds_since "$t0")
    t1=$(now)
    remote rollback || {
        echo "deploy failed after ${took}s as expected; the rollback FAILED"
        return 1
    }
    rolled=$(seconds_since "$t1")
    check_state "$t0" "$2" "$3" || {
        echo "deploy failed after ${took}s as expected; rollback ${rolled}s; ${checks}"
        return 1
    }
    echo "deploy failed after ${took}s as expected ($4); rollback ${rolled}s (budget 3 min); ${checks}"
}

restart_on_ahead_schema() {
    local t0 took
    t0=$(now)
    quiet podman restart -t 30 "${project}_app_1"
    quiet "${script_dir}/wait_for_http.sh" "${base_url}/health/ready" 120 || {
        echo "B did not come back on the schema C migrated"
        return 1
    }
    took=$(seconds_since "$t0")
    grep -q "ahead of this release's head" < <(podman logs "${project}_app_1" 2>&1) || {
        echo "B is up but did not log that it runs on a schema ahead of it"
        return 1
    }
    check_state "$t0" B 9002_drill_c || {
        echo "ready ${took}s after the restart; ${checks}"
        return 1
    }
    echo "ready ${took}s after a plain restart (not a deploy: the container is down meanwhile); ${checks}"
}

start_traffic() {
    mkdir -p "${work}/traffic"
    "$PYTHON" "${script_dir}/drill/traffic.py" run "$base_url" "${work}/traffic" >>"$drill_log" 2>&1 &
    traffic_pid=$!
    for _ in $(seq 1 60); do
        [[ -s "${work}/traffic/acked.log" ]] && return 0
        sleep 1
    done
    echo "the drill's user could not commit a transaction through nginx"
    return 1
}

# ---------------------------------------------------------------- the drill ------------------
prepare() {
    start_registry || return 1
    start_sshd || return 1
    make_server || return 1
    echo "registry 127.0.0.1:${registry_port}, sshd 127.0.0.1:${ssh_port}, nginx to publish 127.0.0.1:${nginx_port}; podman $(podman version -f '{{.Client.Version}}'), podman-compose $(podman-compose version 2>/dev/null | grep -m1 -i 'podman-compose' | grep -oE '[0-9]+\.[0-9]+\.[0-9]+')"
}

deploy_a() {
    deploy_ok A "$(cat "${work}/head")" "budget: staging 5 min, production 10 min" || return 1
    start_traffic
}

finish() {
    echo "deploy drill: ${passed} passed, ${failed} failed"
    ((failed == 0)) || exit 1
    exit 0
}

run_step "registry and sshd on loopback" prepare || finish
run_step "base image and stand-ins" build_base_and_standins || finish
run_step "releases built with Podman" build_releases || finish
run_step "deploy A (first deployment, empty database)" deploy_a || finish
run_step "deploy B (migration 9001, backward compatible)" \
    deploy_ok B 9001_drill_b "budget: staging 5 min, production 10 min" || finish
run_step "deploy C (migration 9002, never ready), then rollback" \
    deploy_fails_then_rollback C B 9002_drill_c "B kept serving, the database kept" || true
run_step "B restarted on the schema C migrated" restart_on_ahead_schema || true
run_step "deploy D (migration 9003 not backward compatible, crashes), then rollback" \
    deploy_fails_then_rollback D B 9002_drill_c "service stopped for it; rollback restores its backup" || true
finish

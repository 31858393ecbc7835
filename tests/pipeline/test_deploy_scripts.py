"""deploy.sh, rollback.sh and remote_deploy.sh against a stand-in engine and compose command
(tests/pipeline/fake_stack.py) and a stand-in ssh. `make deploy-drill` runs the same scripts
against real Podman, podman-compose, a registry and sshd; these tests go through their branches
in seconds: the order of the steps, what is refused before anything changes, the online swap,
the stopped deploy of a migration that is not backward compatible, and both rollbacks.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.pipeline.conftest import REPO, SCRIPTS, FakeHTTP, require_tool, run

pytestmark = pytest.mark.unit

FAKE_SSH = r"""#!/usr/bin/env bash
# ssh stand-in: drop the options, record the destination, run the command here.
while [[ "$1" == -* ]]; do
    case "$1" in -o|-i|-p|-F) shift 2 ;; *) shift ;; esac
done
echo "$1" >> "$(dirname "$0")/ssh.log"
shift
exec bash -c "$*"
"""

COMPATIBLE = {"revision": "0002", "head": "0003", "backward_compatible": True}
INCOMPATIBLE = {"revision": "0002", "head": "0003", "backward_compatible": False}


def executable(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


class Host:
    """One server: its deployment folder and the stand-in engine's state."""

    def __init__(self, tmp_path: Path, http: FakeHTTP, engine: str) -> None:
        self.tools = tmp_path / "tools"
        self.tools.mkdir()
        fake = self.tools / "fake_stack.py"
        shutil.copy(Path(__file__).with_name("fake_stack.py"), fake)
        fake.chmod(0o755)
        for name in ("podman", "podman-compose", "docker", "docker-compose"):
            (self.tools / name).symlink_to(fake)
        self.dir = tmp_path / "srv"
        self.dir.mkdir()
        (self.dir / ".env").write_text(
            "COMPOSE_PROJECT_NAME=av\nPOSTGRES_USER=av\nPOSTGRES_DB=avdb\n"
            "POSTGRES_PASSWORD=pw\nAPP_IMAGE=alphavelocity:local\n"
        )
        self.http = http
        http.routes[("GET", "/health/ready")] = (200, {"status": "ready"})
        self.env = {
            "PATH": f"{self.tools}:/usr/bin:/bin",
            "COMPOSE": str(self.tools / engine),
            "DEPLOY_DIR": str(self.dir),
            "HEALTH_URL": f"{http.url}/health/ready",
            "HEALTH_TIMEOUT": "4",
            "STOP_GRACE": "0",
            "RELOAD_SETTLE": "0",
        }

    def images(self, table: dict[str, dict[str, object]]) -> None:
        (self.tools / "images.json").write_text(json.dumps(table))

    def set(self, name: str, value: str) -> None:
        (self.tools / name).write_text(value)

    def script(self, name: str, *args: str, **env: str) -> tuple[int, str]:
        done = run([str(SCRIPTS / name), *args], env={**self.env, **env}, timeout=120)
        return done.returncode, done.stdout + done.stderr

    def deploy(self, image: str, **env: str) -> tuple[int, str]:
        return self.script("deploy.sh", image, **env)

    def rollback(self, *args: str) -> tuple[int, str]:
        return self.script("rollback.sh", *args)

    def calls(self) -> list[str]:
        log = self.tools / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def forget_calls(self) -> None:
        (self.tools / "calls.log").unlink(missing_ok=True)

    def state(self) -> dict[str, object]:
        return json.loads((self.tools / "state.json").read_text())

    def containers(self) -> dict[str, dict[str, object]]:
        return self.state()["containers"]  # type: ignore[return-value]

    def env_value(self, key: str) -> str:
        lines = (self.dir / ".env").read_text().splitlines()
        return [line for line in lines if line.startswith(f"{key}=")][-1].split("=", 1)[1]

    def record(self, name: str) -> str:
        return (self.dir / ".deploy" / name).read_text().strip()

    def has_record(self, name: str) -> bool:
        return (self.dir / ".deploy" / name).exists()


@pytest.fixture(params=["podman-compose", "docker-compose"])
def host(request: pytest.FixtureRequest, tmp_path: Path, fake_http: FakeHTTP) -> Host:
    require_tool("curl")
    require_tool("jq")
    require_tool("flock")
    return Host(tmp_path, fake_http, request.param)


@pytest.fixture
def podman_host(tmp_path: Path, fake_http: FakeHTTP) -> Host:
    require_tool("curl")
    require_tool("jq")
    require_tool("flock")
    return Host(tmp_path, fake_http, "podman-compose")


def index(calls: list[str], fragment: str) -> int:
    return next(i for i, call in enumerate(calls) if fragment in call)


def test_first_deploy(host: Host) -> None:
    code, out = host.deploy("acme/av:v1")
    assert code == 0, out
    assert "first deployment: no database to back up yet" in out
    calls = host.calls()
    order = [
        "engine pull acme/av:v1",
        "compose up -d --no-build postgres redis",
        "compose run -d --no-deps",  # the tool container of the new image
        "python simple_db_migration.py --plan",
        "migrated with acme/av:v1",
        "compose up -d --no-build --no-deps app",
        "compose up -d --no-build nginx",
    ]
    positions = [index(calls, step) for step in order]
    assert positions == sorted(positions), calls
    boxes = host.containers()
    assert boxes["av_app_1"]["image"] == "acme/av:v1" and boxes["av_app_1"]["running"]
    assert "av_nginx_1" in boxes and "av_app_tool" not in boxes
    assert host.env_value("APP_IMAGE") == "acme/av:v1"
    assert host.record("current_image") == "acme/av:v1"
    # .env.example's placeholder was never in service: it is not what a rollback goes back to
    assert not host.has_record("previous_image")
    assert not host.has_record("last_backup")
    assert "deployed (replaced: nothing" in host.record("history.log")
    assert "POSTGRES_DB=avdb" in (host.dir / ".env").read_text()


def test_online_deploy_swaps_behind_nginx_with_the_old_release_serving(host: Host) -> None:
    assert host.deploy("acme/av:v1")[0] == 0
    old_id = host.containers()["av_app_1"]["id"]
    host.images({"acme/av:v2": {"plan": {**COMPATIBLE, "pending": [{"revision": "0003"}]}}})
    host.forget_calls()
    code, out = host.deploy("acme/av:v2")
    assert code == 0, out
    calls = host.calls()
    backup = index(calls, "exec -i c")  # pg_dump in the postgres container
    assert "pg_dump --dbname=postgresql://av@/avdb" in calls[backup]
    migrate = index(calls, "migrated with acme/av:v2")
    candidate = index(calls, "--name av_app_next app")
    first_reload = index(calls, "nginx reloaded")
    old_removed = index(calls, f"engine rm -f {old_id}")
    new_app = index(calls, "compose up -d --no-build --no-deps app")
    assert backup < migrate < candidate < first_reload < old_removed < new_app
    # nginx cannot find the candidate (nor later the new container) before it is healthy
    hidden = index(calls, "engine network disconnect av_front av_app_next")
    shown = index(calls, "engine network connect --alias app av_front av_app_next")
    assert candidate < hidden < shown < first_reload
    # nginx is told at once that the old container is gone (before the new one starts)
    assert "nginx reloaded" in "".join(calls[old_removed:new_app])
    # the old container is stopped only once the candidate answers, and nginx reloads after each
    # change of who serves: candidate added, old gone, new added, candidate gone
    assert sum("nginx reloaded" in c for c in calls) == 4
    boxes = host.containers()
    assert set(boxes) == {"av_postgres_1", "av_redis_1", "av_app_1", "av_nginx_1"}
    assert boxes["av_app_1"]["image"] == "acme/av:v2" and boxes["av_app_1"]["visible"]
    assert host.record("previous_image") == "acme/av:v1"
    assert host.record("current_image") == "acme/av:v2"
    assert host.record("last_migration") == "compatible 0002"
    assert Path(host.record("last_backup")).parent == host.dir / "backups"
    if "docker" in host.env["COMPOSE"]:
        assert "--use-aliases" in calls[candidate]  # docker compose: the candidate is `app` too


def test_a_database_that_cannot_be_backed_up_stops_the_deploy_first(podman_host: Host) -> None:
    host = podman_host
    assert host.deploy("acme/av:v1")[0] == 0
    state = host.state()
    state["containers"]["av_postgres_1"]["running"] = False  # type: ignore[index]
    (host.tools / "state.json").write_text(json.dumps(state))
    host.forget_calls()
    code, out = host.deploy("acme/av:v2")
    assert code != 0
    assert "av_postgres-data exists but postgres is not running" in out
    assert "nothing changed" in out
    assert not any("pull" in c or "compose" in c for c in host.calls())
    assert host.env_value("APP_IMAGE") == "acme/av:v1"


def test_a_failed_backup_changes_nothing_and_leaves_no_old_backup_behind(podman_host: Host) -> None:
    host = podman_host
    assert host.deploy("acme/av:v1")[0] == 0
    assert host.deploy("acme/av:v2")[0] == 0
    assert host.has_record("last_backup")
    host.set("dump_rc", "1")
    host.forget_calls()
    code, out = host.deploy("acme/av:v3")
    assert code != 0
    assert "the database backup failed: nothing deployed" in out
    assert not any("migrated" in c for c in host.calls())
    assert host.containers()["av_app_1"]["image"] == "acme/av:v2"
    assert host.env_value("APP_IMAGE") == "acme/av:v2"
    # the backup of the deploy before is gone: --restore-db cannot restore an older one
    assert not host.has_record("last_backup")
    assert len(list((host.dir / "backups").glob("*.sql.gz"))) == 1


def test_a_failed_pull_changes_nothing(podman_host: Host) -> None:
    host = podman_host
    assert host.deploy("acme/av:v1")[0] == 0
    host.set("pull_fail", "acme/av:v9")
    code, out = host.deploy("acme/av:v9")
    assert code != 0
    assert "could not pull acme/av:v9: nothing changed" in out
    assert host.env_value("APP_IMAGE") == "acme/av:v1"
    assert host.containers()["av_app_1"]["image"] == "acme/av:v1"


def test_an_unhealthy_release_never_takes_over_and_rollback_keeps_the_database(
    podman_host: Host,
) -> None:
    host = podman_host
    assert host.deploy("acme/av:v1")[0] == 0
    plan = {**COMPATIBLE, "pending": [{"revision": "0003"}]}
    host.images({"acme/av:v2": {"healthy": False, "plan": plan}})
    code, out = host.deploy("acme/av:v2")
    assert code != 0
    assert "acme/av:v2 did not become healthy" in out
    boxes = host.containers()
    # the old release served throughout: never stopped, and the candidate is gone - it was never
    # on the front network, where nginx looks
    assert boxes["av_app_1"]["image"] == "acme/av:v1" and boxes["av_app_1"]["running"]
    assert "av_app_next" not in boxes
    calls = host.calls()
    assert not any("network connect" in c and "av_app_next" in c for c in calls)
    assert host.env_value("APP_IMAGE") == "acme/av:v1"
    assert "failed: health check" in host.record("history.log")

    host.forget_calls()
    code, out = host.rollback()
    assert code == 0, out
    assert "acme/av:v1 still serves (the failed release never took over)" in out
    assert not any("psql" in c for c in host.calls())  # compatible: the database is kept
    assert host.record("current_image") == "acme/av:v1"
    assert "rolled back from acme/av:v2" in host.record("history.log")
    # the record is consumed: a second rollback does not flip back
    code, out = host.rollback()
    assert code == 1 and "nothing to roll back to" in out


def test_rollback_after_a_release_took_over_swaps_back_without_stopping(podman_host: Host) -> None:
    host = podman_host
    assert host.deploy("acme/av:v1")[0] == 0
    assert host.deploy("acme/av:v2")[0] == 0  # then, say, its smoke tests failed
    host.forget_calls()
    code, out = host.rollback()
    assert code == 0, out
    calls = host.calls()
    assert index(calls, "--name av_app_next app") < index(calls, "nginx reloaded")
    assert host.containers()["av_app_1"]["image"] == "acme/av:v1"
    assert host.env_value("APP_IMAGE") == "acme/av:v1"
    assert not any("psql" in c for c in calls)


def test_an_incompatible_migration_stops_the_service_and_its_rollback_restores_the_backup(
    host: Host,
) -> None:
    assert host.deploy("acme/av:v1")[0] == 0
    plan = {**INCOMPATIBLE, "pending": [{"revision": "0003"}]}
    host.images({"acme/av:v2": {"healthy": False, "plan": plan}})
    old_id = host.containers()["av_app_1"]["id"]
    host.forget_calls()
    code, out = host.deploy("acme/av:v2")
    assert code != 0
    assert "the service stops for this deploy" in out
    calls = host.calls()
    # stopped before the backup, so the backup holds every committed write
    assert index(calls, f"engine stop -t 0 {old_id}") < index(calls, "pg_dump")
    assert index(calls, "pg_dump") < index(calls, "migrated with acme/av:v2")
    assert host.record("last_migration") == "incompatible 0002"

    code, out = host.rollback()
    assert code == 0, out
    assert "is restored from its backup" in out
    restored = (host.tools / "restored.sql").read_text()
    assert "DROP SCHEMA IF EXISTS public CASCADE;" in restored
    assert "CREATE TABLE marker (id integer);" in restored
    assert host.containers()["av_app_1"]["image"] == "acme/av:v1"
    assert "database restored from" in host.record("history.log")


def test_rollback_restores_the_database_when_asked(podman_host: Host) -> None:
    host = podman_host
    assert host.deploy("acme/av:v1")[0] == 0
    assert host.deploy("acme/av:v2")[0] == 0
    code, out = host.rollback("--restore-db")
    assert code == 0, out
    assert (host.tools / "restored.sql").exists()
    assert host.containers()["av_app_1"]["image"] == "acme/av:v1"


def test_a_failed_migration_fails_the_deploy_before_the_swap(podman_host: Host) -> None:
    host = podman_host
    assert host.deploy("acme/av:v1")[0] == 0
    host.set("migrate_rc", "1")
    code, out = host.deploy("acme/av:v2")
    assert code != 0
    assert "migration failed" in out
    assert "failed: migration" in host.record("history.log")
    assert host.containers()["av_app_1"]["image"] == "acme/av:v1"
    assert host.env_value("APP_IMAGE") == "acme/av:v1"
    assert "av_app_tool" not in host.containers()


def test_rollback_without_a_record_refuses(podman_host: Host) -> None:
    host = podman_host
    code, out = host.rollback()
    assert code == 1
    assert "nothing to roll back to" in out
    assert host.calls() == []


def test_db_password_is_accepted_for_postgres_password(podman_host: Host) -> None:
    host = podman_host
    env = (host.dir / ".env").read_text().replace("POSTGRES_PASSWORD=pw", "DB_PASSWORD=seedpw")
    (host.dir / ".env").write_text(env)
    assert host.deploy("acme/av:v1")[0] == 0
    assert all("POSTGRES_PASSWORD=seedpw" in c for c in host.calls() if c.startswith("compose"))
    (host.dir / ".env").write_text(env + "POSTGRES_PASSWORD=other\n")
    code, out = host.deploy("acme/av:v2")
    assert code != 0
    assert "DB_PASSWORD and POSTGRES_PASSWORD are both set and differ" in out


def test_one_deploy_at_a_time(podman_host: Host) -> None:
    host = podman_host
    state = host.dir / ".deploy"
    state.mkdir()
    with subprocess.Popen(["flock", str(state / "lock"), "sleep", "30"]) as holder:
        try:
            code, out = host.deploy("acme/av:v1", LOCK_TIMEOUT="1")
        finally:
            holder.kill()
    assert code != 0
    assert "another deploy or rollback still holds" in out
    assert host.calls() == []


def test_remote_deploy_copies_the_files_and_runs_deploy_on_the_server(
    podman_host: Host, tmp_path: Path
) -> None:
    host = podman_host
    ssh = executable(host.tools / "ssh", FAKE_SSH)
    remote_dir = tmp_path / "remote dir"  # a space, to prove the quoting
    remote_dir.mkdir()
    shutil.copy(host.dir / ".env", remote_dir / ".env")
    env = {
        **host.env,
        "SSH": ssh,
        "DEPLOY_HOST": "staging.example",
        "DEPLOY_USER": "deployer",
        "DEPLOY_PATH": str(remote_dir),
    }
    del env["DEPLOY_DIR"]  # on the server, deploy.sh finds its folder itself
    done = run([str(SCRIPTS / "remote_deploy.sh"), "deploy", "acme/av@sha256:abc"], env=env)
    assert done.returncode == 0, done.stderr
    for copied in ["docker-compose.yml", "nginx/nginx.conf", "nginx/resolver.sh"] + [
        "test_all_endpoints.sh"
    ]:
        assert (remote_dir / copied).read_bytes() == (REPO / copied).read_bytes()
    for script in ["deploy.sh", "rollback.sh", "_lib.sh", "_compose.sh", "smoke_test.sh"]:
        assert (remote_dir / "scripts" / script).exists(), script
    assert (remote_dir / "scripts" / "deploy.sh").stat().st_mode & stat.S_IEXEC
    assert "APP_IMAGE=acme/av@sha256:abc" in (remote_dir / ".env").read_text()
    ssh_log = (host.tools / "ssh.log").read_text().splitlines()
    assert ssh_log == ["deployer@staging.example", "deployer@staging.example"]

    missing = run([str(SCRIPTS / "remote_deploy.sh"), "deploy", "x"], env={"DEPLOY_HOST": ""})
    assert missing.returncode != 0
    assert "DEPLOY_HOST" in missing.stderr


def test_make_deploy_prod_asks_for_confirmation(podman_host: Host, tmp_path: Path) -> None:
    require_tool("make")
    host = podman_host
    ssh = executable(host.tools / "ssh", FAKE_SSH)
    remote_dir = tmp_path / "prod"
    remote_dir.mkdir()
    shutil.copy(host.dir / ".env", remote_dir / ".env")
    env = {
        **host.env,
        "PATH": f"{host.tools}:/usr/bin:/bin",
        "SSH": ssh,
        "PRODUCTION_HOST": "prod.example",
        "PRODUCTION_USER": "deployer",
        "DEPLOY_PATH": str(remote_dir),
        "IMAGE": "acme/av:v1.2.3",
    }
    del env["DEPLOY_DIR"]
    ssh_log = host.tools / "ssh.log"

    refused = run(["make", "--no-print-directory", "deploy-prod"], env=env, input="no\n")
    assert refused.returncode != 0
    assert "aborted: nothing was deployed" in refused.stdout
    assert not ssh_log.exists()

    no_input = run(["make", "--no-print-directory", "deploy-prod"], env=env, input="")
    assert no_input.returncode != 0
    assert not ssh_log.exists()

    accepted = run(["make", "--no-print-directory", "deploy-prod"], env=env, input="yes\n")
    assert accepted.returncode == 0, accepted.stderr
    assert ssh_log.read_text().split() == ["deployer@prod.example"] * 2
    assert "APP_IMAGE=acme/av:v1.2.3" in (remote_dir / ".env").read_text()

    # make rollback: the environment's host, and --restore-db with RESTORE_DB=1
    ssh_log.unlink()
    rolled = run(["make", "--no-print-directory", "rollback", "ENV=production"], env=env)
    assert rolled.returncode != 0  # nothing to roll back to after a first deploy
    assert "nothing to roll back to" in rolled.stderr
    assert ssh_log.read_text().split() == ["deployer@prod.example"]
    no_env = run(["make", "--no-print-directory", "rollback"], env=env)
    assert no_env.returncode == 2 and "ENV=staging or ENV=production" in no_env.stdout

    no_image = run(["make", "--no-print-directory", "deploy-staging"], env={**env, "IMAGE": ""})
    assert no_image.returncode == 2
    assert "IMAGE is required" in no_image.stdout

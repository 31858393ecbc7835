"""deploy.sh, rollback.sh and remote_deploy.sh with stand-ins for docker compose and ssh.

The stand-in compose records each call with the image it would run (APP_IMAGE from the
environment, else from .env - as compose resolves it), answers pg_dump with a small dump and
stores what psql is fed. The stand-in ssh runs the remote command locally in a folder that plays
the server, so the real scripts are copied there and run there.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.pipeline.conftest import REPO, SCRIPTS, FakeHTTP, require_tool, run

pytestmark = pytest.mark.unit

FAKE_COMPOSE = r"""#!/usr/bin/env bash
exec 2>/dev/null
dir="$(dirname "$0")"
image="${APP_IMAGE:-$(grep -E '^APP_IMAGE=' .env 2>/dev/null | tail -n 1 | cut -d= -f2-)}"
echo "${image}|$*" >> "$dir/compose.log"
case "$*" in
    "ps -q postgres") [[ -f "$dir/pg_running" ]] && echo 3f2a1b ;;
    "exec -T postgres pg_dump"*)
        echo "CREATE TABLE marker (id integer);"
        exit "$(cat "$dir/dump_rc" || echo 0)" ;;
    "exec -T postgres psql"*) cat > "$dir/restored.sql" ;;
    "exec -T app python simple_db_migration.py") exit "$(cat "$dir/migrate_rc" || echo 0)" ;;
    "pull app") exit "$(cat "$dir/pull_rc" || echo 0)" ;;
esac
exit 0
"""

FAKE_SSH = r"""#!/usr/bin/env bash
# ssh stand-in: drop the options, record the destination, run the command here.
while [[ "$1" == -* ]]; do
    case "$1" in -o|-i|-p|-F) shift 2 ;; *) shift ;; esac
done
echo "$1" >> "$(dirname "$0")/ssh.log"
shift
exec bash -c "$*"
"""


def executable(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


@pytest.fixture
def server(tmp_path: Path, fake_http: FakeHTTP) -> dict[str, object]:
    require_tool("curl")
    tools = tmp_path / "tools"
    tools.mkdir()
    deploy_dir = tmp_path / "srv"
    deploy_dir.mkdir()
    (deploy_dir / ".env").write_text("POSTGRES_USER=av\nPOSTGRES_DB=avdb\nAPP_PORT=8000\n")
    fake_http.routes[("GET", "/health/ready")] = (200, {"status": "ready"})
    env = {
        "COMPOSE": executable(tools / "compose", FAKE_COMPOSE),
        "DEPLOY_DIR": str(deploy_dir),
        "HEALTH_URL": f"{fake_http.url}/health/ready",
        "HEALTH_TIMEOUT": "2",
    }
    return {"env": env, "dir": deploy_dir, "tools": tools, "http": fake_http}


def compose_calls(server: dict[str, object]) -> list[str]:
    log = Path(str(server["tools"])) / "compose.log"
    return log.read_text().splitlines() if log.exists() else []


def env_image(server: dict[str, object]) -> str:
    lines = (Path(str(server["dir"])) / ".env").read_text().splitlines()
    return [line for line in lines if line.startswith("APP_IMAGE=")][-1].split("=", 1)[1]


def deploy(server: dict[str, object], image: str) -> tuple[int, str]:
    done = run([str(SCRIPTS / "deploy.sh"), image], env=server["env"])  # type: ignore[arg-type]
    return done.returncode, done.stdout + done.stderr


def rollback(server: dict[str, object], *args: str) -> tuple[int, str]:
    done = run([str(SCRIPTS / "rollback.sh"), *args], env=server["env"])  # type: ignore[arg-type]
    return done.returncode, done.stdout + done.stderr


def test_first_deploy_pulls_starts_migrates_and_checks_health(server: dict[str, object]) -> None:
    code, out = deploy(server, "acme/av:v1.0.0")
    assert code == 0, out
    assert "database backup skipped: the postgres service is not running yet" in out
    assert compose_calls(server) == [
        "|ps -q postgres",
        "acme/av:v1.0.0|pull app",
        "acme/av:v1.0.0|up -d postgres redis",
        "acme/av:v1.0.0|up -d app",
        "acme/av:v1.0.0|exec -T app python simple_db_migration.py",
    ]
    assert env_image(server) == "acme/av:v1.0.0"
    state = Path(str(server["dir"])) / ".deploy"
    assert not (state / "previous_image").exists()
    assert "deployed (replaced: nothing)" in (state / "history.log").read_text()
    # the rest of .env is kept
    assert "POSTGRES_DB=avdb" in (Path(str(server["dir"])) / ".env").read_text()


def test_deploy_backs_up_and_records_what_it_replaced(server: dict[str, object]) -> None:
    assert deploy(server, "acme/av:v1.0.0")[0] == 0
    (Path(str(server["tools"])) / "pg_running").touch()
    code, out = deploy(server, "acme/av:v1.1.0")
    assert code == 0, out
    state = Path(str(server["dir"])) / ".deploy"
    assert (state / "previous_image").read_text().strip() == "acme/av:v1.0.0"
    backup = Path((state / "last_backup").read_text().strip())
    assert backup.parent == Path(str(server["dir"])) / "backups"
    assert backup.name.startswith("alphavelocity-avdb-") and backup.suffixes == [".sql", ".gz"]
    calls = compose_calls(server)
    dump = [c for c in calls if "pg_dump" in c]
    assert dump and "--dbname=postgresql://av@/avdb" in dump[0]
    # the backup is taken before the new image is pulled
    assert calls.index(dump[0]) < calls.index("acme/av:v1.1.0|pull app")


def test_failed_backup_stops_the_deploy_before_anything_changes(server: dict[str, object]) -> None:
    assert deploy(server, "acme/av:v1.0.0")[0] == 0
    tools = Path(str(server["tools"]))
    (tools / "pg_running").touch()
    (tools / "dump_rc").write_text("1")
    code, _ = deploy(server, "acme/av:v1.1.0")
    assert code != 0
    assert env_image(server) == "acme/av:v1.0.0"
    assert not any("v1.1.0" in call for call in compose_calls(server))
    assert not list((Path(str(server["dir"])) / "backups").glob("*"))


def test_failed_health_check_then_rollback_with_database(server: dict[str, object]) -> None:
    assert deploy(server, "acme/av:v1.0.0")[0] == 0
    (Path(str(server["tools"])) / "pg_running").touch()
    http: FakeHTTP = server["http"]  # type: ignore[assignment]
    http.routes[("GET", "/health/ready")] = (503, {"status": "not ready"})
    code, out = deploy(server, "acme/av:v2.0.0")
    assert code != 0
    assert "did not become healthy" in out
    state = Path(str(server["dir"])) / ".deploy"
    assert "failed: health check" in (state / "history.log").read_text()
    assert (state / "previous_image").read_text().strip() == "acme/av:v1.0.0"

    http.routes[("GET", "/health/ready")] = (200, {"status": "ready"})
    code, out = rollback(server, "--restore-db")
    assert code == 0, out
    assert env_image(server) == "acme/av:v1.0.0"
    calls = compose_calls(server)
    assert calls[-3].endswith("|stop app")
    assert "exec -T postgres psql" in calls[-2]
    assert calls[-1] == "acme/av:v1.0.0|up -d app"
    restored = (Path(str(server["tools"])) / "restored.sql").read_text()
    assert "DROP SCHEMA IF EXISTS public CASCADE;" in restored
    assert "CREATE TABLE marker (id integer);" in restored
    history = (state / "history.log").read_text()
    assert "rolled back from acme/av:v2.0.0, database restored from" in history

    # the record is consumed: a second rollback does not flip back
    code, out = rollback(server)
    assert code == 1
    assert "nothing to roll back to" in out


def test_failed_pull_leaves_the_running_image_configured(server: dict[str, object]) -> None:
    assert deploy(server, "acme/av:v1.0.0")[0] == 0
    assert deploy(server, "acme/av:v1.1.0")[0] == 0
    (Path(str(server["tools"])) / "pull_rc").write_text("1")
    code, _ = deploy(server, "acme/av:v9.9.9")
    assert code != 0
    assert env_image(server) == "acme/av:v1.1.0"
    assert not any(c.endswith("up -d app") and "v9.9.9" in c for c in compose_calls(server))
    # a rollback now keeps the image in service, not the older v1.0.0
    code, out = rollback(server)
    assert code == 0, out
    assert env_image(server) == "acme/av:v1.1.0"


def test_failed_migration_fails_the_deploy(server: dict[str, object]) -> None:
    (Path(str(server["tools"])) / "migrate_rc").write_text("1")
    code, out = deploy(server, "acme/av:v1.0.0")
    assert code != 0
    assert "migration failed" in out
    history = (Path(str(server["dir"])) / ".deploy" / "history.log").read_text()
    assert "failed: migration" in history


def test_rollback_without_a_record_refuses(server: dict[str, object]) -> None:
    code, out = rollback(server)
    assert code == 1
    assert "nothing to roll back to" in out
    assert compose_calls(server) == []


def test_remote_deploy_copies_the_files_and_runs_deploy_on_the_server(
    server: dict[str, object], tmp_path: Path
) -> None:
    ssh = executable(Path(str(server["tools"])) / "ssh", FAKE_SSH)
    remote_dir = tmp_path / "remote dir"  # a space, to prove the quoting
    remote_dir.mkdir()
    (remote_dir / ".env").write_text("POSTGRES_DB=avdb\n")
    env = {
        **server["env"],  # type: ignore[dict-item]
        "SSH": ssh,
        "DEPLOY_HOST": "staging.example",
        "DEPLOY_USER": "deployer",
        "DEPLOY_PATH": str(remote_dir),
    }
    del env["DEPLOY_DIR"]  # on the server, deploy.sh finds its folder itself
    done = run([str(SCRIPTS / "remote_deploy.sh"), "deploy", "acme/av@sha256:abc"], env=env)
    assert done.returncode == 0, done.stderr
    for copied in ["docker-compose.yml", "nginx/nginx.conf", "test_all_endpoints.sh"]:
        assert (remote_dir / copied).read_bytes() == (REPO / copied).read_bytes()
    assert (remote_dir / "scripts" / "deploy.sh").stat().st_mode & stat.S_IEXEC
    assert "APP_IMAGE=acme/av@sha256:abc" in (remote_dir / ".env").read_text()
    ssh_log = (Path(str(server["tools"])) / "ssh.log").read_text().splitlines()
    assert ssh_log == ["deployer@staging.example", "deployer@staging.example"]

    missing = run([str(SCRIPTS / "remote_deploy.sh"), "deploy", "x"], env={"DEPLOY_HOST": ""})
    assert missing.returncode != 0
    assert "DEPLOY_HOST" in missing.stderr


def test_make_deploy_prod_asks_for_confirmation(server: dict[str, object], tmp_path: Path) -> None:
    require_tool("make")
    ssh = executable(Path(str(server["tools"])) / "ssh", FAKE_SSH)
    remote_dir = tmp_path / "prod"
    remote_dir.mkdir()
    env = {
        **server["env"],  # type: ignore[dict-item]
        "SSH": ssh,
        "PRODUCTION_HOST": "prod.example",
        "PRODUCTION_USER": "deployer",
        "DEPLOY_PATH": str(remote_dir),
        "IMAGE": "acme/av:v1.2.3",
    }
    del env["DEPLOY_DIR"]
    ssh_log = Path(str(server["tools"])) / "ssh.log"

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

    no_image = run(["make", "--no-print-directory", "deploy-staging"], env={**env, "IMAGE": ""})
    assert no_image.returncode == 2
    assert "IMAGE is required" in no_image.stdout

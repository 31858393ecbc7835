"""N uvicorn replicas of the service on one PostgreSQL database and one Redis, behind an nginx
whose configuration is the repository's nginx/nginx.conf with its upstream templated.

Used by scripts/replicas.py (`make replicas`, `make replicas-drill`) and by the replica tests
(tests/support/server.py). Plain processes: no container engine, no coordinator of our own -
PostgreSQL holds the data, Redis the shared cache, rate limits and refresh lock, nginx balances.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
NGINX_CONF = REPO / "nginx" / "nginx.conf"
UPSTREAM = "alphavelocity_replicas"

# The lines of nginx/nginx.conf the template replaces; each must occur exactly once, so a
# change there that the template does not know fails loudly instead of being half-applied.
RESOLVER_INCLUDE = "include /etc/nginx/conf.d/resolver.conf;"
UPSTREAM_SET = "set $app_upstream app:8000;"
LISTEN = "listen 80;"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _replace_once(conf: str, old: str, new: str) -> str:
    if conf.count(old) != 1:
        raise ValueError(f"nginx.conf: expected {old!r} exactly once, found {conf.count(old)}")
    return conf.replace(old, new)


def render_nginx_conf(template: str, upstreams: list[str], listen: str) -> str:
    """nginx.conf with a fixed `upstream` block (`host:port` of each replica) in place of the
    container DNS resolver, and listening on `listen` (`host:port`). Everything else - the
    proxy headers, the time-outs, which failures go to the next replica - is the file's own."""
    if not upstreams:
        raise ValueError("at least one upstream is needed")
    # fail_timeout: a replica that refused a connection is left out this long, then tried
    # again (a restarted replica rejoins within it).
    servers = "".join(f"        server {u} max_fails=1 fail_timeout=2s;\n" for u in upstreams)
    block = f"upstream {UPSTREAM} {{\n{servers}    }}"
    conf = _replace_once(template, RESOLVER_INCLUDE, block)
    conf = _replace_once(conf, UPSTREAM_SET, f"set $app_upstream {UPSTREAM};")
    return _replace_once(conf, LISTEN, f"listen {listen};")


# ---------------------------------------------------------------- HTTP ------------------------


def http_status(url: str, timeout: float = 3.0) -> int | None:
    """The status `url` answers, None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


# ---------------------------------------------------------------- processes -------------------


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20) -> None:
    """SIGTERM (a graceful stop), then SIGKILL if it has not ended within `grace`."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@dataclass
class Replica:
    """One `uvicorn backend.main:create_app --factory` process on a loopback port."""

    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Replica":
        args = [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            # as the Dockerfile: the app reads X-Forwarded-For itself, from TRUSTED_PROXIES only
            "--no-proxy-headers",
        ]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - the project's own server
                args, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def wait_ready(self, seconds: float = 180) -> None:
        """Until /health/ready answers 200 (the database at head, Redis, the scores)."""
        deadline = time.monotonic() + seconds
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"replica on port {self.port} exited with {self.proc.returncode}:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            if http_status(f"{self.url}/health/ready") == 200:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"replica on port {self.port} not ready within {seconds:g}s")
            time.sleep(0.3)

    def kill(self) -> None:
        """SIGKILL: the replica dies with its requests in flight."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@dataclass
class Nginx:
    """nginx (not daemonised) with the rendered configuration, in its own prefix directory."""

    conf: str
    port: int
    run_dir: Path
    binary: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _args(self) -> list[str]:
        conf = self.run_dir / "nginx.conf"
        return [self.binary, "-p", str(self.run_dir), "-c", str(conf), "-e", "stderr"]

    def start(self) -> "Nginx":
        (self.run_dir / "nginx.conf").write_text(self.conf)
        (self.run_dir / "logs").mkdir(exist_ok=True)
        pid = f"pid {self.run_dir / 'nginx.pid'};"
        checked = subprocess.run(  # noqa: S603 - nginx -t
            [*self._args(), "-t", "-q", "-g", pid], capture_output=True, text=True
        )
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t refused the generated configuration:\n{checked.stderr}")
        with (self.run_dir / "nginx.log").open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                [*self._args(), "-g", f"daemon off; {pid}"], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 20
        while http_status(f"{self.url}/nginx-health") != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("nginx did not start: see " + str(self.run_dir / "nginx.log"))
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace=10)


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


# ---------------------------------------------------------------- database and Redis ---------


def create_database(server_url: str, name: str) -> str:
    """CREATE DATABASE `name` on the server of `server_url`; the new database's URL."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """DROP DATABASE `name` (its sessions ended first)."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


def migrate_and_seed(url: str) -> int:
    """The project's own migrations, then the shipped sample; the number of bars loaded."""
    # imported here: `down` and the nginx template need none of the service's modules
    from backend.db.engine import make_engine
    from backend.db.migrate import upgrade_to_head
    from backend.market_data.ingest import load_sample
    from backend.market_data.store import PriceStore

    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        return int(load_sample(PriceStore(engine)).rows)
    finally:
        engine.dispose()


def delete_redis_keys(url: str, prefixes: list[str]) -> int:
    """Delete the keys starting with any of `prefixes` (this stack's only); how many."""
    client: Any = redis.Redis.from_url(url)
    deleted = 0
    try:
        for prefix in prefixes:
            batch = list(client.scan_iter(match=f"{prefix}*", count=500))
            for start in range(0, len(batch), 500):
                deleted += int(client.delete(*batch[start : start + 500]))
    finally:
        client.close()
    return deleted


# ---------------------------------------------------------------- the stack -------------------


@dataclass
class StackSpec:
    """What a stack is made of; written to `run_dir/state.json` so `down` can undo it."""

    replicas: int
    server_url: str  # a PostgreSQL server URL whose database we may CREATE DATABASE from
    redis_url: str
    run_dir: str
    nginx_port: int = 0  # 0: a free port
    name: str = field(default_factory=lambda: f"av_replicas_{secrets.token_hex(4)}")
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    extra_env: dict[str, str] = field(default_factory=dict)
    # filled in as the stack comes up
    database_url: str = ""
    ports: list[int] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def key_prefixes(self) -> list[str]:
        return [self.name, f"{self.name}-ratelimit"]


class Stack:
    """Creates the database (migrated, seeded), starts the replicas and nginx; `close` stops
    them and drops what it created. A context manager."""

    def __init__(self, spec: StackSpec, say: Any = print) -> None:
        self.spec = spec
        self.say = say
        self.run_dir = Path(spec.run_dir)
        self.replicas: list[Replica] = []
        self.nginx: Nginx | None = None
        self._created_db = False

    # env of every replica: one database, one Redis, keys under this stack's own prefixes
    def replica_env(self) -> dict[str, str]:
        s = self.spec
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "DATABASE_URL": s.database_url,
            "REDIS_URL": s.redis_url,
            "CACHE_KEY_PREFIX": s.name,
            "RATE_LIMIT_KEY_PREFIX": f"{s.name}-ratelimit",
            "DATA_PROVIDER": "none",
            "ENVIRONMENT": "production",
            "JWT_SECRET_KEY": s.jwt_secret,
            "ADMIN_TOKEN": s.admin_token,
            "LOAD_SAMPLE_ON_EMPTY": "false",
            "SCHEDULER_ENABLED": "false",
            "WORKERS": "1",
            "LOG_LEVEL": "WARNING",
            # nginx on loopback is the proxy: its X-Forwarded-For names the client
            "TRUSTED_PROXIES": "127.0.0.1",
        }
        env.update(s.extra_env)
        return env

    def write_state(self) -> None:
        self.spec.pids = {f"replica-{r.port}": r.proc.pid for r in self.replicas if r.proc}
        if self.nginx and self.nginx.proc:
            self.spec.pids["nginx"] = self.nginx.proc.pid
        self.spec.pids["supervisor"] = os.getpid()
        (self.run_dir / "state.json").write_text(json.dumps(asdict(self.spec), indent=2))

    def start(self) -> "Stack":
        nginx_binary = find_nginx()
        if nginx_binary is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        s = self.spec
        try:
            self.say(f"database {s.name}: creating, migrating, loading the shipped sample")
            s.database_url = create_database(s.server_url, s.name)
            self._created_db = True
            self.write_state()
            bars = migrate_and_seed(s.database_url)
            self.say(f"database {s.name}: {bars} bars")
            env = self.replica_env()
            s.ports = [free_port() for _ in range(s.replicas)]
            for i, port in enumerate(s.ports):
                log = self.run_dir / f"replica-{i + 1}.log"
                self.replicas.append(Replica(port, env, log).start())
            self.write_state()
            for r in self.replicas:
                r.wait_ready()
            self.say(f"{len(self.replicas)} replicas ready on ports {s.ports}")
            port = s.nginx_port or free_port()
            conf = render_nginx_conf(
                NGINX_CONF.read_text(), [f"127.0.0.1:{p}" for p in s.ports], f"127.0.0.1:{port}"
            )
            self.nginx = Nginx(conf, port, self.run_dir, nginx_binary).start()
            self.write_state()
        except BaseException:
            self.close()
            raise
        return self

    def restart(self, index: int) -> Replica:
        """A new process for replica `index` (the old one must be dead), on the same port."""
        old = self.replicas[index]
        new = Replica(old.port, old.env, old.log).start()
        self.replicas[index] = new
        self.write_state()
        return new

    def close(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for r in self.replicas:
            r.stop()
        if self._created_db:
            drop_database(self.spec.server_url, self.spec.name)
            self._created_db = False
        try:
            delete_redis_keys(self.spec.redis_url, self.spec.key_prefixes)
        except redis.RedisError as exc:
            self.say(f"could not delete this stack's Redis keys: {exc}")
        state = self.run_dir / "state.json"
        state.unlink(missing_ok=True)

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def tear_down_from_state(run_dir: Path, say: Any = print) -> bool:
    """`make replicas-down`: stop a stack from its state file. Its supervisor (`make replicas`)
    is asked to stop (SIGTERM), which undoes everything; when it is gone, the processes it left
    are stopped and the database and keys dropped here. False when there is no stack."""
    state_file = run_dir / "state.json"
    if not state_file.exists():
        return False
    data = json.loads(state_file.read_text())
    supervisor = data["pids"].get("supervisor")
    if supervisor and _alive(supervisor) and supervisor != os.getpid():
        os.kill(supervisor, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while _alive(supervisor) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not state_file.exists():
            return True
    for name, pid in data["pids"].items():
        if name != "supervisor" and _alive(pid):
            say(f"stopping {name} (pid {pid})")
            os.kill(pid, signal.SIGTERM)
    if data.get("database_url"):
        drop_database(data["server_url"], data["name"])
    delete_redis_keys(data["redis_url"], [data["name"], f"{data['name']}-ratelimit"])
    state_file.unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

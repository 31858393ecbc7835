"""Fuzz the HTTP API against its own OpenAPI schema with schemathesis (`make fuzz`).

Starts the service on a free loopback port over a private copy of the shipped sample (no live
provider, rate limits off, cheap password hashing, an admin token), registers a user with a
portfolio and a few transactions, then runs `schemathesis run --checks all` with every phase
(examples, coverage, fuzzing, stateful) twice: once as that user, once as admin. Exits 0 only
when both runs find nothing.

A 422 to a request valid by the schema fails, unless it breaks a rule the route declares
beyond its schema (x-rules-beyond-schema: start <= end, not after today, the stored data, the
ledger's history, the password policy); see schemathesis.toml and tests/support/fuzz_hooks.py.

    python scripts/fuzz_api.py [--max-examples N] [--max-time SECONDS] [--seed N]
                               [--only user|admin] [--operation PATH_REGEX]
                               [-- more schemathesis run options]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess  # nosec B404 - runs uvicorn and schemathesis, fixed argument lists
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "fuzz-admin-token-Vq7dK2pX9mR4tW8z"  # pragma: allowlist secret
JWT_SECRET = "fuzz-jwt-secret-3f9a7c1e5b2d4086a9e7c3b1d5f2a8e6"  # pragma: allowlist secret
PASSWORD = "correct horse battery"  # pragma: allowlist secret


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def build_store(directory: Path) -> str:
    """A SQLite store with the sample, built by the service's own start-up."""
    return f"sqlite:///{directory / 'fuzz.db'}"


def start_server(db_url: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": db_url,
        "REDIS_URL": "",
        "DATA_PROVIDER": "none",
        "ENVIRONMENT": "test",
        "LOAD_SAMPLE_ON_EMPTY": "true",
        "RATE_LIMIT_ENABLED": "false",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "JWT_SECRET_KEY": JWT_SECRET,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "8",
        "ARGON2_PARALLELISM": "1",
        "LOG_LEVEL": "WARNING",
    }
    log = log_path.open("wb")
    return subprocess.Popen(  # nosec B603 - fixed argument list
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-proxy-headers",  # the app decides who the client is (TRUSTED_PROXIES)
        ],
        cwd=str(REPO),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_ready(base: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the service at {base} did not become ready in {seconds:.0f} s")


def seed_user(base: str) -> str:
    """A user with one portfolio holding a few transactions; returns its access token."""
    email = "fuzz@example.com"
    with httpx.Client(base_url=base, timeout=30) as c:
        c.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        tokens = c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        tokens.raise_for_status()
        access = str(tokens.json()["access_token"])
        headers = {"Authorization": f"Bearer {access}"}
        pid = c.post("/api/v1/portfolios", json={"name": "fuzz"}, headers=headers).json()["id"]
        for tx in (
            {"type": "DEPOSIT", "date": "2020-01-02", "quantity": 10000},
            {"type": "BUY", "date": "2020-01-03", "ticker": "AAPL", "quantity": 10, "price": 75},
        ):
            added = c.post(f"/api/v1/portfolios/{pid}/transactions", json=tx, headers=headers)
            added.raise_for_status()  # a seed that silently failed would leave the ledger empty
        return access


def run_schemathesis(base: str, token: str, who: str, args: argparse.Namespace) -> int:
    """One run of every check and phase; the rest of the configuration (the hooks, time-outs)
    is the repository's schemathesis.toml."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(REPO / "schemathesis.toml"),
        "run",
        f"{base}/openapi.json",
        "--checks",
        "all",
        # Replaced by positive_data_acceptance_beyond_schema and
        # ensure_resource_availability_of_the_path (schemathesis.toml says why).
        "--exclude-checks",
        "positive_data_acceptance,ensure_resource_availability",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(args.max_examples),
        "--header",
        f"Authorization: Bearer {token}",
    ]
    if args.max_time:
        command += ["--max-time", str(args.max_time)]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    if args.operation:
        command += ["--include-path-regex", args.operation]
    extra = args.schemathesis
    command += extra[1:] if extra[:1] == ["--"] else extra
    print(f"\n== schemathesis as {who}", flush=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.call(command, cwd=str(REPO), env=env)  # nosec B603 - fixed argument list


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--max-time", type=int, default=0, help="seconds per run (0: none)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--only", choices=["user", "admin"], default=None)
    parser.add_argument(
        "--operation",
        default=None,
        help="only the paths matching this regular expression (to iterate on a finding)",
    )
    parser.add_argument(
        "schemathesis",
        nargs=argparse.REMAINDER,
        help="after --: more options of `schemathesis run` (e.g. -- --report har)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="av-fuzz-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(build_store(work), port, work / "server.log")
    try:
        wait_ready(base)
        user_token = seed_user(base)
        codes = {}
        if args.only in (None, "user"):
            codes["user"] = run_schemathesis(base, user_token, "a user", args)
        if args.only in (None, "admin"):
            codes["admin"] = run_schemathesis(base, ADMIN_TOKEN, "admin", args)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    errors = [
        line for line in (work / "server.log").read_text().splitlines() if "Traceback" in line
    ]
    print(
        "\nfuzz: "
        + ", ".join(f"{who} {'passed' if code == 0 else 'FAILED'}" for who, code in codes.items())
        + f"; server tracebacks logged: {len(errors)} (log: {work / 'server.log'})"
    )
    if all(code == 0 for code in codes.values()) and not errors:
        shutil.rmtree(work, ignore_errors=True)
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())

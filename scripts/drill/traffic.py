#!/usr/bin/env python3
"""Users of the service during the deploy drill (scripts/deploy_drill.sh): standard library only.

traffic.py run BASE_URL DIR       until DIR/stop exists: a prober asks BASE_URL/health/ready every
                                  0.2 s (DIR/probes.log: time, status); a writer registers a user,
                                  makes a portfolio and adds one DEPOSIT every 0.5 s
                                  (DIR/acked.log: time, id of each transaction the service
                                  acknowledged; DIR/portfolio_id; failures in DIR/writes.log)
traffic.py downtime DIR T0 T1     between the times T0 and T1 (seconds since the epoch): how long
                                  the service did not answer 200 - in total and the longest run -
                                  and the probes seen, as "TOTAL LONGEST PROBES FAILED"
traffic.py lost DIR IDS_FILE      acknowledged ids missing from IDS_FILE (one id a line, what the
                                  database holds): prints "LOST ACKED" and the first missing ids
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

# the shared test password (tests.support.portfolio_app)
PASSWORD = "correct horse battery"  # pragma: allowlist secret
PROBE_EVERY = 0.2
WRITE_EVERY = 0.5


def call(
    base: str, method: str, path: str, body: object = None, token: str | None = None
) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - local drill
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return 0, None  # no answer


def probe(base: str, out: Path, stop: Path) -> None:
    with (out / "probes.log").open("a", buffering=1) as log:
        while not stop.exists():
            started = time.time()
            status, _ = call(base, "GET", "/health/ready")
            log.write(f"{started:.3f} {status}\n")
            time.sleep(max(0.0, PROBE_EVERY - (time.time() - started)))


def login(base: str, email: str) -> str | None:
    status, body = call(base, "POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})
    return body.get("access_token") if status == 200 and isinstance(body, dict) else None


def write(base: str, out: Path, stop: Path) -> None:
    email = f"drill-{uuid.uuid4().hex[:10]}@example.com"
    errors = (out / "writes.log").open("a", buffering=1)
    token = None
    portfolio = None
    while not stop.exists() and portfolio is None:  # set up, retried until the service answers
        call(base, "POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD})
        token = login(base, email)
        if token:
            status, body = call(base, "POST", "/api/v1/portfolios", {"name": "drill"}, token)
            if status == 201 and isinstance(body, dict):
                portfolio = body["id"]
                (out / "portfolio_id").write_text(f"{portfolio}\n")
                break
        errors.write(f"{time.time():.3f} set-up failed, retrying\n")
        time.sleep(2)
    with (out / "acked.log").open("a", buffering=1) as acked:
        while not stop.exists():
            started = time.time()
            today = time.strftime("%Y-%m-%d", time.gmtime())
            tx = {"date": today, "type": "DEPOSIT", "quantity": 1}
            status, body = call(
                base, "POST", f"/api/v1/portfolios/{portfolio}/transactions", tx, token
            )
            if status == 201 and isinstance(body, dict) and "id" in body:
                acked.write(f"{started:.3f} {body['id']}\n")
            else:
                errors.write(f"{started:.3f} status {status}\n")
                if status == 401:  # the access token expired: log in again
                    token = login(base, email) or token
            time.sleep(max(0.0, WRITE_EVERY - (time.time() - started)))
    errors.close()


def run(base: str, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    stop = out / "stop"
    threads = [
        threading.Thread(target=probe, args=(base, out, stop), daemon=True),
        threading.Thread(target=write, args=(base, out, stop), daemon=True),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 0


def downtime(out: Path, t0: float, t1: float) -> int:
    probes = []
    for line in (out / "probes.log").read_text().splitlines():
        at, status = line.split()
        probes.append((float(at), status == "200"))
    window = [p for p in probes if t0 <= p[0] <= t1]
    total = longest = run_length = 0.0
    failed = 0
    for (at, ok), (next_at, _) in zip(window, window[1:] + [(t1, True)]):
        if ok:
            run_length = 0.0
            continue
        failed += 1
        span = max(0.0, next_at - at)
        total += span
        run_length += span
        longest = max(longest, run_length)
    print(f"{total:.1f} {longest:.1f} {len(window)} {failed}")
    return 0


def lost(out: Path, ids_file: Path) -> int:
    acked_path = out / "acked.log"
    acked = (
        [line.split()[1] for line in acked_path.read_text().splitlines()]
        if acked_path.exists()
        else []
    )
    held = set(ids_file.read_text().split())
    missing = [i for i in acked if i not in held]
    print(f"{len(missing)} {len(acked)} {' '.join(missing[:10])}".rstrip())
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "run":
        return run(argv[1].rstrip("/"), Path(argv[2]))
    if len(argv) == 4 and argv[0] == "downtime":
        return downtime(Path(argv[1]), float(argv[2]), float(argv[3]))
    if len(argv) == 3 and argv[0] == "lost":
        return lost(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

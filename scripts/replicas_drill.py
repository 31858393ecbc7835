"""The replica drill: a bounded load through nginx while one replica is SIGKILLed and restarted.

Reads (scores, top, batch) and writes (a DEPOSIT of 1 per request, by one logged-in user to a
portfolio per client, each with its own note, which is also its `Idempotency-Key`) go through
nginx for `duration` seconds from `concurrency` clients. At `kill_at` of the way one replica is
killed with SIGKILL, started again a second later, and waited for. A write is sent as a
well-behaved client sends one: with its key, and, when it gets no answer or a 5xx, sent again
with the same key (at most WRITE_ATTEMPTS tries, backing off); it counts as failed only when
the last try fails. (nginx itself sends a keyed write on to the next replica when one dies.)
Afterwards every transaction of the portfolios is read back: each acknowledged write must be
there exactly once (none lost, none doubled), and a write that failed at most once.
"""

from __future__ import annotations

import asyncio
import math
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from scripts.replicas_stack import Stack

# kinds of request: the reads nginx may send to another replica, and the writes it may not
READS = ("score", "top", "batch")
WRITE = "write"
# how often each kind is drawn
MIX = {"score": 4, "top": 2, "batch": 2, WRITE: 2}
# A write that gets no answer or a 5xx is sent again with the same Idempotency-Key: this many
# tries in all, 0.2, 0.4, 0.8 s apart (doubling, at most 2 s), about 1.4 s of waiting in all.
WRITE_ATTEMPTS = 4
RETRY_STATUSES = frozenset({500, 502, 503, 504})


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q% of `values` at or below
    it, i.e. sorted(values)[ceil(q/100 * n) - 1]. NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Outcome:
    kind: str
    status: int | None  # None: no HTTP answer at all (connection error, time-out)
    seconds: float
    note: str | None = None
    attempts: int = 1
    replayed: bool = False  # answered `Idempotent-Replayed: true` (stored by an earlier try)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class WriteCheck:
    """Acknowledged writes found once (`kept`), not at all (`lost`), more than once (`doubled`);
    failed writes found once anyway (`failed_but_applied`) or more (`doubled`)."""

    kept: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    failed_but_applied: int = 0
    unknown_rows: int = 0  # rows whose note no request sent


def check_writes(outcomes: list[Outcome], stored_notes: list[str]) -> WriteCheck:
    """Compare the writes sent with the notes of the rows stored."""
    counts = Counter(stored_notes)
    check = WriteCheck()
    sent = set()
    for o in outcomes:
        if o.kind != WRITE or o.note is None:
            continue
        sent.add(o.note)
        n = counts.get(o.note, 0)
        if n > 1:
            check.doubled.append(o.note)
        elif o.ok and n == 1:
            check.kept += 1
        elif o.ok:
            check.lost.append(o.note)
        elif n == 1:
            check.failed_but_applied += 1
    check.unknown_rows = sum(c for note, c in counts.items() if note not in sent)
    return check


@dataclass
class DrillReport:
    outcomes: list[Outcome]
    writes: WriteCheck
    killed_at: float
    restarted_ready_after: float
    duration: float

    def of(self, kinds: tuple[str, ...]) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind in kinds]

    @property
    def failed_reads(self) -> int:
        return sum(1 for o in self.of(READS) if not o.ok)

    @property
    def failed_writes(self) -> int:
        return sum(1 for o in self.of((WRITE,)) if not o.ok)

    @property
    def retried_writes(self) -> int:
        """Writes the client had to send more than once."""
        return sum(1 for o in self.of((WRITE,)) if o.attempts > 1)

    @property
    def replayed_writes(self) -> int:
        """Writes answered from an earlier try's stored answer (by nginx's retry or ours)."""
        return sum(1 for o in self.of((WRITE,)) if o.replayed)

    @property
    def failed_write_ratio(self) -> float:
        writes = len(self.of((WRITE,)))
        return self.failed_writes / writes if writes else math.nan

    @property
    def targets_met(self) -> bool:
        return (
            self.failed_reads == 0
            and self.failed_write_ratio < 0.001
            and not self.writes.lost
            and not self.writes.doubled
        )


async def _session(
    client: httpx.AsyncClient, portfolios: int
) -> tuple[dict[str, str], list[int], list[str]]:
    """A new user, logged in, with `portfolios` portfolios; the stored tickers."""
    email = f"drill-{secrets.token_hex(4)}@example.com"
    # a throw-away user of a throw-away database
    creds = {"email": email, "password": secrets.token_urlsafe(16)}
    (await client.post("/api/v1/auth/register", json=creds)).raise_for_status()
    login = await client.post("/api/v1/auth/login", json=creds)
    login.raise_for_status()
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    ids = []
    for i in range(portfolios):
        made = await client.post("/api/v1/portfolios", json={"name": f"drill {i}"}, headers=auth)
        made.raise_for_status()
        ids.append(int(made.json()["id"]))
    securities = await client.get("/api/v1/securities")
    securities.raise_for_status()
    tickers = [s["ticker"] for s in securities.json()["securities"]]
    return auth, ids, tickers


def _should_retry(response: httpx.Response | None) -> bool:
    return response is not None and response.status_code in RETRY_STATUSES


async def send_write(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[int | None, int, bool]:
    """POST a keyed write, sending it again with the same key while it gets no answer or a
    5xx (at most WRITE_ATTEMPTS tries): the last status (None: no answer), the tries, and
    whether the answer was a replay."""
    tries = 0
    last: httpx.Response | None = None  # the last try's answer (None: it had none)
    retrying = AsyncRetrying(
        stop=stop_after_attempt(WRITE_ATTEMPTS),
        wait=wait_exponential(multiplier=0.2, max=2),
        retry=retry_if_exception_type(httpx.TransportError) | retry_if_result(_should_retry),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            tries += 1
            last = None
            with attempt:
                last = await client.post(url, json=body, headers=headers)
            # tenacity's way of retrying on a result: hand it the answer
            if attempt.retry_state.outcome is not None and not attempt.retry_state.outcome.failed:
                attempt.retry_state.set_result(last)
    except (httpx.TransportError, RetryError):
        pass  # the tries are spent: the last one's answer (or none) is the outcome
    if last is None:
        return None, tries, False
    return last.status_code, tries, last.headers.get("Idempotent-Replayed") == "true"


async def _stored_notes(client: httpx.AsyncClient, auth: dict[str, str], pid: int) -> list[str]:
    notes: list[str] = []
    offset = 0
    while True:
        page = await client.get(
            f"/api/v1/portfolios/{pid}/transactions",
            params={"limit": 1000, "offset": offset},
            headers=auth,
        )
        page.raise_for_status()
        items = page.json()["items"]
        notes += [t["note"] for t in items if t.get("note")]
        offset += len(items)
        if not items or offset >= page.json()["total"]:
            return notes


async def run_drill(
    stack: Stack,
    duration: float,
    concurrency: int,
    kill_at: float = 0.35,
    victim: int = 1,
    seed: int = 12,
    say: Any = print,
) -> DrillReport:
    assert stack.nginx is not None
    run = secrets.token_hex(3)
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=stack.nginx.url, timeout=60, limits=limits) as client:
        # a portfolio per client: writes to one portfolio wait for each other (its ledger is
        # checked as a whole), and one user's writes to several are what is measured here
        auth, portfolios, tickers = await _session(client, concurrency)
        outcomes: list[Outcome] = []
        sequence = [0]
        kinds = [k for k, w in MIX.items() for _ in range(w)]
        started = time.monotonic()
        stop_at = started + duration

        async def one(rng: random.Random, pid: int) -> None:
            kind = rng.choice(kinds)
            note = None
            attempts, replayed = 1, False
            t0 = time.perf_counter()
            try:
                if kind == "score":
                    r = await client.get(f"/api/v1/momentum/{rng.choice(tickers)}")
                elif kind == "top":
                    r = await client.get("/api/v1/momentum/top", params={"limit": 20})
                elif kind == "batch":
                    r = await client.post(
                        "/api/v1/momentum/batch", json={"tickers": rng.sample(tickers, 5)}
                    )
                else:
                    sequence[0] += 1
                    note = f"drill-{run}-{sequence[0]}"
                    body = {"date": "2020-01-02", "type": "DEPOSIT", "quantity": 1, "note": note}
                    status, attempts, replayed = await send_write(
                        client,
                        f"/api/v1/portfolios/{pid}/transactions",
                        body,
                        {**auth, "Idempotency-Key": note},
                    )
                if kind != WRITE:
                    status = r.status_code
            except httpx.TransportError:
                status = None
            outcomes.append(
                Outcome(kind, status, time.perf_counter() - t0, note, attempts, replayed)
            )

        async def worker(i: int) -> None:
            rng = random.Random(seed * 1000 + i)  # noqa: S311 - a load mix, not a secret
            while time.monotonic() < stop_at:
                await one(rng, portfolios[i])

        async def killer() -> tuple[float, float]:
            await asyncio.sleep(duration * kill_at)
            replica = stack.replicas[victim]
            killed = time.monotonic() - started
            await asyncio.to_thread(replica.kill)
            say(f"{killed:5.1f}s  SIGKILL replica {victim + 1} (port {replica.port})")
            await asyncio.sleep(1.0)
            fresh = stack.restart(victim)
            say(f"{time.monotonic() - started:5.1f}s  restarted replica {victim + 1}")
            await asyncio.to_thread(fresh.wait_ready)
            ready = time.monotonic() - started
            say(f"{ready:5.1f}s  replica {victim + 1} ready again")
            return killed, ready - killed

        kill_task = asyncio.create_task(killer())
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        killed_at, back_after = await kill_task
        elapsed = time.monotonic() - started
        stored = [n for pid in portfolios for n in await _stored_notes(client, auth, pid)]
        writes = check_writes(outcomes, stored)
    return DrillReport(outcomes, writes, killed_at, back_after, elapsed)

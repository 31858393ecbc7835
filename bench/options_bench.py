"""Speed of the implied volatility of a whole option chain, vectorised, beside a per-contract
scalar baseline run in the same process, on one core.

    python -m bench.options_bench [--repeats N] [--baseline-repeats K]      (make bench runs it)

Data: the real GOOG chain of 2015-12-23 from QuantConnect Lean (2,192 contracts, 12 expiries)
with its recorded bid and ask, from the shared data (`../shared/data/options`, or
$AV_SHARED_DATA/options); without it, the slice shipped for the tests
(`tests/fixtures/options`, strikes 700-800: fewer contracts, said in the output). Each
contract is valued at its mid quote (its last trade when it has no quote) on the expiry's
forward from put-call parity, as `analyse_chain` does; reading and that preparation are not
timed.

Figures (medians of repeats):
  (a) `implied_vol` on the whole chain in one call (target < 50 ms for 2,000 contracts);
  (b) the baseline: the same bounds checks, then `scipy.optimize.brentq` on each contract in
      a Python loop, with a scalar Black-Scholes price; checked to give the same numbers;
  (c) `analyse_chain` end to end (quotes, forwards, volatilities, deltas, ATM per expiry).
Prints figures only: nothing here fails on a slow machine.
"""

from __future__ import annotations

import os

# One core: pin the BLAS / OpenMP pools before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
from scipy.optimize import brentq  # noqa: E402
from scipy.special import ndtr  # noqa: E402

from backend.options.bsm import BOUND_TOLERANCE, MAX_VOL, MIN_VOL, implied_vol  # noqa: E402
from backend.options.chain import analyse_chain  # noqa: E402
from backend.options.lean import read_lean_chain, read_lean_quotes  # noqa: E402
from backend.options.quotes import session_close  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AV_SHARED_DATA", REPO.parent / "shared" / "data")) / "options"
FIXTURES = REPO / "tests" / "fixtures" / "options" / "lean"
DAY = dt.date(2015, 12, 23)
RATE = 0.0
TARGET_MS = 50.0


def load() -> tuple[pd.DataFrame, float, str]:
    """The day's contracts with bid, ask and last, the spot, and where they came from."""
    chain_path = SHARED / "lean_universes" / "goog" / "20151223.csv"
    quotes_path = SHARED / "lean_quotes" / "goog_2015_quote_american.zip"
    label = "shared data (whole chain)"
    if not (chain_path.exists() and quotes_path.exists()):
        chain_path = FIXTURES / "goog" / "20151223.csv"
        quotes_path = FIXTURES / "goog_2015_quote_american_700-800.zip"
        label = "shipped test slice (strikes 700-800; the shared data was not found)"
    chain = read_lean_chain(chain_path, "GOOG")
    quotes = read_lean_quotes(quotes_path, "GOOG")
    quotes = quotes[quotes["date"] == DAY][["expiry", "strike", "right", "bid", "ask"]]
    contracts = chain.contracts.rename(columns={"close": "last"})
    contracts = contracts.merge(quotes, on=["expiry", "strike", "right"], how="left")
    return contracts, chain.underlying.close, f"GOOG {DAY}, Lean, {label}"


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time in seconds over `repeats` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def scalar_price(forward: float, strike: float, t: float, sigma: float, call: bool) -> float:
    """Black-Scholes on the forward (q = r), one contract: e^{-rT}[F N(d1) - K N(d2)] (call)."""
    total = sigma * math.sqrt(t)
    d1 = math.log(forward / strike) / total + 0.5 * total
    d2 = d1 - total
    discount = math.exp(-RATE * t)
    if call:
        return float(discount * (forward * ndtr(d1) - strike * ndtr(d2)))
    return float(discount * (strike * ndtr(-d2) - forward * ndtr(-d1)))


def baseline(
    price: np.ndarray, forward: np.ndarray, strike: np.ndarray, t: np.ndarray, call: np.ndarray
) -> np.ndarray:
    """One contract at a time: the same checks, then brentq on [MIN_VOL, MAX_VOL]."""
    out = np.full(len(price), np.nan)
    for i in range(len(price)):
        p, f, k, tt, c = (
            float(price[i]),
            float(forward[i]),
            float(strike[i]),
            float(t[i]),
            bool(call[i]),
        )
        if not (math.isfinite(p) and math.isfinite(f) and p > 0 and tt > 0):
            continue
        discount = math.exp(-RATE * tt)
        lower = max(0.0, discount * ((f - k) if c else (k - f)))
        upper = discount * (f if c else k)
        slack = BOUND_TOLERANCE * discount * (f + k)
        if not lower + slack < p < upper - slack:
            continue

        def excess(sigma: float) -> float:
            return scalar_price(f, k, tt, sigma, c) - p  # noqa: B023 (used in this iteration)

        low, high = excess(MIN_VOL), excess(MAX_VOL)
        if low > 0 or high < 0:
            continue
        out[i] = brentq(excess, MIN_VOL, MAX_VOL, xtol=1e-12)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--baseline-repeats", type=int, default=3)
    args = parser.parse_args()

    contracts, spot, label = load()
    as_of = session_close(DAY)
    # The inputs exactly as analyse_chain hands them to the solver (not timed).
    view = analyse_chain(contracts, as_of, spot, RATE)
    frame = view.contracts
    price = frame["price"].to_numpy()
    forward = frame["forward"].to_numpy()
    strike = frame["strike"].to_numpy()
    t = frame["t"].to_numpy()
    call = (frame["right"] == "C").to_numpy()
    n = len(frame)

    print("AlphaVelocity options benchmark: implied volatility of a whole chain")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"pandas {pd.__version__}; one thread; load average before: {os.getloadavg()[0]:.2f}"
    )
    priced = int(np.isfinite(price).sum())
    print(
        f"data: {label}: {n:,} contracts, {frame['expiry'].nunique()} expiries, "
        f"{priced:,} with a price ({int((frame['price_source'] == 'mid').sum()):,} mid, "
        f"{int((frame['price_source'] == 'last').sum()):,} last)"
    )

    def vectorised() -> Any:
        return implied_vol(price, forward, strike, t, RATE, RATE, call)

    vectorised()  # warm-up (imports, first calls)
    seconds, found = timed(vectorised, args.repeats)
    base_seconds, base = timed(
        lambda: baseline(price, forward, strike, t, call), args.baseline_repeats
    )
    whole_seconds, _ = timed(
        lambda: analyse_chain(contracts, as_of, spot, RATE), max(args.repeats // 3, 3)
    )

    both = np.isfinite(found.vol) & np.isfinite(base)
    only_one = int((np.isfinite(found.vol) != np.isfinite(base)).sum())
    largest = float(np.abs(found.vol[both] - base[both]).max()) if both.any() else float("nan")
    print()
    print(
        f"(a) vectorised implied_vol, one call:   {seconds * 1e3:8.2f} ms  "
        f"(median of {args.repeats}; target < {TARGET_MS:g} ms for 2,000)"
    )
    print(
        f"(b) baseline, brentq per contract:      {base_seconds * 1e3:8.2f} ms  "
        f"(median of {args.baseline_repeats})"
    )
    print(f"    speed-up (b)/(a):                   {base_seconds / seconds:8.1f} x")
    print(f"    per 2,000 contracts (scaled):       {seconds * 1e3 * 2000 / n:8.2f} ms")
    print(
        f"    same numbers: {int(both.sum()):,} solved by both, largest |difference| "
        f"{largest:.2e}; solved by one only: {only_one}"
    )
    print(f"(c) analyse_chain end to end:           {whole_seconds * 1e3:8.2f} ms")
    reasons = pd.Series(found.reason[found.reason != ""]).value_counts().to_dict()
    print(
        f"    no solution, implied_vol's reasons (an unpriced contract is invalid_input): {reasons}"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

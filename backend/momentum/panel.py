"""Operations on ``dates x tickers`` panels, shared by the engine and the research models.

Pure numpy functions, no I/O. A panel is a 2-D float64 array with one row per date (oldest
first) and one column per ticker; ``NaN`` where a ticker has no value that day. A *close* is a
finite, positive price: anything else counts as no bar.

A ticker's windows are counted on its *own* trading days (no forward fill), so most series work
is done on the *compacted* layout: column ``j`` holds ticker ``j``'s closes moved to the top,
oldest first (``NaN`` after its last one), and ``order[i, j]`` is the date row of its ``i``-th
close. Every shift and rolling window on that layout is exact per ticker and still one array
operation for the whole panel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def as_float(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def has_close(close: FloatArray) -> BoolArray:
    """``isfinite(C) & (C > 0)``: where a ticker has a close (a non-positive price is no bar)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(close) & (close > 0.0))


def lag(x: npt.ArrayLike, n: int) -> FloatArray:
    """``y[t] = x[t - n]`` along axis 0 (``n`` rows earlier); ``NaN`` for the first ``n`` rows."""
    a = as_float(x)
    if n < 0:
        raise ValueError("lag needs n >= 0")
    out = np.full_like(a, np.nan)
    if n == 0:
        out[...] = a
    elif n < a.shape[0]:
        out[n:] = a[:-n]
    return out


def forward_fill(x: FloatArray, present: BoolArray) -> FloatArray:
    """``x`` on the last row at or before each row where ``present`` is true (NaN before it)."""
    rows = np.arange(x.shape[0])[:, np.newaxis]
    idx = np.maximum.accumulate(np.where(present, rows, -1), axis=0)
    out = np.take_along_axis(x, np.maximum(idx, 0), axis=0)
    out[idx < 0] = np.nan
    return out


# --------------------------------------------------------------------------- compaction


def compaction(mask: BoolArray) -> tuple[IntArray, IntArray]:
    """``(order, n_total)``: ``n_total[j] = Σ_t mask[t, j]``, ticker j's number of closes, and
    ``order[i, j]`` the date row of its ``i``-th close, for ``i < max_j n_total[j]`` (column-major;
    entries past ``n_total[j]`` point at rows without a close)."""
    n_total = mask.sum(axis=0, dtype=np.int64)
    length = int(n_total.max()) if n_total.size else 0
    order = np.argsort(~np.asfortranarray(mask), axis=0, kind="stable")[:length]
    return np.asfortranarray(order, dtype=np.int64), n_total


def valid_positions(order: IntArray, n_total: IntArray) -> BoolArray:
    """``valid[i, j] = i < n_total[j]``: the positions of ``order`` that hold a close."""
    return np.arange(order.shape[0], dtype=np.int64)[:, np.newaxis] < n_total[np.newaxis, :]


def gather(values: FloatArray, order: IntArray, valid: BoolArray) -> FloatArray:
    """The compacted copy of a dates x tickers array: ``out[i, j] = values[order[i, j], j]``
    where ``valid``, NaN elsewhere (column-major)."""
    flat = np.asfortranarray(values).ravel(order="F")
    index = order + values.shape[0] * np.arange(values.shape[1], dtype=np.int64)[np.newaxis, :]
    out = np.asfortranarray(np.take(flat, index))
    out[~valid] = np.nan
    return out


@dataclass(frozen=True)
class Compacted:
    """A panel's closes compacted (``values``, column-major), with ``order`` and ``valid`` to
    put a compacted array back on its ``n_dates`` date rows."""

    values: FloatArray
    order: IntArray
    valid: BoolArray
    n_dates: int

    def expand(self, compact: FloatArray) -> FloatArray:
        """``out[order[i, j], j] = compact[i, j]`` for the valid positions; NaN on the date rows
        without a close."""
        out = np.full((self.n_dates, compact.shape[1]), np.nan)
        np.put_along_axis(out, self.order, np.where(self.valid, compact, np.nan), axis=0)
        return out


def compact(close: FloatArray) -> Compacted:
    """The closes of a panel (``has_close``) compacted."""
    mask = has_close(close)
    order, n_total = compaction(mask)
    valid = valid_positions(order, n_total)
    return Compacted(gather(close, order, valid), order, valid, close.shape[0])


# --------------------------------------------------------------------------- cross-section


def average_rank(x: npt.ArrayLike) -> FloatArray:
    """Row-wise (along the last axis) ranks ``1 … N`` of the finite values, ascending, ties given
    their average rank; NaN where ``x`` is not finite."""
    # Imported here: scipy.stats costs over a second to import, which would delay the
    # process's first answer (/health/live); the first score book pays it, in its thread.
    from scipy.stats import rankdata

    a = as_float(x)
    if a.size == 0:
        return np.full(a.shape, np.nan)
    present = np.isfinite(a)
    ranks = np.asarray(
        rankdata(np.where(present, a, np.inf), method="average", axis=-1), dtype=np.float64
    )
    return np.where(present, ranks, np.nan)


def percentile_rank(x: npt.ArrayLike) -> FloatArray:
    """Row-wise ``100 · (rank − 1) / (N − 1)`` over the ``N`` finite values of each row (``rank``
    from ``average_rank``: 1 = lowest, ties averaged); 50 when ``N = 1``; ``NaN`` where ``x`` is
    not finite. A 1-D array is one row."""
    a = as_float(x)
    ranks = average_rank(a)
    n = np.isfinite(a).sum(axis=-1, keepdims=True).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(n > 1.0, 100.0 * (ranks - 1.0) / (n - 1.0), 50.0)
    return np.where(np.isfinite(a), out, np.nan)


def percentile_within(x: npt.ArrayLike, rows: npt.ArrayLike) -> FloatArray:
    """``percentile_rank`` of ``x[i]`` among the values of ``rows[i]`` (which holds ``x[i]``),
    without ranking the whole rows: ``rank = L + (E + 1) / 2`` with ``L`` the finite values
    below ``x[i]`` and ``E`` those equal to it (itself included), then
    ``100 · (rank − 1) / (N − 1)`` (50 when ``N = 1``); NaN where ``x[i]`` is not finite.
    Equal, bit for bit, to ``percentile_rank(rows)[i, k]`` where ``rows[i, k]`` is ``x[i]``."""
    v = as_float(x).reshape(-1)
    m = as_float(rows).reshape(v.size, -1)
    below = np.sum(m < v[:, None], axis=1).astype(np.float64)
    equal = np.sum(m == v[:, None], axis=1).astype(np.float64)
    n = np.isfinite(m).sum(axis=1).astype(np.float64)
    ranks = below + (equal + 1.0) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(n > 1.0, 100.0 * (ranks - 1.0) / (n - 1.0), 50.0)
    return np.where(np.isfinite(v), out, np.nan)

"""Score books materialised in the database: computed once per data version, read by every
replica and by a process after a restart instead of scoring the whole store again.

Where: the `score_snapshots` table of the store's own database (migration 0009), not files or
Redis. It is the one store every replica already shares, a snapshot is written in a
transaction beside the data version it is for (a reader sees all of it or none), and a
database restored from a backup can only hold snapshots of versions it held itself (a newer
snapshot would be of data it never had). Redis is a cache with an eviction policy and a
memory bound, a poor home for gigabytes that must survive; files would need a volume every
replica mounts and their own consistency rules.

What: the book's panel (adjusted and as-traded closes, volumes, split coefficients) and its
scores (`BookFrames`), each array stored in parts of at most `PART_BYTES` (whole columns, in
NumPy's own `.npy` format, read back without pickle), and a JSON header (dates, tickers, shapes).
A snapshot is keyed by the data version and a tag of what computed it (model version,
composite weights and a fingerprint of the scoring code): a process with other weights, or a
release whose scoring code differs, never reads it. The securities, categories
and aliases are read from the database when a snapshot is loaded; changes after its version
are applied by incremental scoring (`backend/momentum/incremental.py`).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from backend.db.models import ScoreSnapshotPart
from backend.momentum.book_frames import BOOK_FIELDS, BookFrames
from backend.momentum.engine import MODEL_VERSION, CompositeWeights
from backend.momentum.incremental import PANEL_FIELDS, SPARE_ROWS, Growable, PanelFrames

PART_BYTES: Final = 64 * 1024 * 1024
FORMAT: Final = 1
KEEP: Final = 2  # snapshots kept per tag: the newest and the one before


def _code_fingerprint() -> str:
    """SHA-256 (first 16 hex digits) of the scoring code's source files: a release that
    changes how a score is computed never reads a book an earlier release computed, even when
    the model version was not moved."""
    from backend.momentum import book_frames, engine, incremental, model, panel

    digest = hashlib.sha256()
    for module in (model, panel, engine, book_frames, incremental):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


CODE_FINGERPRINT: Final = _code_fingerprint()


def snapshot_tag(weights: CompositeWeights) -> str:
    """What computed the scores: the model version, the composite weights and the scoring
    code itself (`CODE_FINGERPRINT`)."""
    p, t, r = weights.as_tuple()
    return f"{MODEL_VERSION}:{p!r}:{t!r}:{r!r}:{CODE_FINGERPRINT}"


@dataclass(frozen=True)
class Snapshot:
    data_version: int
    panel: PanelFrames
    frames: BookFrames
    benchmarks: dict[str, str]  # the benchmark each ticker was scored against
    panel_space: Growable  # the arrays the panel and the frames are views of, with spare rows
    frame_space: Growable


def _npy(a: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(a.T), allow_pickle=False)  # rows of a column together
    return buffer.getvalue()


def _column_chunks(a: np.ndarray) -> list[slice]:
    per_column = max(1, a.shape[0] * a.itemsize)
    width = max(1, PART_BYTES // per_column)
    return [slice(j, min(j + width, a.shape[1])) for j in range(0, max(a.shape[1], 1), width)]


class SnapshotStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(
        self,
        version: int,
        tag: str,
        panel: PanelFrames,
        frames: BookFrames,
        benchmarks: dict[str, str],
    ) -> bool:
        """Write the snapshot of `version` (False when one is already there: another replica
        wrote it) and drop the tag's older ones beyond `KEEP`."""
        arrays: dict[str, np.ndarray] = {
            **{f"panel.{n}": getattr(panel, n).to_numpy(dtype=np.float64) for n in PANEL_FIELDS},
            **{f"frames.{n}": getattr(frames, n) for n in (*BOOK_FIELDS, "n_closes", "left_out")},
        }
        header: dict[str, Any] = {
            "format": FORMAT,
            "dates": [d.strftime("%Y-%m-%d") for d in frames.dates],
            "tickers": frames.tickers,
            "benchmarks": benchmarks,
            "arrays": {n: str(a.dtype) for n, a in arrays.items()},
        }

        def parts() -> Iterator[dict[str, Any]]:
            """Each part made when it is written: one array chunk in memory at a time."""
            yield {"name": "header", "payload": json.dumps(header).encode()}
            for name, a in arrays.items():
                for cols in _column_chunks(a):
                    yield {"name": f"{name}:{cols.start}:{cols.stop}", "payload": _npy(a[:, cols])}

        try:
            return self._write(version, tag, parts())
        except IntegrityError:  # another replica wrote the same snapshot meanwhile
            return False

    def _write(self, version: int, tag: str, parts: Iterator[dict[str, Any]]) -> bool:
        with self.engine.begin() as conn:
            there = conn.execute(
                select(func.count())
                .select_from(ScoreSnapshotPart)
                .where(ScoreSnapshotPart.tag == tag, ScoreSnapshotPart.data_version == version)
            ).scalar()
            if there:
                return False
            for number, part in enumerate(parts):  # one at a time: a part may be 64 MB
                row = {"data_version": version, "tag": tag, "part": number, **part}
                conn.execute(insert(ScoreSnapshotPart), [row])
            kept = conn.execute(
                select(ScoreSnapshotPart.data_version)
                .where(ScoreSnapshotPart.tag == tag, ScoreSnapshotPart.part == 0)
                .order_by(ScoreSnapshotPart.data_version.desc())
                .limit(KEEP)
            ).scalars()
            oldest = min(kept)
            conn.execute(
                delete(ScoreSnapshotPart).where(
                    ScoreSnapshotPart.tag == tag, ScoreSnapshotPart.data_version < oldest
                )
            )
        return True

    def newest_version(self, tag: str, at_most: int) -> int | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(func.max(ScoreSnapshotPart.data_version)).where(
                    ScoreSnapshotPart.tag == tag,
                    ScoreSnapshotPart.part == 0,
                    ScoreSnapshotPart.data_version <= at_most,
                )
            ).scalar()
        return None if found is None else int(found)

    def load(self, tag: str, at_most: int) -> Snapshot | None:
        """The newest snapshot of `tag` at a version <= `at_most` (never one of data newer than
        the caller has seen), or None. Read a part at a time into arrays with spare rows (the
        next book appends days into them without a copy: `Growable`)."""
        version = self.newest_version(tag, at_most)
        if version is None:
            return None
        key = (ScoreSnapshotPart.tag == tag, ScoreSnapshotPart.data_version == version)
        with self.engine.connect() as conn:
            names = conn.execute(
                select(ScoreSnapshotPart.part, ScoreSnapshotPart.name)
                .where(*key)
                .order_by(ScoreSnapshotPart.part)
            ).all()
            if not names or names[0][1] != "header":
                return None  # being pruned by another replica meanwhile

            def payload(part: int) -> bytes:
                found = conn.execute(
                    select(ScoreSnapshotPart.payload).where(*key, ScoreSnapshotPart.part == part)
                ).scalar()
                if found is None:
                    raise LookupError(f"part {part} of snapshot {version} went away")
                return bytes(found)

            header = json.loads(payload(0))
            if header.get("format") != FORMAT:
                return None
            dates = pd.DatetimeIndex(pd.to_datetime(header["dates"], format="%Y-%m-%d"))
            tickers: list[str] = list(header["tickers"])
            n_rows, n_cols = len(dates), len(tickers)
            arrays = {
                n: np.empty((n_rows + SPARE_ROWS, n_cols), dtype=np.dtype(dtype), order="F")
                for n, dtype in header["arrays"].items()
            }
            try:
                for part, name in names[1:]:
                    field, start, stop = name.rsplit(":", 2)
                    block = np.load(io.BytesIO(payload(part)), allow_pickle=False)
                    arrays[field][:n_rows, int(start) : int(stop)] = block.T
            except LookupError:
                return None  # pruned while being read
        panel_arrays = {n: arrays[f"panel.{n}"] for n in PANEL_FIELDS}
        frame_arrays = {n: arrays[f"frames.{n}"] for n in (*BOOK_FIELDS, "n_closes", "left_out")}
        panel = PanelFrames(
            **{
                n: pd.DataFrame(a[:n_rows], index=dates, columns=tickers, copy=False)
                for n, a in panel_arrays.items()
            }
        )
        frames = BookFrames(
            dates=dates,
            tickers=tickers,
            **{n: a[:n_rows] for n, a in frame_arrays.items()},
        )
        return Snapshot(
            version,
            panel,
            frames,
            dict(header["benchmarks"]),
            Growable(panel_arrays, n_rows),
            Growable(frame_arrays, n_rows),
        )

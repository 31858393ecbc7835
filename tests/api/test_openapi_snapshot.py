"""The schema the app serves is the one committed in docs/openapi.json: a refactor cannot
change the API unnoticed, and an intended change shows in review (`make openapi`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.api

ROOT = Path(__file__).resolve().parents[2]


def test_the_schema_matches_the_committed_snapshot() -> None:
    spec = importlib.util.spec_from_file_location("snapshot", ROOT / "scripts/openapi_snapshot.py")
    assert spec is not None and spec.loader is not None
    snapshot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(snapshot)
    now = snapshot.render(snapshot.current_schema())
    committed = (ROOT / "docs/openapi.json").read_text(encoding="utf-8")
    assert now == committed, "run `make openapi` if the API change is intended"

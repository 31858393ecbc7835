"""The API's OpenAPI schema, kept in docs/openapi.json so a change to it is a visible diff.

    python scripts/openapi_snapshot.py          # rewrite docs/openapi.json (make openapi)
    python scripts/openapi_snapshot.py --check  # exit 1 with a diff when the app's schema differs

A refactor must leave it unchanged; a change of the API changes it in the same commit.
tests/api/test_openapi_snapshot.py runs the check with the suite.
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "docs" / "openapi.json"


def current_schema() -> dict[str, Any]:
    """The schema of an app built with the settings' defaults (the schema names limits that
    settings change, so the snapshot is taken with none set)."""
    sys.path.insert(0, str(ROOT))
    from backend.config import Settings
    from backend.main import create_app

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url="sqlite://",
        environment="test",
        data_provider="none",
        redis_url="",
        load_sample_on_empty=False,
    )
    return create_app(settings).openapi()


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    now = render(current_schema())
    if "--check" not in argv:
        SNAPSHOT.write_text(now, encoding="utf-8")
        print(f"wrote {SNAPSHOT.relative_to(ROOT)}")
        return 0
    before = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    if now == before:
        print("the OpenAPI schema matches docs/openapi.json")
        return 0
    diff = difflib.unified_diff(
        before.splitlines(), now.splitlines(), "docs/openapi.json", "the app", lineterm="", n=2
    )
    print("\n".join(list(diff)[:200]))
    print("the OpenAPI schema changed: if intended, run `make openapi` and commit the file")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

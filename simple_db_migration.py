#!/usr/bin/env python
"""Apply the database migrations to DATABASE_URL (or the default SQLite file).

Idempotent: running it twice leaves the schema at the same revision. Prints the revision reached.
Runs under the start-up lock (backend/startup.py), so it never races a starting service.
A database ahead of this release through backward-compatible revisions is left as it is.

`--plan` changes nothing: it prints one JSON line, what would be applied and whether every
revision of it is backward compatible (scripts/deploy.sh reads it to choose an online deploy,
the old release serving throughout, or one with the service stopped).
"""

from __future__ import annotations

import argparse
import json
import sys

from backend.config import get_settings
from backend.db.engine import make_engine
from backend.db.migrate import current_revision, head_revision, pending_revisions, upgrade_to_head
from backend.startup import startup_lock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", action="store_true", help="print what would be applied (JSON)")
    args = parser.parse_args(argv)
    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        with startup_lock(engine):
            before = current_revision(engine)
            if args.plan:
                pending = pending_revisions(engine)
                plan = {
                    "revision": before,
                    "head": head_revision(),
                    "pending": [{"revision": r, "backward_compatible": c} for r, c in pending],
                    "backward_compatible": all(c for _, c in pending),
                }
                print(json.dumps(plan))
                return 0
            after = upgrade_to_head(engine)
    except Exception as exc:  # report any failure plainly and exit non-zero
        print(f"migration failed on {engine.url.render_as_string()}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    print(f"database {engine.url.render_as_string()}: {state} revision {after}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Apply the database migrations to DATABASE_URL (or the default SQLite file).

Idempotent: running it twice leaves the schema at the same revision. Prints the revision reached.
"""

from __future__ import annotations

import sys

from backend.config import get_settings
from backend.db.engine import make_engine
from backend.db.migrate import current_revision, upgrade_to_head


def main() -> int:
    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        before = current_revision(engine)
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

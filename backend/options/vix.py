"""Reader of CBOE's VIX daily history (`DATE,OPEN,HIGH,LOW,CLOSE`), a price-like series.

The VIX is the 30-day implied volatility of the S&P 500 in percentage points (20.0 = 20%).
Dates are yyyy-mm-dd (datasets/finance-vix) or mm/dd/yyyy (CBOE's own `VIX_History.csv`);
header names are matched case-insensitively. All or nothing: the first bad line raises
`OptionFileError` (module `_text` lists the rules every file obeys); a day listed twice is an
error naming both lines.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from backend.options._text import (
    Source,
    parse_date,
    parse_number,
    quoted,
    read_source,
    require_positive,
    split_fields,
    text_lines,
)
from backend.options.errors import OptionFileError

VIX_COLUMNS = ["date", "open", "high", "low", "close"]


def read_vix_daily(source: Source) -> pd.DataFrame:
    """The VIX daily bars (`VIX_COLUMNS`, `date` as `datetime.date`, index points), sorted by
    date. Every price must be greater than 0."""
    raw, path = read_source(source)
    lines = text_lines(raw, path)
    header = [name.strip().lower() for name in lines[0].split(",")]
    if header != VIX_COLUMNS:
        raise OptionFileError(
            1, f"unexpected header {quoted(lines[0])}: expected DATE,OPEN,HIGH,LOW,CLOSE", path
        )
    rows: list[tuple[object, ...]] = []
    seen: dict[dt.date, int] = {}
    for number, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        fields = split_fields(text, number, path, len(VIX_COLUMNS))
        day = parse_date(fields[0], "DATE", number, path, "iso|us")
        if day in seen:
            raise OptionFileError(number, f"{day} is already on line {seen[day]}", path)
        seen[day] = number
        prices = [
            require_positive(parse_number(fields[i], name, number, path), name, number, path)
            for i, name in enumerate(("OPEN", "HIGH", "LOW", "CLOSE"), start=1)
        ]
        rows.append((day, *prices))
    if not rows:
        raise OptionFileError(None, "the file has a header but no data rows", path)
    frame = pd.DataFrame.from_records(rows, columns=VIX_COLUMNS)
    return frame.sort_values("date", kind="stable").reset_index(drop=True)

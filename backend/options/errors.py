"""The options package's own errors: plain Python, no web framework, so the package stays a
leaf (the API layer maps them onto the documented error shape when it is built)."""

from __future__ import annotations


class OptionsError(Exception):
    """Base of every error raised by `backend.options`."""


class OptionFileError(OptionsError):
    """An options file (Lean chain or quotes, Yahoo JSON, VIX CSV) that cannot be read.

    `line` is 1-based (a CSV's header is line 1; for JSON the line of the offending text where
    there is one), None when the fault is the file as a whole (empty, too large, a bad zip).
    `path` names the file or the member of an archive when known. Reading is all or nothing:
    when this is raised, nothing of the file was returned."""

    def __init__(self, line: int | None, reason: str, path: str | None = None) -> None:
        where = f"line {line}: " if line is not None else ""
        in_file = f"{path}: " if path else ""
        super().__init__(f"{in_file}{where}{reason}")
        self.line = line
        self.reason = reason
        self.path = path


class OptionInputError(OptionsError, ValueError):
    """An argument the maths or a reader cannot work with (a malformed ticker, arrays of
    different lengths, a non-finite rate); `field` names the argument."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

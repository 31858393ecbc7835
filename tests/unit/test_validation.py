"""The text and number rules of backend/validation.py, on every kind of field."""

from __future__ import annotations

import math
import re

import pytest
from pydantic import BaseModel, Field, ValidationError

from backend.validation import (
    MULTILINE_SCHEMA_PATTERN,
    SINGLE_LINE_SCHEMA_PATTERN,
    MultilineStr,
    RequestModel,
    check_finite,
    check_text,
    first_control_char,
)

pytestmark = pytest.mark.unit

CONTROLS = [chr(c) for c in range(0x00, 0x20)] + [chr(0x7F)] + [chr(c) for c in range(0x80, 0xA0)]


@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_every_control_character_is_found(char: str) -> None:
    assert first_control_char(f"ab{char}cd") == 2
    with pytest.raises(ValueError, match=f"U\\+{ord(char):04X}.*position 2"):
        check_text(f"ab{char}cd")


def test_multiline_allows_only_tab_newline_return() -> None:
    assert check_text("a\tb\nc\r\n", multiline=True) == "a\tb\nc\r\n"
    assert first_control_char("a\nb\x00", multiline=True) == 3
    assert first_control_char("a\nb") == 1


def test_printable_unicode_passes() -> None:
    text = "Zürich — 東京 ✓ ¡ü"
    assert check_text(text) == text


def test_finite() -> None:
    assert check_finite(1e308) == 1e308
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError, match="not a finite number"):
            check_finite(bad)


class Line(RequestModel):
    quantity: float
    note: MultilineStr | None = None


class Body(RequestModel):
    name: str = Field(max_length=100)
    tags: list[str] = []
    targets: dict[str, float] = {}
    lines: list[Line] = []


def _errors(payload: dict[str, object]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        Body.model_validate(payload)
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in info.value.errors()]


def test_request_model_names_the_field_of_a_control_character() -> None:
    [(loc, msg)] = _errors({"name": "a\x00b"})
    assert loc == "name" and "U+0000" in msg
    [(loc, msg)] = _errors({"name": "ok", "tags": ["x", "y\x1b"]})
    assert loc == "tags" and "U+001B" in msg and "in 1" in msg
    [(loc, msg)] = _errors({"name": "ok", "targets": {"a\x07": 1.0}})
    assert loc == "targets" and "(key)" in msg


def test_nested_models_check_their_own_fields_with_their_own_rule() -> None:
    body = Body.model_validate({"name": "ok", "lines": [{"quantity": 1, "note": "two\nlines"}]})
    assert body.lines[0].note == "two\nlines"
    [(loc, msg)] = _errors({"name": "ok", "lines": [{"quantity": 1, "note": "nul\x00"}]})
    assert loc == "lines.0.note" and "U+0000" in msg


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_request_model_refuses_non_finite_numbers(bad: float) -> None:
    [(loc, _)] = _errors({"name": "ok", "lines": [{"quantity": bad}]})
    assert loc == "lines.0.quantity"


def test_request_model_refuses_unknown_fields() -> None:
    [(loc, _)] = _errors({"name": "ok", "extra": 1})
    assert loc == "extra"


def test_the_schema_declares_the_rule() -> None:
    schema = Body.model_json_schema()
    props = schema["properties"]
    assert props["name"]["pattern"] == SINGLE_LINE_SCHEMA_PATTERN
    assert props["tags"]["items"]["pattern"] == SINGLE_LINE_SCHEMA_PATTERN
    assert props["targets"]["propertyNames"]["pattern"] == SINGLE_LINE_SCHEMA_PATTERN
    note = schema["$defs"]["Line"]["properties"]["note"]
    assert [s.get("pattern") for s in note["anyOf"] if s.get("type") == "string"] == [
        MULTILINE_SCHEMA_PATTERN
    ]
    # The declared patterns agree with the validator on every control character.
    single, multi = re.compile(SINGLE_LINE_SCHEMA_PATTERN), re.compile(MULTILINE_SCHEMA_PATTERN)
    for char in CONTROLS:
        assert not single.fullmatch(char)
        assert bool(multi.fullmatch(char)) == (char in "\t\n\r")
    assert single.fullmatch("plain text ü")


class Plain(BaseModel):
    text: str


def test_plain_models_are_not_affected() -> None:
    assert Plain(text="a\x00").text == "a\x00"

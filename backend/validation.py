"""Text and number rules every input obeys, whatever route or file it comes through.

A leaf: plain Python and pydantic, no web framework, database or cache, so request models,
CSV readers and the CLI share one definition of "acceptable text" and "acceptable number".

- Control characters (Unicode category Cc: C0, DEL and C1) are refused in every text field:
  PostgreSQL cannot store NUL, and the rest corrupt logs, CSV exports and terminals.
  Fields declared `Multiline` accept tab, line feed and carriage return.
- Numbers must be finite; JSON's `NaN`/`Infinity` (which Python's json module reads) are
  refused by `RequestModel`.
- Dates are written `YYYY-MM-DD` (`IsoDate`), as the schema's `format: date` says; pydantic
  alone would also read `0` or `1700000000` as a Unix time. Numbers in a URL are written as
  JSON writes them (`INT_TEXT`, `NUMBER_TEXT`): pydantic alone would also read `1_000`, `+5`
  or ` 7`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from functools import lru_cache
from typing import Annotated, Any, Iterator, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

# Everything in Unicode category Cc; C1 (U+0080-U+009F) included.
CONTROL_PATTERN = r"[\x00-\x1f\x7f-\x9f]"
_MULTILINE_ALLOWED = "\t\n\r"
CONTROL_RE = re.compile(CONTROL_PATTERN)
# Declared in the OpenAPI schema of every text field, so clients (and schemathesis) know.
SINGLE_LINE_SCHEMA_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
MULTILINE_SCHEMA_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
CONTROL_RULE = "no control characters (U+0000-U+001F, U+007F-U+009F)"
MULTILINE_RULE = "no control characters other than tab, line feed and carriage return"


class Multiline:
    """Marks a text field in which tab, line feed and carriage return are allowed (a note)."""

    def __repr__(self) -> str:
        return "Multiline()"


MULTILINE = Multiline()


def first_control_char(value: str, multiline: bool = False) -> int | None:
    """The index of the first control character of `value` (None when there is none);
    with `multiline`, tab, line feed and carriage return are not counted."""
    for match in CONTROL_RE.finditer(value):
        if not (multiline and match.group() in _MULTILINE_ALLOWED):
            return match.start()
    return None


def control_char_message(value: str, index: int) -> str:
    char = value[index]
    name = unicodedata.name(char, "control character")
    return f"control character U+{ord(char):04X} ({name}) at position {index} is not allowed"


def check_text(value: str, multiline: bool = False) -> str:
    """`value` unchanged; ValueError naming the character and its position when it holds a
    control character (tab, line feed and carriage return allowed with `multiline`)."""
    index = first_control_char(value, multiline)
    if index is not None:
        raise ValueError(control_char_message(value, index))
    return value


def check_finite(value: float) -> float:
    """`value` unchanged; ValueError when it is NaN or infinite."""
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    return value


ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date_text(value: Any) -> Any:
    """`value` unchanged when it is a date or `YYYY-MM-DD` text (pydantic then checks the
    calendar); any other text, a number or a boolean is refused: pydantic's lax mode would read
    `0` as 1970-01-01, which the schema's `format: date` does not allow."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and ISO_DATE_RE.fullmatch(value):
        return value
    raise PydanticCustomError("date_format", "a date must be written YYYY-MM-DD (e.g. 2021-04-21)")


def comma_list_pattern(item: str, most: int | None = None) -> str:
    """A pattern (the same in Python and in a JSON schema) of 1 to `most` (default: any
    number of) texts matching `item`, separated by commas, with spaces around each allowed."""
    rest = "*" if most is None else f"{{0,{most - 1}}}"
    return f"^ *(?:{item}) *(?:, *(?:{item}) *){rest}$"


# JSON's number syntax (and an integer's, which may end in ".0": 1.0 is the integer 1).
INT_TEXT_RE = re.compile(r"-?[0-9]+(\.0+)?")
NUMBER_TEXT_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _written(pattern: re.Pattern[str], kind: str, example: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise PydanticCustomError(
                f"{kind}_parsing", f"{{what}} must be written like {example}", {"what": kind}
            )
        return value

    return BeforeValidator(check)


SafeStr = Annotated[str, AfterValidator(check_text)]
IsoDate = Annotated[dt.date, BeforeValidator(iso_date_text)]
# A path or query parameter's number written as JSON writes numbers: the last metadata of an
# `Annotated[int, Query(ge=...), INT_TEXT]` (after the bounds, or the schema loses them).
INT_TEXT = _written(INT_TEXT_RE, "int", "10")
NUMBER_TEXT = _written(NUMBER_TEXT_RE, "float", "10, 2.5 or 1e3")
MultilineStr = Annotated[str, AfterValidator(lambda v: check_text(v, True)), MULTILINE]


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (path, text) inside a JSON-like value: strings, dict keys and values, list items."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield f"{sub} (key)", key
            yield from _strings(item, sub)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}.{i}" if path else str(i))


def _declare_patterns(schema: dict[str, Any], multiline: bool) -> None:
    """Add the text rule's pattern to every plain string of a JSON schema (in place)."""
    kind = schema.get("type")
    keyed = schema.get("patternProperties")
    if kind == "object" and isinstance(keyed, dict) and len(keyed) == 1:
        # pydantic writes dict[Key, V] with a pattern on Key as patternProperties, which leaves
        # every other key allowed; the server refuses them, so the schema says so.
        ((pattern, value),) = keyed.items()
        if "additionalProperties" not in schema:
            del schema["patternProperties"]
            schema["additionalProperties"] = value
            schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": pattern}
    if kind == "string" and not ({"pattern", "format", "enum", "const"} & schema.keys()):
        schema["pattern"] = MULTILINE_SCHEMA_PATTERN if multiline else SINGLE_LINE_SCHEMA_PATTERN
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, []):
            if isinstance(sub, dict):
                _declare_patterns(sub, multiline)
    for key in ("items", "additionalProperties", "propertyNames"):
        sub = schema.get(key)
        if isinstance(sub, dict):
            _declare_patterns(sub, multiline)
    if kind == "object" and "additionalProperties" in schema:
        # Keys are text too (a length limit alone does not say so).
        names = schema.setdefault("propertyNames", {})
        if not ({"pattern", "format", "enum", "const"} & names.keys()):
            names["pattern"] = SINGLE_LINE_SCHEMA_PATTERN


def _schema_extra(schema: dict[str, Any], model: type[BaseModel]) -> None:
    for name, prop in schema.get("properties", {}).items():
        info = model.model_fields.get(name) or next(
            (f for f in model.model_fields.values() if f.alias == name), None
        )
        multiline = info is not None and _is_multiline(info.annotation, info.metadata)
        _declare_patterns(prop, multiline)
    rules = getattr(model, "schema_rules", None)
    if callable(rules):
        schema["allOf"] = rules()


def _is_multiline(annotation: Any, metadata: list[Any]) -> bool:
    """Whether a field is marked `Multiline`, directly or inside a union (`MultilineStr | None`)."""
    if any(isinstance(m, Multiline) for m in metadata):
        return True
    return any(isinstance(arg, Multiline) or _is_multiline(arg, []) for arg in get_args(annotation))


def _holds_model(annotation: Any) -> bool:
    """Whether a type annotation is, or contains, a pydantic model (which checks its own text)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(arg) for arg in get_args(annotation))


@lru_cache(maxsize=None)
def _field_rule(model: type[BaseModel], name: str) -> tuple[bool, bool]:
    """(check this field here, multiline) for a field of a request model."""
    field = model.model_fields.get(name)
    if field is None:
        return True, False
    return not _holds_model(field.annotation), _is_multiline(field.annotation, field.metadata)


class RequestModel(BaseModel):
    """Base of every request body: unknown fields, non-finite numbers and control characters
    in any text (fields, nested values, dict keys) are refused with the field named.

    A model whose rules tie fields together (this type needs that field) declares them as
    JSON schemas with a classmethod `schema_rules()`, which become the schema's `allOf`."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=_schema_extra)

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_chars(cls, value: Any, info: ValidationInfo) -> Any:
        check, multiline = _field_rule(cls, info.field_name or "")
        if not check:
            return value
        for path, text in _strings(value):
            index = first_control_char(text, multiline)
            if index is not None:
                where = f" in {path}" if path else ""
                raise ValueError(control_char_message(text, index) + where)
        return value

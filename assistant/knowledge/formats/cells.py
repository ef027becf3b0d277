"""Spreadsheet cells to field values and back, driven by the schema's field types.

A cell is only text (CSV) or a loosely typed value (XLSX: 129.0 for an id typed as a number), so
each field's type decides how to read it. Types come from the pydantic models rather than a table
here, so a field or record kind added to the schema converts correctly without touching this file.
"""

from __future__ import annotations

import json
import re
import types
import typing
from datetime import date, datetime
from functools import cache
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from assistant.knowledge.schema import RECORD_TYPES

Shape = Literal["text", "number", "integer", "bool", "date", "list", "json_list", "json_object"]


class CellError(ValueError):
    """A cell whose text cannot mean a value of its field's type; the message says what would."""


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""Returned for an empty cell: the field is left out, so the schema default applies."""

# Lists of slugs and ids (skin types, product ids) may be separated by any of these: staff type
# Chinese and English punctuation interchangeably, and Excel cells may hold one value per line.
LIST_SEPARATORS = re.compile(r"[;|、；,，\n]+")
TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "是", "对", "有"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "否", "不", "无"})
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]0{1,2}:00(?::00)?)?$"
)
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_WHOLE_FLOAT = re.compile(r"^(-?\d+)\.0+$")


@cache
def field_shape(kind: str, name: str) -> Shape | None:
    """How a cell of field ``name`` of ``kind`` is read; None for a field the schema lacks."""
    model = RECORD_TYPES.get(kind)
    if model is None or name not in model.model_fields:
        return None
    return _shape_of(model.model_fields[name].annotation)


def _shape_of(annotation: Any) -> Shape:
    annotation = _strip_optional(annotation)
    origin = typing.get_origin(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation) or (str,)
        item = _strip_optional(item)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return "json_list"
        if typing.get_origin(item) in (dict, list):
            return "json_list"
        return "list"
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return "json_object"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "integer"
    if annotation is float:
        return "number"
    if annotation in (date, datetime):
        return "date"
    return "text"


def _strip_optional(annotation: Any) -> Any:
    """``X | None`` and ``Annotated[X, ...]`` are read as ``X``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def read_cell(shape: Shape | None, value: Any) -> Any:
    """The field value a cell holds, :data:`ABSENT` for an empty cell; raises CellError."""
    if value is None:
        return ABSENT
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return ABSENT
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # XLSX stores every number as a float: 129.0 is the id "129"
    if shape is None:
        return _read_extra(value)
    return _READERS[shape](value)


def _read_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _read_number(value: Any) -> Any:
    if isinstance(value, str):
        text = value.lstrip("¥￥").removesuffix("元").strip()
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        whole = _WHOLE_FLOAT.match(text)
        return whole.group(1) if whole else text
    return value


def _read_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(f"expected yes or no (是/否, true/false, 1/0), got {value!r}")


def _read_date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, str):
        match = _DATE.match(value)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError as exc:
                raise CellError(f"not a real date: {value!r} ({exc})") from exc
    return value


def _read_list(value: Any) -> Any:
    if isinstance(value, str):
        if value.startswith("["):
            parsed = _parse_structured(value)
            if isinstance(parsed, list):
                return parsed
        return [part.strip() for part in LIST_SEPARATORS.split(value) if part.strip()]
    return [_read_text(value)]


def _read_json_list(value: Any) -> Any:
    parsed = _parse_structured(value) if isinstance(value, str) else None
    if isinstance(parsed, dict):
        return [parsed]  # one item written without the brackets
    if not isinstance(parsed, list):
        raise CellError(
            f'expected a JSON list such as [{{"zh": "烟酰胺", "en": "niacinamide"}}], got {value!r}'
        )
    return parsed


def _read_json_object(value: Any) -> Any:
    parsed = _parse_structured(value) if isinstance(value, str) else None
    if not isinstance(parsed, dict):
        raise CellError(f'expected a JSON object such as {{"days": 7}}, got {value!r}')
    return parsed


def _read_extra(value: Any) -> Any:
    """Columns the schema does not know keep their value; JSON lists and objects are parsed."""
    if isinstance(value, str):
        if value[:1] in "[{":
            parsed = _parse_json(value)
            if isinstance(parsed, list | dict):
                return parsed
        return value
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _parse_structured(text: str) -> Any:
    """JSON, or the YAML flow style staff also write (``{days: 7}``); None if neither."""
    parsed = _parse_json(text)
    if parsed is not None:
        return parsed
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _datetime_text(value: datetime) -> str:
    if value.time() == datetime.min.time():
        return value.date().isoformat()
    return value.isoformat(sep=" ")


_READERS: dict[str, typing.Callable[[Any], Any]] = {
    "text": _read_text,
    "number": _read_number,
    "integer": _read_number,
    "bool": _read_bool,
    "date": _read_date,
    "list": _read_list,
    "json_list": _read_json_list,
    "json_object": _read_json_object,
}


def write_cell(shape: Shape | None, value: Any) -> str | int | float | bool | None:
    """The cell a field value is written as, so that :func:`read_cell` reads it back equal.

    Empty values become empty cells (read back as absent, i.e. the default); a list field of
    plain values is joined with ", "; nested values are JSON with Chinese kept as characters.
    """
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, list | dict):
        plain = isinstance(value, list) and all(
            isinstance(v, str) and not LIST_SEPARATORS.search(v) for v in value
        )
        if shape == "list" and plain:
            return ", ".join(value)
        return json.dumps(_jsonable(value), ensure_ascii=False)
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value

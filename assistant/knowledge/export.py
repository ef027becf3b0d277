"""Write records back out in any loadable format, so staff can edit them where they like.

Every export re-loads to equal records (extra fields included) with one documented exception:
CSV has no cell types, so an extra field's number or true/false comes back as text; XLSX, YAML,
JSON and JSONL keep them. Chinese is written as characters, never as \\u escapes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Any

import yaml

from assistant.knowledge.formats.cells import field_shape, write_cell
from assistant.knowledge.schema import RECORD_TYPES, Record

EXPORT_FORMATS = ("yaml", "json", "jsonl", "csv", "xlsx")
_ALIASES = {"yml": "yaml", "ndjson": "jsonl", "excel": "xlsx"}
# Sheet names the loader maps back to each kind (any kind + "s" works for new kinds too).
_SHEET_NAMES = {
    "product": "products",
    "faq": "faqs",
    "policy": "policies",
    "promotion": "promotions",
}


def export_records(
    records: Iterable[Record], target: str | Path | IO[Any], fmt: str | None = None
) -> None:
    """Write ``records`` to a file path or an open stream in ``fmt``.

    ``fmt`` is one of :data:`EXPORT_FORMATS`; it defaults to the path's suffix. Streams may be
    text or binary for the text formats; XLSX needs a binary stream. CSV files get a UTF-8 BOM so
    that Excel shows Chinese correctly when staff double-click them.
    """
    fmt = _format(target, fmt)
    items = list(records)
    if fmt == "xlsx":
        if isinstance(target, io.TextIOBase):
            raise ValueError("XLSX is a binary format: write it to a file (e.g. -o catalog.xlsx)")
        _write_xlsx(items, target)
        return
    with _text_stream(target, bom=fmt == "csv") as stream:
        if fmt == "yaml":
            _write_yaml(items, stream)
        elif fmt == "json":
            json.dump(_document(items, "json"), stream, ensure_ascii=False, indent=2)
            stream.write("\n")
        elif fmt == "jsonl":
            for record in items:
                stream.write(json.dumps(_record_data(record, "json"), ensure_ascii=False) + "\n")
        else:
            _write_csv(items, stream)


def _format(target: str | Path | IO[Any], fmt: str | None) -> str:
    if fmt is None:
        if not isinstance(target, str | Path):
            raise ValueError(f"give the export format for a stream: one of {EXPORT_FORMATS}")
        fmt = Path(target).suffix
    name = fmt.lower().lstrip(".")
    name = _ALIASES.get(name, name)
    if name not in EXPORT_FORMATS:
        raise ValueError(f"cannot export as {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    return name


@contextmanager
def _text_stream(target: str | Path | IO[Any], bom: bool) -> Iterator[IO[str]]:
    if isinstance(target, str | Path):
        encoding = "utf-8-sig" if bom else "utf-8"
        with open(target, "w", encoding=encoding, newline="") as handle:
            yield handle
    elif isinstance(target, io.TextIOBase):
        yield target
    else:  # a binary stream: encode as UTF-8 and leave the stream open for the caller
        wrapper = io.TextIOWrapper(target, encoding="utf-8", newline="")
        try:
            yield wrapper
        finally:
            wrapper.flush()
            wrapper.detach()


def _record_data(record: Record, mode: str, with_kind: bool = True) -> dict[str, Any]:
    """The record's fields, defaults left out (they re-load as defaults), id and kind first."""
    data = record.model_dump(mode=mode, exclude_defaults=True)
    head: dict[str, Any] = {"id": data.pop("id")}
    data.pop("kind", None)
    if with_kind:
        head["kind"] = record.kind
    return {**head, **data}


def _document(items: list[Record], mode: str) -> Any:
    """``{kind, records}`` when every record has one kind, else a list of records with kinds."""
    kinds = {record.kind for record in items}
    if len(kinds) == 1:
        (kind,) = kinds
        return {"kind": kind, "records": [_record_data(r, mode, with_kind=False) for r in items]}
    return [_record_data(record, mode) for record in items]


class _Dumper(yaml.SafeDumper):
    """Long texts with line breaks as ``|`` blocks, the way staff write them by hand."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _write_yaml(items: list[Record], stream: IO[str]) -> None:
    yaml.dump(
        _document(items, "python"),
        stream,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )


def _columns(items: list[Record], with_kind: bool) -> list[str]:
    """id, kind, every schema field of the kinds present (a template to fill), then extras."""
    columns: dict[str, None] = {"id": None}
    if with_kind:
        columns["kind"] = None
    for kind in dict.fromkeys(record.kind for record in items):
        for name in RECORD_TYPES[kind].model_fields:
            columns.setdefault(name, None)
    for record in items:
        for name in record.extra_fields:
            columns.setdefault(name, None)
    return list(columns)


def _row(record: Record, columns: list[str]) -> list[Any]:
    extras = record.extra_fields
    row: list[Any] = []
    for name in columns:
        if name == "kind":
            row.append(record.kind)
        elif name in type(record).model_fields:
            row.append(write_cell(field_shape(record.kind, name), getattr(record, name)))
        else:
            row.append(write_cell(None, extras.get(name)))
    return row


def _write_csv(items: list[Record], stream: IO[str]) -> None:
    columns = _columns(items, with_kind=True)
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(columns)
    for record in items:
        writer.writerow(["" if v is None else v for v in _row(record, columns)])


def _write_xlsx(items: list[Record], target: str | Path | IO[Any]) -> None:
    """One sheet per kind, named so the loader knows the kind; values keep their cell types."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    by_kind: dict[str, list[Record]] = {}
    for record in items:
        by_kind.setdefault(record.kind, []).append(record)
    for kind, records in by_kind.items():
        sheet = workbook.create_sheet(_SHEET_NAMES.get(kind, f"{kind}s"))
        columns = _columns(records, with_kind=False)
        sheet.append(columns)
        for record in records:
            cells = []
            for name, value in zip(columns, _row(record, columns), strict=True):
                if name in type(record).model_fields and field_shape(kind, name) == "date":
                    value = getattr(record, name)  # a real date cell, shown as a date
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # text, not a formula
                elif isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            sheet.append(cells)
    if not by_kind:
        workbook.create_sheet("products").append(_columns([], with_kind=True))
    workbook.save(target)

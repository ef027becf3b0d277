"""CSV and XLSX knowledge: one record per row under a header row of field names.

Row numbers in problems are the row numbers staff see in Excel (the header is row 1), and every
cell message names its column, because that is how a person finds the cell to fix.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.knowledge.formats.base import (
    ParsedFile,
    Problem,
    RawRecord,
    kind_choices,
    kind_from_name,
    kind_named,
)
from assistant.knowledge.formats.cells import ABSENT, CellError, field_shape, read_cell
from assistant.knowledge.formats.text_encoding import read_knowledge_text

# Chinese headers staff commonly use, mapped to field names. Kept small on purpose: anything not
# listed is matched by its normalised spelling (lowercase, spaces and dashes as "_") or kept as an
# extra field. docs/knowledge-schema.md lists the same table.
HEADER_ALIASES: dict[str, str] = {
    "编号": "id",
    "名称": "name_zh",
    "英文名称": "name_en",
    "价格": "price",
    "分类": "category",
    "类别": "category",
    "规格": "size",
    "成分": "ingredients",
    "库存": "stock",
    "问题": "question_zh",
    "答案": "answer_zh",
    "标题": "title_zh",
    "内容": "body_zh",
}

_HEADER_SPACES = re.compile(r"[\s\-]+")
_KIND_HINT = "products, faqs, policies, promotions or 商品, 问答, 政策, 活动"


def normalise_header(value: Any) -> str:
    """Header cell → field name: BOM and spaces removed, lowercase, Chinese aliases mapped."""
    text = "" if value is None else str(value)
    text = text.replace("\ufeff", "").strip().lower()
    text = _HEADER_SPACES.sub("_", text)
    return HEADER_ALIASES.get(text, text)


def column_letter(index: int) -> str:
    """Excel's name for the 0-based column ``index`` (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def read_csv(path: Path) -> ParsedFile:
    """Read a CSV (or TSV) file in any encoding :func:`read_knowledge_text` accepts."""
    label = str(path)
    text = read_knowledge_text(path)
    if isinstance(text, ParsedFile):
        return text
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _guess_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(enumerate(reader, start=1))
    except csv.Error as exc:
        return ParsedFile(problems=[Problem(label, f"not valid CSV: {exc}", line=reader.line_num)])
    result = read_table(rows, label, kind_from_name(path.stem), "file")
    if not result.records and not result.problems:
        result.problems.append(Problem(label, "file is empty"))
    return result


def _guess_delimiter(text: str) -> str:
    """Comma unless the header line clearly uses tabs or semicolons (European Excel)."""
    header = next((line for line in text.split("\n") if line.strip()), "")
    counts = {d: header.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def read_xlsx(path: Path) -> ParsedFile:
    """Read every visible sheet of a workbook; a sheet's name may give its records' kind.

    Hidden sheets (lookup lists behind drop-downs) and sheets named ``_…`` or ``#…`` (notes for
    staff) are skipped; so are sheets with no cells at all.
    """
    label = str(path)
    problem = _not_a_workbook(path)
    if problem:
        return ParsedFile(problems=[Problem(label, problem)])
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        return ParsedFile(problems=[Problem(label, f"cannot open the Excel workbook: {exc}")])
    result = ParsedFile()
    file_kind = kind_from_name(path.stem)
    try:
        for sheet in workbook.worksheets:
            title = str(sheet.title)
            if sheet.sheet_state != "visible" or title.startswith(("_", "#")):
                continue
            sheet_label = f"{label}[{title}]"
            try:
                rows = list(_sheet_rows(sheet))
            except Exception as exc:  # a damaged sheet part inside a valid zip
                result.problems.append(Problem(sheet_label, f"cannot read the sheet: {exc}"))
                continue
            kind = kind_from_name(title) or file_kind
            part = read_table(rows, sheet_label, kind, "sheet")
            result.records.extend(part.records)
            result.problems.extend(part.problems)
    finally:
        workbook.close()
    if not result.records and not result.problems:
        result.problems.append(Problem(label, "file is empty: no sheet has any rows"))
    return result


def _not_a_workbook(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    if not head:
        return "file is empty"
    if head.startswith(b"PK"):
        return None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return (
            "not an .xlsx workbook: it is an old .xls file or a password-protected workbook; "
            "open it in Excel or WPS and save it as .xlsx without a password"
        )
    if all(32 <= b < 127 or b in (9, 10, 13) or b >= 0x80 for b in head):
        return "not an Excel .xlsx workbook (it looks like text; a CSV file should end in .csv)"
    return "not an Excel .xlsx workbook (the file is not a zip archive)"


def _sheet_rows(sheet: Any) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cell values) for every row, numbered as Excel shows them."""
    sheet.reset_dimensions()  # stored dimensions are often wrong in files other tools wrote
    number = 0
    for cells in sheet.iter_rows():
        row = next((c.row for c in cells if getattr(c, "row", None)), None)
        number = row if row is not None else number + 1
        yield number, [c.value for c in cells]


def read_table(
    rows: Sequence[tuple[int, Sequence[Any]]], label: str, default_kind: str | None, unit: str
) -> ParsedFile:
    """Records from numbered rows whose first non-empty row is the header.

    ``unit`` ("file" or "sheet") names what staff should rename when no kind can be found.
    """
    rows = [(n, list(values)) for n, values in rows]
    content = [(n, values) for n, values in rows if any(_filled(v) for v in values)]
    if not content:
        return ParsedFile()
    (header_row, header), data = content[0], content[1:]
    columns, problems = _columns(header, header_row, label)
    if problems:
        return ParsedFile(problems=problems)
    if not data:
        return ParsedFile(
            problems=[Problem(label, "no records: only a header row", line=header_row)]
        )
    has_kind_column = any(name == "kind" for _, name, _ in columns)
    if default_kind is None and not has_kind_column:
        return ParsedFile(
            problems=[
                Problem(
                    label,
                    f"cannot tell which kind of records this {unit} holds: add a 'kind' column "
                    f"or name the {unit} after the kind ({_KIND_HINT})",
                )
            ]
        )
    headerless = {i for i, value in enumerate(header) if not _filled(value)}
    result = ParsedFile()
    reported_columns: set[int] = set()
    for number, values in data:
        for i in sorted(headerless - reported_columns):
            if i < len(values) and _filled(values[i]):
                reported_columns.add(i)
                result.problems.append(
                    Problem(
                        label,
                        f"cell {column_letter(i)}{number} has a value but column "
                        f"{column_letter(i)} has no header: name the column or clear it",
                        line=number,
                    )
                )
        record = _row_record(values, number, columns, label, default_kind, result.problems)
        if record is not None:
            result.records.append(record)
    return result


def _columns(
    header: Sequence[Any], row: int, label: str
) -> tuple[list[tuple[int, str, str]], list[Problem]]:
    columns: list[tuple[int, str, str]] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, value in enumerate(header):
        name = normalise_header(value)
        if not name:
            continue
        original = str(value).replace("\ufeff", "").strip()
        if name in seen:
            first = seen[name]
            problems.append(
                Problem(
                    label,
                    f"columns {column_letter(first)} '{header[first]}' and {column_letter(i)} "
                    f"'{original}' both mean field '{name}'; keep one",
                    line=row,
                    field=name,
                )
            )
            continue
        seen[name] = i
        columns.append((i, name, original))
    return columns, problems


def _row_record(
    values: Sequence[Any],
    number: int,
    columns: Iterable[tuple[int, str, str]],
    label: str,
    default_kind: str | None,
    problems: list[Problem],
) -> RawRecord | None:
    cells = {
        name: (values[i] if i < len(values) else None, i, original) for i, name, original in columns
    }
    where = {
        name: f"column {column_letter(i)} '{original}'" for name, (_, i, original) in cells.items()
    }
    raw_id = read_cell("text", cells["id"][0]) if "id" in cells else ABSENT
    record_id = None if raw_id is ABSENT else str(raw_id)

    kind = default_kind
    if "kind" in cells and _filled(cells["kind"][0]):
        value = cells["kind"][0]
        kind = kind_named(value)
        if kind is None:
            problems.append(
                Problem(
                    label,
                    f"unknown record kind {value!r}; expected one of {kind_choices()} "
                    f"({where['kind']})",
                    line=number,
                    record_id=record_id,
                    field="kind",
                )
            )
            return None
    if kind is None:
        problems.append(
            Problem(
                label,
                f"no kind: fill the kind column ({kind_choices()})",
                line=number,
                record_id=record_id,
                field="kind",
            )
        )
        return None

    data: dict[str, Any] = {}
    failed: set[str] = set()
    for name, (value, _, _) in cells.items():
        if name == "kind":
            continue
        try:
            converted = read_cell(field_shape(kind, name), value)
        except CellError as exc:
            failed.add(name)
            problems.append(
                Problem(
                    label,
                    f"{exc} ({where[name]})",
                    line=number,
                    record_id=record_id,
                    field=name,
                )
            )
            continue
        if converted is not ABSENT:
            data[name] = converted
    return RawRecord(
        data=data,
        kind=kind,
        label=label,
        line=number,
        describe=lambda name: where.get(name.split(".", 1)[0], ""),
        failed_fields=frozenset(failed),
        unit="row",
    )


def _filled(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())

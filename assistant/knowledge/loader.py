"""Load knowledge files into validated records; a bad file is rejected whole, with every problem.

Staff bring knowledge as YAML, JSON, JSONL, CSV, XLSX or Markdown (docs/knowledge-schema.md);
the readers in :mod:`assistant.knowledge.formats` turn each into located raw records and this
module validates them all the same way, so every format reports errors alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.knowledge.formats import SUPPORTED_SUFFIXES, is_knowledge_file, read_file
from assistant.knowledge.formats.base import KnowledgeFileError, Problem, RawRecord
from assistant.knowledge.schema import RECORD_TYPES, Record

__all__ = [
    "SUPPORTED_SUFFIXES",
    "KnowledgeFileError",
    "Problem",
    "SourceFile",
    "knowledge_files",
    "load_file",
    "load_records",
    "load_sources",
]


@dataclass(frozen=True)
class SourceFile:
    """The records of one knowledge file, so callers know which file each record came from."""

    path: Path
    records: list[Record]


@dataclass
class _FileResult:
    path: Path
    records: list[Record]
    raws: list[RawRecord]
    problems: list[Problem]


def knowledge_files(directory: str | Path) -> list[Path]:
    """The knowledge files in ``directory`` (not recursive), in a stable order.

    Lock, swap, backup and hidden files (``~$x.xlsx``, ``.~lock.x.csv#``, ``x.swp``, ``.x``) are
    skipped, and a Markdown file counts only if its front matter declares ``kind:`` (so a
    README next to the data is not knowledge).
    """
    root = Path(directory)
    return sorted(p for p in root.iterdir() if is_knowledge_file(p))


def load_sources(source: str | Path | Iterable[str | Path]) -> list[SourceFile]:
    """Load and validate every file of a directory, one file, or a list of files, per file.

    Raises :class:`KnowledgeFileError` listing every problem of every bad file (file, line or
    spreadsheet row, record index and id, field). Loading is all-or-nothing: if any file is bad,
    nothing is returned, so a caller never syncs a half-read knowledge base (which would delete
    records). Ids must be unique across all files.
    """
    problems: list[Problem] = []
    loaded: list[_FileResult] = []
    for path in _resolve(source):
        result = _load_one(path)
        problems.extend(result.problems)
        loaded.append(result)
    problems.extend(_cross_file_problems(loaded))
    if problems:
        raise KnowledgeFileError(problems)
    return [SourceFile(result.path, result.records) for result in loaded]


def load_records(source: str | Path | Iterable[str | Path]) -> list[Record]:
    """Every record of :func:`load_sources`, in file order."""
    return [record for source_file in load_sources(source) for record in source_file.records]


def load_file(path: str | Path) -> list[Record]:
    """Load one knowledge file; see :func:`load_sources`."""
    return load_records([path])


def _resolve(source: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(source, str | Path):
        path = Path(source)
        return knowledge_files(path) if path.is_dir() else [path]
    return list(dict.fromkeys(Path(p) for p in source))


def _load_one(path: Path) -> _FileResult:
    parsed = read_file(path)
    problems = list(parsed.problems)
    records: list[Record] = []
    raws: list[RawRecord] = []
    for raw in parsed.records:
        record, record_problems = _validate(raw)
        problems.extend(record_problems)
        if record is not None:
            records.append(record)
            raws.append(raw)
    problems.extend(_duplicates_in_file(records, raws))
    if problems:
        return _FileResult(path, [], [], problems)
    return _FileResult(path, records, raws, [])


def _validate(raw: RawRecord) -> tuple[Record | None, list[Problem]]:
    """The record ``raw`` describes, or the problems that stop it, each at its line and field."""
    model = RECORD_TYPES[raw.kind]
    record_id = _id_text(raw.data.get("id"))
    try:
        record = model.model_validate({**raw.data, "kind": raw.kind})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            if loc and str(loc[0]) in raw.failed_fields:
                continue  # the cell's own problem is already reported
            message = _message(error)
            where = raw.describe(str(loc[0])) if raw.describe and loc else ""
            problems.append(
                Problem(
                    raw.label,
                    f"{message} ({where})" if where else message,
                    line=raw.line_of(loc),
                    index=raw.index,
                    record_id=record_id,
                    field=".".join(str(part) for part in loc) or None,
                )
            )
        return None, problems
    if raw.failed_fields:
        return None, []
    return record, []  # type: ignore[return-value]


def _message(error: Any) -> str:
    """Pydantic's message, made readable: no "Value error," prefix, the bad value shown."""
    if error["type"] == "missing":
        return "missing required field"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        shown = repr(value) if len(str(value)) <= 60 else repr(str(value)[:57] + "...")
        if str(value) not in message:
            message += f", got {shown}"
    return message


def _id_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value).strip()


def _duplicates_in_file(records: list[Record], raws: list[RawRecord]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, RawRecord] = {}
    for record, raw in zip(records, raws, strict=True):
        first = seen.get(record.id)
        if first is None:
            seen[record.id] = raw
            continue
        where = f"{first.unit} {first.line}"
        if first.label != raw.label:
            where = f"{first.label} {where}"
        problems.append(
            Problem(
                raw.label,
                f"duplicate id (also at {where})",
                line=raw.line,
                index=raw.index,
                record_id=record.id,
                field="id",
            )
        )
    return problems


def _cross_file_problems(loaded: list[_FileResult]) -> list[Problem]:
    """Checks that need every file: unique ids and promotions pointing at real products."""
    problems: list[Problem] = []
    owner: dict[str, tuple[Path, str]] = {}
    for result in loaded:
        for record, raw in zip(result.records, result.raws, strict=True):
            first = owner.setdefault(record.id, (result.path, raw.label))
            if first[0] != result.path:
                problems.append(
                    Problem(
                        raw.label,
                        f"duplicate id: already defined in {first[1]}",
                        line=raw.line,
                        index=raw.index,
                        record_id=record.id,
                        field="id",
                    )
                )

    product_ids = {r.id for res in loaded for r in res.records if r.kind == "product"}
    if not product_ids:
        # Promotions loaded without the product file cannot be checked here.
        return problems
    for result in loaded:
        for record, raw in zip(result.records, result.raws, strict=True):
            if record.kind != "promotion":
                continue
            for i, product_id in enumerate(record.product_ids):
                if product_id not in product_ids:
                    problems.append(
                        Problem(
                            raw.label,
                            f"unknown product id {product_id!r}",
                            line=raw.line_of(("product_ids", i)),
                            index=raw.index,
                            record_id=record.id,
                            field=f"product_ids.{i}",
                        )
                    )
    return problems

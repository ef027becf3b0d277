"""Load knowledge files into validated records; a bad file is rejected whole, with every problem."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from assistant.knowledge.schema import KINDS, RECORD_TYPES, Record

# JSON is a subset of YAML, so one parser (which also gives line numbers) serves both.
SUPPORTED_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a knowledge file, located as precisely as the file allows."""

    file: str
    message: str
    line: int | None = None
    index: int | None = None
    record_id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where]
        if self.index is not None:
            parts.append(f"records[{self.index}]")
        if self.record_id:
            parts.append(f"id={self.record_id}")
        if self.field:
            parts.append(f"field {self.field}")
        return " ".join(parts) + f": {self.message}"


class KnowledgeFileError(ValueError):
    """Raised when one or more knowledge files are invalid; nothing from them was loaded."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        self.files: list[str] = list(dict.fromkeys(p.file for p in self.problems))
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in {len(self.files)} knowledge file(s):\n{lines}"
        )


@dataclass
class _FileResult:
    records: list[Record]
    nodes: list[yaml.Node | None]
    problems: list[Problem]


def knowledge_files(directory: str | Path) -> list[Path]:
    """The knowledge files in ``directory`` (not recursive), in a stable order."""
    root = Path(directory)
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix in SUPPORTED_SUFFIXES)


def load_records(source: str | Path | Iterable[str | Path]) -> list[Record]:
    """Load and validate every record from a directory, one file, or a list of files.

    Raises :class:`KnowledgeFileError` listing every problem of every bad file (file, line,
    record index and id, field). Loading is all-or-nothing: if any file is bad, no records are
    returned, so a caller never syncs a half-read knowledge base (which would delete records).
    Ids must be unique across all files.
    """
    paths = _resolve(source)
    problems: list[Problem] = []
    loaded: list[tuple[Path, _FileResult]] = []
    for path in paths:
        result = _load_file(path)
        problems.extend(result.problems)
        loaded.append((path, result))
    problems.extend(_cross_file_problems(loaded))
    if problems:
        raise KnowledgeFileError(problems)
    return [record for _, result in loaded for record in result.records]


def load_file(path: str | Path) -> list[Record]:
    """Load one knowledge file; see :func:`load_records`."""
    return load_records([path])


def _resolve(source: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        return knowledge_files(path) if path.is_dir() else [path]
    return [Path(p) for p in source]


def _load_file(path: Path) -> _FileResult:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _FileResult([], [], [Problem(name, f"cannot read file: {exc}")])
    if not text.strip():
        # An empty file is most likely an editor caught mid-save; syncing it would delete
        # every record it used to hold.
        return _FileResult([], [], [Problem(name, "file is empty")])
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return _FileResult([], [], [Problem(name, f"not valid YAML/JSON: {exc}", line=line)])

    problems: list[Problem] = []
    if not isinstance(data, dict):
        return _FileResult([], [], [Problem(name, "expected a mapping with 'kind' and 'records'")])
    kind = data.get("kind")
    if kind not in KINDS:
        problems.append(
            Problem(name, f"'kind' must be one of {list(KINDS)}, got {kind!r}", field="kind")
        )
    raw_records = data.get("records")
    if raw_records is None:
        raw_records = []
        if "records" not in data:
            problems.append(Problem(name, "missing 'records' list", field="records"))
    if not isinstance(raw_records, list):
        problems.append(Problem(name, "'records' must be a list", field="records"))
        raw_records = []
    if problems:
        return _FileResult([], [], problems)

    record_nodes = _child(root, "records")
    model = RECORD_TYPES[kind]
    records: list[Record] = []
    nodes: list[yaml.Node | None] = []
    for index, raw in enumerate(raw_records):
        node = _item(record_nodes, index)
        line = _line(node)
        if not isinstance(raw, dict):
            problems.append(Problem(name, "a record must be a mapping", line=line, index=index))
            continue
        record_id = str(raw["id"]) if raw.get("id") is not None else None
        if raw.get("kind", kind) != kind:
            problems.append(
                Problem(
                    name,
                    f"record kind {raw['kind']!r} differs from the file's kind {kind!r}",
                    line=_line(_child(node, "kind")) or line,
                    index=index,
                    record_id=record_id,
                    field="kind",
                )
            )
            continue
        try:
            record = model.model_validate({**raw, "kind": kind})
        except ValidationError as exc:
            for error in exc.errors():
                loc = error["loc"]
                problems.append(
                    Problem(
                        name,
                        error["msg"],
                        line=_line(_walk(node, loc)) or line,
                        index=index,
                        record_id=record_id,
                        field=".".join(str(part) for part in loc) or None,
                    )
                )
            continue
        records.append(record)  # type: ignore[arg-type]
        nodes.append(node)

    seen: dict[str, int] = {}
    for record, node in zip(records, nodes, strict=True):
        if record.id in seen:
            problems.append(
                Problem(
                    name,
                    f"duplicate id (also at line {seen[record.id]})",
                    line=_line(node),
                    record_id=record.id,
                    field="id",
                )
            )
        seen.setdefault(record.id, _line(node) or 0)
    if problems:
        return _FileResult([], [], problems)
    return _FileResult(records, nodes, [])


def _cross_file_problems(loaded: list[tuple[Path, _FileResult]]) -> list[Problem]:
    """Checks that need every file: unique ids and promotions pointing at real products."""
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    for path, result in loaded:
        for record, node in zip(result.records, result.nodes, strict=True):
            if record.id in owner and owner[record.id] != str(path):
                problems.append(
                    Problem(
                        str(path),
                        f"duplicate id: already defined in {owner[record.id]}",
                        line=_line(node),
                        record_id=record.id,
                        field="id",
                    )
                )
            owner.setdefault(record.id, str(path))

    product_ids = {r.id for _, res in loaded for r in res.records if r.kind == "product"}
    if not product_ids:
        # Promotions loaded without the product file cannot be checked here.
        return problems
    for path, result in loaded:
        for record, node in zip(result.records, result.nodes, strict=True):
            if record.kind != "promotion":
                continue
            for i, product_id in enumerate(record.product_ids):
                if product_id not in product_ids:
                    problems.append(
                        Problem(
                            str(path),
                            f"unknown product id {product_id!r}",
                            line=_line(_walk(node, ("product_ids", i))) or _line(node),
                            record_id=record.id,
                            field=f"product_ids.{i}",
                        )
                    )
    return problems


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == key:
                return value_node
    return None


def _item(node: yaml.Node | None, index: int) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode) and 0 <= index < len(node.value):
        return node.value[index]
    return None


def _walk(node: yaml.Node | None, loc: Sequence[Any]) -> yaml.Node | None:
    """The YAML node at a pydantic error location, or the deepest ancestor that exists."""
    current = node
    for part in loc:
        nxt = _item(current, part) if isinstance(part, int) else _child(current, str(part))
        if nxt is None:
            return current
        current = nxt
    return current

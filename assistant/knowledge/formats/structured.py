"""YAML, JSON and JSONL knowledge: records written as mappings, located by line.

A YAML/JSON file is either ``{kind: faq, records: [...]}`` or a bare list of records that each
carry ``kind``; a JSONL file has one JSON record per line. When a record has no kind, the file
name gives it (``faqs.jsonl``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from assistant.knowledge.formats.base import (
    ParsedFile,
    Problem,
    RawRecord,
    kind_choices,
    kind_from_name,
    kind_named,
)
from assistant.knowledge.formats.text_encoding import read_knowledge_text
from assistant.knowledge.schema import KINDS


def read_yaml(path: Path) -> ParsedFile:
    """Read a YAML or JSON file (JSON is YAML, and the YAML parser gives line numbers)."""
    label = str(path)
    text = read_knowledge_text(path)
    if isinstance(text, ParsedFile):
        return text
    try:
        root, data = _parse_yaml(text)
    except yaml.YAMLError as exc:
        if path.suffix.lower() != ".json":
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            return ParsedFile(problems=[Problem(label, f"not valid YAML/JSON: {exc}", line=line)])
        # Some valid JSON (tab indentation) is not YAML: fall back to the JSON parser.
        try:
            root, data = None, json.loads(text)
        except json.JSONDecodeError as json_exc:
            return ParsedFile(
                problems=[
                    Problem(
                        label,
                        f"not valid JSON: {json_exc.msg} (column {json_exc.colno})",
                        line=json_exc.lineno,
                    )
                ]
            )
    file_kind = kind_from_name(path.stem)
    if isinstance(data, list):
        return _bare_list(data, root, label, file_kind)
    if not isinstance(data, dict):
        return ParsedFile(
            problems=[
                Problem(
                    label,
                    "expected a mapping with 'kind' and 'records', or a list of records",
                )
            ]
        )
    return _kind_and_records(data, root, label, file_kind)


def _parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def _kind_and_records(
    data: dict[str, Any], root: yaml.Node | None, label: str, file_kind: str | None
) -> ParsedFile:
    problems: list[Problem] = []
    kind = kind_named(data["kind"]) if "kind" in data else file_kind
    if kind is None:
        problems.append(
            Problem(
                label,
                f"'kind' must be one of {list(KINDS)}, got {data.get('kind')!r}",
                line=_line(_child(root, "kind")),
                field="kind",
            )
        )
    raw_records = data.get("records")
    if raw_records is None:
        raw_records = []
        if "records" not in data:
            problems.append(Problem(label, "missing 'records' list", field="records"))
    if not isinstance(raw_records, list):
        problems.append(
            Problem(label, "'records' must be a list", line=_line(_child(root, "records")))
        )
    if problems or kind is None:
        return ParsedFile(problems=problems)

    record_nodes = _child(root, "records")
    result = ParsedFile()
    for index, raw in enumerate(raw_records):
        node = _item(record_nodes, index)
        line = _line(node)
        if not isinstance(raw, dict):
            result.problems.append(
                Problem(label, "a record must be a mapping", line=line, index=index)
            )
            continue
        record_id = str(raw["id"]) if raw.get("id") is not None else None
        if "kind" in raw and kind_named(raw["kind"]) != kind:
            result.problems.append(
                Problem(
                    label,
                    f"record kind {raw['kind']!r} differs from the file's kind {kind!r}",
                    line=_line(_child(node, "kind")) or line,
                    index=index,
                    record_id=record_id,
                    field="kind",
                )
            )
            continue
        result.records.append(_raw_record(raw, kind, label, node, index))
    return result


def _bare_list(
    items: list[Any], root: yaml.Node | None, label: str, file_kind: str | None
) -> ParsedFile:
    result = ParsedFile()
    if not items:
        result.problems.append(Problem(label, "file is empty: the list has no records"))
    for index, raw in enumerate(items):
        node = _item(root, index)
        line = _line(node)
        if not isinstance(raw, dict):
            result.problems.append(
                Problem(label, "a record must be a mapping", line=line, index=index)
            )
            continue
        kind, problem = _record_kind(raw, file_kind)
        if problem:
            result.problems.append(
                Problem(
                    label,
                    problem,
                    line=_line(_child(node, "kind")) or line,
                    index=index,
                    record_id=str(raw["id"]) if raw.get("id") is not None else None,
                    field="kind",
                )
            )
            continue
        result.records.append(_raw_record(raw, kind, label, node, index))
    return result


def read_jsonl(path: Path) -> ParsedFile:
    """Read a JSON Lines file: one record object per line; blank lines are allowed."""
    label = str(path)
    text = read_knowledge_text(path)
    if isinstance(text, ParsedFile):
        return text
    file_kind = kind_from_name(path.stem)
    result = ParsedFile()
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            result.problems.append(
                Problem(label, f"not valid JSON: {exc.msg} (column {exc.colno})", line=number)
            )
            continue
        if not isinstance(raw, dict):
            result.problems.append(
                Problem(label, "each line must be one JSON object (a record)", line=number)
            )
            continue
        record_id = str(raw["id"]) if raw.get("id") is not None else None
        kind, problem = _record_kind(raw, file_kind)
        if problem:
            result.problems.append(
                Problem(label, problem, line=number, record_id=record_id, field="kind")
            )
            continue
        data = {k: v for k, v in raw.items() if k != "kind"}
        result.records.append(RawRecord(data=data, kind=kind, label=label, line=number))
    return result


def _record_kind(raw: dict[str, Any], file_kind: str | None) -> tuple[str, str | None]:
    """The kind of one record of a list: its own ``kind``, else the file name's."""
    if raw.get("kind") is not None:
        kind = kind_named(raw["kind"])
        if kind is None:
            return "", f"unknown record kind {raw['kind']!r}; expected one of {kind_choices()}"
        return kind, None
    if file_kind is None:
        return "", (
            f"record has no 'kind': give each record a kind ({kind_choices()}) "
            "or name the file after the kind (e.g. faqs.jsonl)"
        )
    return file_kind, None


def _raw_record(
    raw: dict[str, Any], kind: str, label: str, node: yaml.Node | None, index: int
) -> RawRecord:
    return RawRecord(
        data={k: v for k, v in raw.items() if k != "kind"},
        kind=kind,
        label=label,
        line=_line(node),
        index=index,
        locate=lambda loc: _line(_walk(node, loc)),
    )


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

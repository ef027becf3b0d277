"""Shared types of the format readers: located problems and records not yet validated.

Readers only turn bytes into field dicts and say where each came from; validation against the
schema happens once, in :mod:`assistant.knowledge.loader`, so every format reports errors the same
way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.knowledge.schema import KINDS


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


Locator = Callable[[Sequence[Any]], "int | None"]


@dataclass
class RawRecord:
    """One record as read from a file, before schema validation.

    ``kind`` is already resolved (from the record, sheet, front matter or file name).
    ``locate`` maps a pydantic error location to a line; ``describe`` adds where a field lives
    in the source (e.g. "column C '价格'") to messages about it.
    """

    data: dict[str, Any]
    kind: str
    label: str
    line: int | None = None
    index: int | None = None
    locate: Locator | None = None
    describe: Callable[[str], str] | None = None
    # Fields whose cell could not be converted; their problems are already reported.
    failed_fields: frozenset[str] = frozenset()
    # What ``line`` counts, for messages: "row" in spreadsheets, "line" in text files.
    unit: str = "line"

    def line_of(self, loc: Sequence[Any]) -> int | None:
        if self.locate is not None:
            found = self.locate(loc)
            if found is not None:
                return found
        return self.line


@dataclass
class ParsedFile:
    """What one reader made of one file: records to validate, or the problems that stop it."""

    records: list[RawRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class FileProblem(Exception):
    """A reader gives up on a whole file (unreadable, wrong shape); carries a located message."""

    def __init__(self, message: str, line: int | None = None, label: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.label = label


# Names staff give files and sheets for each kind. Every schema kind and its plural are accepted
# automatically, so a kind added to the schema works without touching this table.
KIND_ALIASES: dict[str, str] = {
    "products": "product",
    "商品": "product",
    "产品": "product",
    "faqs": "faq",
    "问答": "faq",
    "常见问题": "faq",
    "policies": "policy",
    "政策": "policy",
    "promotions": "promotion",
    "活动": "promotion",
}

_NAME_SPLIT = re.compile(r"[-_ .]+")


def kind_named(value: object) -> str | None:
    """The record kind a ``kind`` value or a name means ("Products", "问答"), or None."""
    if not isinstance(value, str):
        return None
    name = value.strip().lower()
    if name in KINDS:
        return name
    if name in KIND_ALIASES and KIND_ALIASES[name] in KINDS:
        return KIND_ALIASES[name]
    if name.endswith("s") and name[:-1] in KINDS:
        return name[:-1]
    return None


def kind_from_name(name: str) -> str | None:
    """The kind a file stem or sheet name implies: the whole name or its first word."""
    kind = kind_named(name)
    if kind is None:
        first = _NAME_SPLIT.split(name.strip(), maxsplit=1)[0]
        kind = kind_named(first)
    return kind


def kind_choices() -> str:
    """Human list of the accepted kinds, for error messages."""
    return ", ".join(KINDS)

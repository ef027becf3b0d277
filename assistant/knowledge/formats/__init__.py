"""Readers that turn each supported knowledge file format into located, unvalidated records.

One module per job: :mod:`.text_encoding` decodes bytes, :mod:`.structured` reads YAML/JSON/JSONL,
:mod:`.tabular` CSV/XLSX, :mod:`.markdown` Markdown FAQs and policies, :mod:`.cells` converts
spreadsheet cells. Validation against the schema happens in :mod:`assistant.knowledge.loader`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant.knowledge.formats.base import ParsedFile, Problem
from assistant.knowledge.formats.markdown import (
    MARKDOWN_SUFFIXES,
    is_knowledge_markdown,
    read_markdown,
)
from assistant.knowledge.formats.structured import read_jsonl, read_yaml
from assistant.knowledge.formats.tabular import read_csv, read_xlsx

READERS: dict[str, Callable[[Path], ParsedFile]] = {
    ".yaml": read_yaml,
    ".yml": read_yaml,
    ".json": read_yaml,
    ".jsonl": read_jsonl,
    ".csv": read_csv,
    ".tsv": read_csv,
    ".xlsx": read_xlsx,
    **{suffix: read_markdown for suffix in MARKDOWN_SUFFIXES},
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(READERS)

# Formats staff may drop in that cannot be read: listed, so they get advice instead of silence.
UNREADABLE_SUFFIXES: dict[str, str] = {
    ".xls": "old Excel .xls files are not supported: open it in Excel or WPS and save as .xlsx",
    ".xlsm": "macro workbooks (.xlsm) are not read: save a copy as .xlsx",
    ".numbers": "Numbers files are not read: export as .xlsx or CSV (UTF-8)",
}

# Editor swap files, Office/LibreOffice lock files and backups that sit next to open files.
_TEMP_PREFIXES = (".", "~", "#")
_TEMP_SUFFIXES = ("~", ".swp", ".swo", ".tmp", ".bak", ".part", ".crdownload")


def is_temporary(path: Path) -> bool:
    """Lock, swap, backup and hidden files: never knowledge, even with a knowledge suffix."""
    name = path.name
    return name.startswith(_TEMP_PREFIXES) or name.lower().endswith(_TEMP_SUFFIXES)


def is_knowledge_file(path: Path) -> bool:
    """Whether a file in a knowledge directory is meant as knowledge (see knowledge_files)."""
    if is_temporary(path) or not path.is_file():
        return False
    suffix = path.suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return is_knowledge_markdown(path)
    return suffix in READERS or suffix in UNREADABLE_SUFFIXES


def read_file(path: Path) -> ParsedFile:
    """Read one file with the reader its suffix names; an unknown suffix is a problem."""
    suffix = path.suffix.lower()
    if not path.exists():
        return ParsedFile(problems=[Problem(str(path), "file not found")])
    if suffix in UNREADABLE_SUFFIXES:
        return ParsedFile(problems=[Problem(str(path), UNREADABLE_SUFFIXES[suffix])])
    reader = READERS.get(suffix)
    if reader is None:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        return ParsedFile(
            problems=[
                Problem(str(path), f"unsupported file type {suffix or '(none)'!r}; use {supported}")
            ]
        )
    return reader(path)


__all__ = [
    "READERS",
    "SUPPORTED_SUFFIXES",
    "UNREADABLE_SUFFIXES",
    "is_knowledge_file",
    "is_temporary",
    "read_file",
]

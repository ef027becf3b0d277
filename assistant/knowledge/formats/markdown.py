"""Markdown knowledge: FAQs as question headings, policies and documents as titled sections.

Format (docs/knowledge-schema.md has the full description)::

    ---
    kind: faq              # or: policy, document
    category: shipping     # any other key is a default field of every record
    id_prefix: FAQ-SHIP    # optional; prefix of derived ids
    ---
    ## 多久发货？ {#FAQ-SHIP-1}
    付款后48小时内发货。

    ### en: When do you ship?
    Within 48 hours of payment.

A FAQ is a ``##`` heading (a policy or document: a ``#`` heading) and the text up to the next
such heading; a document file without any ``#`` heading is one document.
A sub-heading one level deeper starting with ``en:`` or ``zh:`` holds the other language's
question (title) and answer (body). The language of the record heading is detected: any Chinese
character means zh. ``{#ID}`` after a heading fixes the id; without it the id is derived from the
question text, so re-ingesting gives the same ids and editing one question changes only its id.
``{key=value}`` after a heading sets a field of that record (``{#F-1 category=returns}``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.knowledge.formats.base import (
    FileProblem,
    ParsedFile,
    Problem,
    RawRecord,
    kind_named,
)
from assistant.knowledge.formats.text_encoding import read_knowledge_text

MARKDOWN_SUFFIXES = (".md", ".markdown")

# Markdown kinds: the heading level of one record and the field names of its two parts.
_LAYOUT: dict[str, tuple[int, str, str]] = {
    "faq": (2, "question", "answer"),
    "policy": (1, "title", "body"),
    "document": (1, "title", "text"),
}
_ATTRS = re.compile(r"\s*\{([^{}]*)\}\s*$")
_LANG_PREFIX = re.compile(r"^\s*(zh|en|中文|英文)\s*[:：]\s*(.*)$", re.IGNORECASE)
_LANG_NAMES = {"zh": "zh", "en": "en", "中文": "zh", "英文": "en"}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_FRONT_KIND = re.compile(r"^kind\s*:", re.MULTILINE)
_TRAILING_PUNCT = "?？!！。.:："


def is_knowledge_markdown(path: Path) -> bool:
    """True when a Markdown file declares ``kind:`` in front matter; READMEs and notes are not."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    head = head.removeprefix(b"\xef\xbb\xbf")
    if not head.startswith(b"---"):
        return False
    front = head.split(b"\n---", 1)[0]
    return bool(_FRONT_KIND.search(front.decode("utf-8", errors="replace")))


def derived_id(prefix: str, question: str) -> str:
    """A stable id from the question text: same text (ignoring width, case, spacing) → same id."""
    text = unicodedata.normalize("NFKC", question).lower()
    text = "".join(text.split()).rstrip(_TRAILING_PUNCT)
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    return f"{prefix}-{digest}"


def language_of(text: str) -> str:
    """zh when the text has any Chinese character, else en."""
    return "zh" if _CJK.search(text) else "en"


@dataclass
class _Part:
    lang: str
    heading: str
    line: int  # 1-based line of the heading
    body_start: int  # 0-based index of the first body line
    body_end: int = 0


@dataclass
class _Section:
    attrs: dict[str, str]
    parts: list[_Part] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_markdown(path: Path) -> ParsedFile:
    """Read a Markdown FAQ, policy or document file; see the module docstring for the format."""
    label = str(path)
    text = read_knowledge_text(path)
    if isinstance(text, ParsedFile):
        return text
    lines = text.split("\n")
    try:
        front, body_start = _front_matter(lines)
    except FileProblem as exc:
        return ParsedFile(problems=[Problem(label, exc.message, line=exc.line)])
    kind = kind_named(front.get("kind"))
    if kind not in _LAYOUT:
        return ParsedFile(
            problems=[
                Problem(
                    label,
                    "Markdown holds FAQs (kind: faq), policies (kind: policy) or documents "
                    f"(kind: document), got kind {front.get('kind')!r}; write other records "
                    "as CSV, XLSX or YAML",
                    line=2,
                    field="kind",
                )
            ]
        )
    level, title_field, body_field = _LAYOUT[kind]
    prefix = str(front.get("id_prefix") or kind)
    defaults = {k: v for k, v in front.items() if k not in ("kind", "id_prefix")}
    sections = _sections(lines, body_start, level)
    result = ParsedFile()
    if not sections and kind == "document":
        # An article without a "# " heading is one document: the whole body is its text.
        body = "\n".join(lines[body_start:]).strip()
        data = {**defaults, f"text_{language_of(body)}": body}
        data.setdefault("id", derived_id(prefix, f"{path.stem}\n{data.get('title', '')}"))
        result.records.append(RawRecord(data=data, kind=kind, label=label, line=body_start + 1))
        return result
    if not sections:
        what = {"faq": "questions", "policy": "policies"}.get(kind, f"{kind}s")
        marks = "#" * level
        result.problems.append(
            Problem(label, f"no {what} found: write each one as a '{marks} ' heading")
        )
    for section in sections:
        first = section.parts[0]
        for message in section.problems:
            result.problems.append(Problem(label, message, line=first.line))
        data: dict[str, Any] = dict(defaults)
        data.update(section.attrs)
        record_id = data.pop("id", None) or derived_id(prefix, first.heading)
        field_lines: dict[str, int] = {}
        for part in section.parts:
            answer = "\n".join(lines[part.body_start : part.body_end]).strip()
            data[f"{title_field}_{part.lang}"] = part.heading
            data[f"{body_field}_{part.lang}"] = answer
            field_lines[f"{title_field}_{part.lang}"] = part.line
            field_lines[f"{body_field}_{part.lang}"] = part.line
        data["id"] = record_id
        result.records.append(
            RawRecord(
                data=data,
                kind=kind,
                label=label,
                line=first.line,
                locate=lambda loc, fl=field_lines: fl.get(str(loc[0])) if loc else None,
            )
        )
    return result


def _front_matter(lines: list[str]) -> tuple[dict[str, Any], int]:
    """The front matter mapping and the index of the first body line."""
    example = "---\nkind: faq\ncategory: shipping\n---"
    if not lines or lines[0].strip() != "---":
        raise FileProblem(
            f"a Markdown knowledge file must start with front matter naming its kind:\n{example}",
            line=1,
        )
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise FileProblem("front matter is not closed: add a '---' line after it", line=1)
    try:
        front = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise FileProblem(f"front matter is not valid YAML: {exc}", line=line) from exc
    if not isinstance(front, dict):
        raise FileProblem(f"front matter must be 'key: value' lines, e.g.\n{example}", line=2)
    return {str(k): v for k, v in front.items()}, end + 1


def _sections(lines: list[str], body_start: int, level: int) -> list[_Section]:
    """Split the body at record headings (markdown-it finds them, skipping code blocks)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse("\n".join(lines[body_start:]))
    headings: list[tuple[int, int, int, str]] = []  # level, first line, end line, text
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            start, end = token.map
            headings.append(
                (int(token.tag[1:]), body_start + start, body_start + end, tokens[i + 1].content)
            )
    sections: list[_Section] = []
    current: _Section | None = None
    for heading_level, start, end, text in headings:
        ends_part = heading_level <= level or (
            heading_level == level + 1 and _LANG_PREFIX.match(text) is not None
        )
        if ends_part and current is not None:
            current.parts[-1].body_end = start
        if heading_level < level:
            current = None
            continue
        if heading_level == level:
            heading, attrs, problems = _heading_attrs(text)
            current = _Section(attrs=attrs, problems=problems)
            current.parts.append(_Part(language_of(heading), heading, start + 1, end))
            sections.append(current)
        elif heading_level == level + 1 and current is not None:
            match = _LANG_PREFIX.match(text)
            if match is None:
                continue  # an ordinary sub-heading inside the answer
            lang = _LANG_NAMES[match.group(1).lower()]
            heading, attrs, problems = _heading_attrs(match.group(2))
            current.problems.extend(problems)
            if attrs:
                current.problems.append("put {…} attributes on the main heading only")
            if any(p.lang == lang for p in current.parts):
                current.problems.append(
                    f"two {lang} versions of one entry (line {start + 1}): the main heading "
                    f"is already {lang}; mark the other language's sub-heading"
                )
            current.parts.append(_Part(lang, heading, start + 1, end))
    if current is not None:
        current.parts[-1].body_end = len(lines)
    for section in sections:
        for part in section.parts:
            if not part.body_end:
                part.body_end = len(lines)
    return sections


def _heading_attrs(text: str) -> tuple[str, dict[str, str], list[str]]:
    """Split ``问题 {#ID key=value}`` into the heading text, its attributes and problems."""
    match = _ATTRS.search(text)
    if match is None:
        return text.strip(), {}, []
    attrs: dict[str, str] = {}
    problems: list[str] = []
    for token in match.group(1).split():
        if token.startswith("#") and len(token) > 1:
            attrs["id"] = token[1:]
        elif "=" in token and not token.startswith("="):
            key, value = token.split("=", 1)
            attrs[key.strip()] = value.strip().strip("\"'")
        else:
            problems.append(f"unknown heading attribute {token!r}: use {{#ID}} or {{key=value}}")
    return text[: match.start()].strip(), attrs, problems

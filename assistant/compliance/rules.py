"""The staff-edited wording rules (``compliance.yml``): load, validate, apply, reload on change.

A rule names a phrase (or a regex) the assistant must not say, what kind of problem it is, and
what to do: ``rewrite`` it to a replacement, or ``block`` the whole reply. ``exceptions`` are
longer phrases that contain a match but are fine ("最新", "第一次"): a match inside one of
them is left alone.

The file is data, not code: a bad file (invalid regex, unknown action, rewrite without a
replacement, duplicate id) is refused whole with a message naming the rule, and the rules in
force stay as they were.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

logger = logging.getLogger("assistant.compliance")

Action = Literal["rewrite", "block"]
Category = Literal["absolute_term", "medical_claim", "custom"]
RuleLanguage = Literal["zh", "en", "any"]

# Which script a text must contain for a rule in that language to be worth running.
_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


class ComplianceRulesError(ValueError):
    """``compliance.yml`` cannot be used; the message names the file and the rule."""


class _RawRule(BaseModel):
    """One rule as written in the file (checked field by field before it is compiled)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    pattern: str | list[str]
    regex: bool = False
    language: RuleLanguage = "any"
    category: Category = "custom"
    action: Action
    replacement: str | None = None
    exceptions: list[str] = Field(default_factory=list)
    enabled: bool = True
    note: str = ""


@dataclass(frozen=True)
class Finding:
    """One place in a text that a rule objects to."""

    rule_id: str
    category: str
    action: str
    start: int
    end: int
    matched: str
    # What it is rewritten to; None for a block.
    replacement: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "category": self.category,
            "action": self.action,
            "start": self.start,
            "end": self.end,
            "matched": self.matched,
            "replacement": self.replacement,
        }


class Subject:
    """One text being checked, with what every rule would otherwise work out again (lower
    case, which scripts it has), computed once and only when a rule asks."""

    __slots__ = ("text", "_lower", "_han", "_latin")

    def __init__(self, text: str) -> None:
        self.text = text
        self._lower: str | None = None
        self._han: bool | None = None
        self._latin: bool | None = None

    @property
    def lower(self) -> str:
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower

    @property
    def has_han(self) -> bool:
        if self._han is None:
            self._han = _HAN.search(self.text) is not None
        return self._han

    @property
    def has_latin(self) -> bool:
        if self._latin is None:
            self._latin = _LATIN.search(self.text) is not None
        return self._latin


@dataclass(frozen=True)
class Rule:
    """A compiled rule, ready to run on replies."""

    id: str
    pattern: re.Pattern[str]
    regex: bool
    language: RuleLanguage
    category: str
    action: Action
    replacement: str | None
    exceptions: tuple[str, ...]
    # Plain-phrase rules: the phrases in lower case. A substring test is far cheaper than a
    # case-insensitive regex scan, and almost every reply contains none of them.
    needles: tuple[str, ...] = ()

    def applies_to(self, subject: Subject) -> bool:
        """A Chinese rule needs Chinese characters in the text, an English one Latin letters;
        a phrase rule needs one of its phrases."""
        if self.language == "zh" and not subject.has_han:
            return False
        if self.language == "en" and not subject.has_latin:
            return False
        if self.needles:
            haystack = subject.lower if self.language != "zh" else subject.text
            return any(needle in haystack for needle in self.needles)
        return True

    def findings(self, text: str | Subject) -> list[Finding]:
        """Every match in ``text`` that no exception covers."""
        subject = text if isinstance(text, Subject) else Subject(text)
        text = subject.text
        if not self.applies_to(subject):
            return []
        matches = list(self.pattern.finditer(text))
        if not matches:
            return []
        covered = self._exception_spans(text) if self.exceptions else []
        found = []
        for match in matches:
            if match.end() == match.start():
                continue
            if any(s <= match.start() and match.end() <= e for s, e in covered):
                continue
            found.append(
                Finding(
                    self.id,
                    self.category,
                    self.action,
                    match.start(),
                    match.end(),
                    match.group(0),
                    self._replacement(match) if self.action == "rewrite" else None,
                )
            )
        return found

    def _exception_spans(self, text: str) -> list[tuple[int, int]]:
        # English exceptions compare case-insensitively, like English patterns.
        haystack = text.lower() if self.language != "zh" else text
        spans = []
        for phrase in self.exceptions:
            needle = phrase.lower() if self.language != "zh" else phrase
            start = haystack.find(needle)
            while start >= 0:
                spans.append((start, start + len(needle)))
                start = haystack.find(needle, start + 1)
        return spans

    def _replacement(self, match: re.Match[str]) -> str:
        assert self.replacement is not None
        # Regex rules may refer to groups (\1, \g<name>); a plain phrase is replaced literally.
        new = match.expand(self.replacement) if self.regex else self.replacement
        # "The best serum" -> "A great serum" at the start of a sentence.
        before = match.string[: match.start()].rstrip()
        starts_sentence = not before or before[-1] in ".!?。！？\n"
        if starts_sentence and match.group(0)[:1].isupper() and new[:1].islower():
            new = new[:1].upper() + new[1:]
        return new


@dataclass(frozen=True)
class RuleSet:
    """Every enabled rule of one version of the file, in file order."""

    rules: tuple[Rule, ...] = ()
    source: str = ""

    def __len__(self) -> int:
        return len(self.rules)


def _compile(raw: _RawRule) -> Rule:
    """Compile one validated rule; raises ValueError (the caller adds the rule's name)."""
    phrases = [raw.pattern] if isinstance(raw.pattern, str) else list(raw.pattern)
    if not phrases or any(not p.strip() for p in phrases):
        raise ValueError("pattern must not be empty")
    flags = re.IGNORECASE if raw.language != "zh" else 0
    if raw.regex:
        source = "|".join(f"(?:{p})" for p in phrases) if len(phrases) > 1 else phrases[0]
    else:
        # Plain English phrases match whole words only: "cure" is not in "secure".
        parts = []
        for phrase in phrases:
            escaped = re.escape(phrase)
            if raw.language != "zh":
                escaped = ("(?<![A-Za-z0-9])" if phrase[0].isalnum() else "") + escaped
                escaped += "(?![A-Za-z0-9])" if phrase[-1].isalnum() else ""
            parts.append(escaped)
        source = "|".join(parts)
    try:
        pattern = re.compile(source, flags)
    except re.error as problem:
        raise ValueError(f"invalid regex {source!r}: {problem}") from None
    if pattern.fullmatch(""):
        raise ValueError("pattern matches the empty text")
    if raw.action == "rewrite":
        if raw.replacement is None:
            raise ValueError("action 'rewrite' needs a replacement")
        if raw.regex:
            try:
                _check_template(pattern, raw.replacement)
            except (re.error, IndexError) as problem:
                raise ValueError(f"invalid replacement {raw.replacement!r}: {problem}") from None
    return Rule(
        id=raw.id,
        pattern=pattern,
        regex=raw.regex,
        language=raw.language,
        category=raw.category,
        action=raw.action,
        replacement=raw.replacement,
        exceptions=tuple(e for e in raw.exceptions if e),
        needles=()
        if raw.regex
        else tuple(p if raw.language == "zh" else p.lower() for p in phrases),
    )


def _check_template(pattern: re.Pattern[str], template: str) -> None:
    """Raise if ``template`` is not a valid replacement for ``pattern`` (bad escape, unknown
    group): templates are only parsed when a match is expanded, so expand one now on an
    empty-matching pattern with the same groups."""
    names = {index: name for name, index in pattern.groupindex.items()}
    groups = "".join(
        f"(?P<{names[i]}>)" if i in names else "()" for i in range(1, pattern.groups + 1)
    )
    dummy = re.compile(groups)
    match = dummy.match("")
    assert match is not None
    match.expand(template)


def parse_rules(data: Any, source: str = "compliance.yml") -> RuleSet:
    """Validate and compile the file's content; raises :class:`ComplianceRulesError`."""
    if data is None:
        return RuleSet((), source)
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        raise ComplianceRulesError(f"{source}: expected a mapping with a 'rules:' list")
    unknown = set(data) - {"version", "rules"}
    if unknown:
        raise ComplianceRulesError(f"{source}: unknown top-level key(s) {sorted(unknown)}")
    rules: list[Rule] = []
    seen: set[str] = set()
    for number, item in enumerate(data.get("rules") or [], start=1):
        name = str(item.get("id")) if isinstance(item, dict) and item.get("id") else "?"
        where = f"{source}: rule #{number} ({name!r})"
        if not isinstance(item, dict):
            raise ComplianceRulesError(f"{where}: expected a mapping")
        try:
            raw = _RawRule.model_validate(item)
        except ValidationError as problem:
            details = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'rule'}: {e['msg']}"
                for e in problem.errors()
            )
            raise ComplianceRulesError(f"{where}: {details}") from None
        if raw.id in seen:
            raise ComplianceRulesError(f"{where}: duplicate id")
        seen.add(raw.id)
        try:
            rule = _compile(raw)
        except ValueError as problem:
            raise ComplianceRulesError(f"{where}: {problem}") from None
        if raw.enabled:
            rules.append(rule)
    return RuleSet(tuple(rules), source)


def load_rules(path: Path) -> RuleSet:
    """Read and compile ``path``; raises :class:`ComplianceRulesError` naming what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as problem:
        raise ComplianceRulesError(f"{path}: not valid YAML: {problem}") from None
    except OSError as problem:
        raise ComplianceRulesError(f"{path}: cannot be read: {problem}") from None
    return parse_rules(data, str(path))


class RulesFile:
    """The rules of one file, reloaded when the file changes (looked at most once a second).

    A file that fails to load keeps the previous rules in force and is logged as an error;
    it is tried again only after it changes again. A missing file means no wording rules
    (personal data is still masked), and is picked up as soon as it appears.
    """

    def __init__(
        self,
        path: Path,
        *,
        check_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.check_every = check_every
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._checked_at = clock()
        self.last_error: str | None = None
        stamp = self._stat()
        if stamp is None:
            logger.warning(
                "compliance rules file not found: no wording rules in force",
                extra={"path": str(self.path)},
            )
            self._rules = RuleSet((), str(self.path))
        else:
            # At start a bad file is an error the operator sees at once: nothing to fall back to.
            self._rules = load_rules(self.path)
        self._stamp = stamp

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (info.st_mtime_ns, info.st_size)

    @property
    def rules(self) -> RuleSet:
        """The rules in force, after a reload if the file changed (at most one stat a second)."""
        now = self._clock()
        if now - self._checked_at >= self.check_every:
            with self._lock:
                if now - self._checked_at >= self.check_every:
                    self._checked_at = now
                    self._reload_if_changed()
        return self._rules

    def reload(self) -> RuleSet:
        """Look at the file now (tests, an admin action); returns the rules in force."""
        with self._lock:
            self._checked_at = self._clock()
            self._reload_if_changed()
        return self._rules

    def _reload_if_changed(self) -> None:
        stamp = self._stat()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        if stamp is None:
            # A file deleted by mistake must not silently switch the guard off.
            logger.error(
                "compliance rules file removed; the previous rules stay in force",
                extra={"path": str(self.path)},
            )
            return
        try:
            rules = load_rules(self.path)
        except ComplianceRulesError as problem:
            self.last_error = str(problem)
            logger.error(
                "compliance rules refused; the previous rules stay in force",
                extra={"path": str(self.path), "error": str(problem)},
            )
            return
        self._rules, self.last_error = rules, None
        logger.info(
            "compliance rules reloaded", extra={"path": str(self.path), "rules": len(rules)}
        )

"""The staff-edited ingredient rules (``ingredient_rules.yml``): load, validate, match products.

Three kinds of rule, all data rather than code (see the file's own header):

- **ingredient groups**: names matched against a product's INCI list and key actives;
- **conflicts**: two groups never in the same routine (same time of day);
- **cautions**: groups a shopper with a condition (pregnancy, sensitive skin, ...) must not get.

A bad file is refused whole with an :class:`IngredientRulesError` that names the file and the
line; :func:`rules_at` keeps the last good rules in force when a saved change is refused.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.advisor.products import field as rfield
from assistant.language import Language

logger = logging.getLogger("assistant.advisor")

# The conditions a caution can name: the catalogue's contraindication values.
CONDITIONS = frozenset({"pregnancy", "breastfeeding", "sensitive", "acne_prone"})
# Product fields whose explicit ``false`` puts a product in a group (``flag:``).
FLAGS = frozenset({"fragrance_free", "alcohol_free"})
_LINE = "__line__"
_PERCENT_BEFORE = re.compile(r"(\d+(?:\.\d+)?)\s*%\s*$")
# Parenthesised common names in INCI ("Cocos Nucifera (Coconut) Oil") are read as plain words.
_BRACKETS = re.compile(r"[()（）\[\]]")


class IngredientRulesError(ValueError):
    """``ingredient_rules.yml`` cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class IngredientMatch:
    """Where a group was found in a product: the name as the product writes it, and the
    strength its key actives state (None when not stated)."""

    found: str
    percent: float | None = None


@dataclass(frozen=True)
class IngredientGroup:
    """Ingredients that behave alike (retinoids, AHAs, fragrance ...)."""

    name: str
    zh: str
    en: str
    patterns: tuple[re.Pattern[str], ...]
    exceptions: tuple[str, ...] = ()
    flag: str | None = None

    def label(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en

    def find(self, product: Any) -> list[IngredientMatch]:
        """Every place this group occurs in ``product`` (empty: it does not contain it).

        The strength is the highest one the key actives state for this group, for every match:
        the INCI list names "Salicylic Acid" without saying the key active is "0.5% ...".
        """
        names: list[str] = []
        stated: list[float] = []
        for text, is_active in _ingredient_texts(product):
            lowered = _BRACKETS.sub(" ", text.lower())
            for pattern in self.patterns:
                for match in pattern.finditer(lowered):
                    if self._excepted(lowered, match):
                        continue
                    if text not in names:
                        names.append(text)
                    percent = _percent_before(lowered[: match.start()]) if is_active else None
                    if percent is not None:
                        stated.append(percent)
        if not names and self.flag and rfield(product, self.flag) is False:
            names.append("")  # the product says so itself; there is no name to quote
        strength = max(stated) if stated else None
        return [IngredientMatch(name, strength) for name in names]

    def _excepted(self, lowered: str, match: re.Match[str]) -> bool:
        for phrase in self.exceptions:
            start = lowered.find(phrase)
            while start >= 0:
                if start <= match.start() and match.end() <= start + len(phrase):
                    return True
                start = lowered.find(phrase, start + 1)
        return False


@dataclass(frozen=True)
class RuleHit:
    """Why a product is left out: the rule, what matched, and the reason in both languages."""

    rule_id: str
    found: str
    reason_zh: str
    reason_en: str

    def reason(self, language: Language) -> str:
        return self.reason_zh if language == "zh" else self.reason_en


@dataclass(frozen=True)
class ConflictRule:
    id: str
    groups: tuple[str, ...]
    with_groups: tuple[str, ...]
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class CautionRule:
    id: str
    when: frozenset[str]
    avoid: tuple[str, ...]
    reason_zh: str
    reason_en: str
    min_percent: float | None = None


@dataclass(frozen=True)
class IngredientRules:
    """One version of the rules file, ready to check products."""

    groups: Mapping[str, IngredientGroup]
    conflicts: tuple[ConflictRule, ...] = ()
    cautions: tuple[CautionRule, ...] = ()
    source: str = ""

    def contains(self, product: Any) -> dict[str, list[IngredientMatch]]:
        """The groups ``product`` contains, with where each was found."""
        found = {}
        for name, group in self.groups.items():
            matches = group.find(product)
            if matches:
                found[name] = matches
        return found

    def cautions_for(
        self, product: Any, conditions: Iterable[str], contains: Mapping[str, Any] | None = None
    ) -> list[RuleHit]:
        """Cautions that keep ``product`` from a shopper with ``conditions``.

        ``contains`` is :meth:`contains` of the product, when the caller already has it.
        """
        conditions = set(conditions)
        contains = self.contains(product) if contains is None else contains
        hits = []
        for rule in self.cautions:
            if not rule.when & conditions:
                continue
            for group in rule.avoid:
                strong = [m for m in contains.get(group, []) if _at_least(m, rule.min_percent)]
                if strong:
                    hits.append(RuleHit(rule.id, strong[0].found, rule.reason_zh, rule.reason_en))
                    break
        return hits

    def conflict(
        self, first: Mapping[str, Any], second: Mapping[str, Any]
    ) -> tuple[ConflictRule, str, str] | None:
        """The rule two products (given as their :meth:`contains`) break when used together,
        with the ingredient of each that clashes; None when they may share a routine."""
        for rule in self.conflicts:
            for a, b in ((first, second), (second, first)):
                left = next((g for g in rule.groups if g in a), None)
                right = next((g for g in rule.with_groups if g in b), None)
                if left and right:
                    return rule, a[left][0].found, b[right][0].found
        return None


def _at_least(match: IngredientMatch, minimum: float | None) -> bool:
    # An unstated strength counts as strong: the safe side for a caution.
    return minimum is None or match.percent is None or match.percent >= minimum


def _percent_before(text: str) -> float | None:
    found = _PERCENT_BEFORE.search(text)
    return float(found.group(1)) if found else None


def _inci_names(inci: str) -> list[str]:
    """Split an INCI list on commas that are not inside brackets."""
    names, depth, current = [], 0, []
    for char in inci:
        depth += char in "([（"
        depth -= char in ")]）"
        if char in ",，" and depth <= 0:
            names.append("".join(current))
            current, depth = [], 0
        else:
            current.append(char)
    names.append("".join(current))
    return [n.strip() for n in names if n.strip()]


def _ingredient_texts(product: Any) -> list[tuple[str, bool]]:
    """Each INCI name and each key active name (zh and en); True marks a key active, whose
    text may state a strength ("2% salicylic acid")."""
    texts = [(name, False) for name in _inci_names(str(rfield(product, "ingredients", "") or ""))]
    for active in rfield(product, "key_actives", []) or []:
        for language in ("en", "zh"):
            value = str(rfield(active, language, "") or "")
            if value:
                texts.append((value, True))
    return texts


def _name_pattern(name: str) -> re.Pattern[str]:
    """English names match whole words; Chinese (and mixed) names match anywhere."""
    phrase = _BRACKETS.sub(" ", name.lower()).strip()
    escaped = re.escape(phrase)
    if phrase.isascii():
        escaped = rf"(?<![a-z0-9]){escaped}(?![a-z0-9])"
    return re.compile(escaped)


# -- loading -----------------------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping, so errors can name it."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[_LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


class _Reader:
    """Reads one entry of the file, raising errors that name the file, line and entry."""

    def __init__(self, source: str, entry: Mapping[str, Any], where: str, allowed: set[str]):
        self.source, self.entry, self.where = source, entry, where
        unknown = sorted(str(k) for k in entry if k != _LINE and k not in allowed)
        if unknown:
            self.fail(f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")

    def fail(self, problem: str) -> None:
        line = self.entry.get(_LINE, "?")
        raise IngredientRulesError(f"{self.source}, line {line}: {self.where}: {problem}")

    def text(self, key: str) -> str:
        value = self.entry.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(f"'{key}' must be a non-empty text")
        return str(value).strip()

    def names(self, key: str, *, required: bool = True) -> tuple[str, ...]:
        value = self.entry.get(key, [] if not required else None)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or any(
            not isinstance(v, (str, int, float)) or not str(v).strip() for v in value
        ):
            self.fail(f"'{key}' must be a list of names")
        if required and not value:
            self.fail(f"'{key}' must not be empty")
        return tuple(str(v).strip() for v in value)


def parse_ingredient_rules(data: Any, source: str = "ingredient_rules.yml") -> IngredientRules:
    """Validate the parsed file; raises :class:`IngredientRulesError` naming the line."""
    if data is None:
        return IngredientRules({}, source=source)
    if not isinstance(data, dict):
        raise IngredientRulesError(f"{source}: expected a mapping with 'ingredients:'")
    top = _Reader(source, data, "top level", {"version", "ingredients", "conflicts", "cautions"})
    groups = _groups(source, data.get("ingredients") or {}, top)
    conflicts = tuple(_conflict(r, groups) for r in _entries(source, data, "conflicts", top))
    cautions = tuple(_caution(r, groups) for r in _entries(source, data, "cautions", top))
    for kind, rules in (("conflicts", conflicts), ("cautions", cautions)):
        ids = [rule.id for rule in rules]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate:
            top.fail(f"{kind}: duplicate id {duplicate!r}")
    return IngredientRules(groups, conflicts, cautions, source)


def _groups(source: str, raw: Any, top: _Reader) -> dict[str, IngredientGroup]:
    if not isinstance(raw, dict):
        top.fail("'ingredients' must be a mapping of group name to its names")
    groups = {}
    for name, entry in raw.items():
        if name == _LINE:
            continue
        if not isinstance(entry, dict):
            top.fail(f"ingredient group {name!r} must be a mapping")
        reader = _Reader(
            source, entry, f"ingredient group {name!r}", {"zh", "en", "names", "exceptions", "flag"}
        )
        flag = entry.get("flag")
        if flag is not None and flag not in FLAGS:
            reader.fail(f"'flag' must be one of {sorted(FLAGS)}, got {flag!r}")
        groups[str(name)] = IngredientGroup(
            name=str(name),
            zh=reader.text("zh"),
            en=reader.text("en"),
            patterns=tuple(_name_pattern(n) for n in reader.names("names")),
            exceptions=tuple(
                _BRACKETS.sub(" ", e.lower()) for e in reader.names("exceptions", required=False)
            ),
            flag=flag,
        )
    return groups


def _entries(source: str, data: dict[str, Any], key: str, top: _Reader) -> list[_Reader]:
    raw = data.get(key) or []
    if not isinstance(raw, list):
        top.fail(f"'{key}' must be a list of rules")
    readers = []
    for number, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            top.fail(f"{key} #{number} must be a mapping")
        name = entry.get("id") or "?"
        allowed = (
            {"id", "groups", "with", "reason_zh", "reason_en"}
            if key == "conflicts"
            else {"id", "when", "avoid", "min_percent", "reason_zh", "reason_en"}
        )
        readers.append(_Reader(source, entry, f"{key} #{number} ({name!r})", allowed))
    return readers


def _known_groups(reader: _Reader, key: str, groups: Mapping[str, IngredientGroup]) -> tuple:
    names = reader.names(key)
    unknown = [n for n in names if n not in groups]
    if unknown:
        reader.fail(f"'{key}' names unknown ingredient group(s) {unknown}")
    return names


def _conflict(reader: _Reader, groups: Mapping[str, IngredientGroup]) -> ConflictRule:
    return ConflictRule(
        id=reader.text("id"),
        groups=_known_groups(reader, "groups", groups),
        with_groups=_known_groups(reader, "with", groups),
        reason_zh=reader.text("reason_zh"),
        reason_en=reader.text("reason_en"),
    )


def _caution(reader: _Reader, groups: Mapping[str, IngredientGroup]) -> CautionRule:
    when = reader.names("when")
    unknown = sorted(set(when) - CONDITIONS)
    if unknown:
        reader.fail(f"'when' must name conditions from {sorted(CONDITIONS)}, got {unknown}")
    minimum = reader.entry.get("min_percent")
    if minimum is not None and (
        isinstance(minimum, bool) or not isinstance(minimum, (int, float)) or minimum <= 0
    ):
        reader.fail(f"'min_percent' must be a number above 0, got {minimum!r}")
    return CautionRule(
        id=reader.text("id"),
        when=frozenset(when),
        avoid=_known_groups(reader, "avoid", groups),
        reason_zh=reader.text("reason_zh"),
        reason_en=reader.text("reason_en"),
        min_percent=None if minimum is None else float(minimum),
    )


def load_ingredient_rules(path: Path) -> IngredientRules:
    """Read and check ``path``; raises :class:`IngredientRulesError` naming what is wrong."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as problem:
        line = problem.problem_mark.line + 1 if problem.problem_mark else "?"
        raise IngredientRulesError(
            f"{path}, line {line}: not valid YAML: {problem.problem}"
        ) from None
    except yaml.YAMLError as problem:
        raise IngredientRulesError(f"{path}: not valid YAML: {problem}") from None
    except OSError as problem:
        raise IngredientRulesError(f"{path}: cannot be read: {problem.strerror}") from None
    return parse_ingredient_rules(data, str(path))


_cache: dict[Path, tuple[tuple[int, int], IngredientRules]] = {}
_cache_lock = threading.Lock()


def rules_at(path: Path) -> IngredientRules:
    """The rules in ``path``, read again only when the file changed.

    A refused change keeps the last good rules in force (logged for staff); with no good
    version yet the error is raised, so no routine is built without its rules.
    """
    path = Path(path)
    try:
        info = os.stat(path)
        stamp = (info.st_mtime_ns, info.st_size)
    except OSError:
        stamp = (0, -1)
    with _cache_lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            rules = load_ingredient_rules(path)
        except IngredientRulesError as problem:
            if cached is None:
                raise
            logger.error(
                "ingredient rules refused; the previous rules stay in force",
                extra={"path": str(path), "error": str(problem)},
            )
            _cache[path] = (stamp, cached[1])
            return cached[1]
        _cache[path] = (stamp, rules)
        return rules

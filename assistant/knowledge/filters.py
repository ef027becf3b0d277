"""Shopper search filters as one Chroma ``where`` clause, evaluated identically for BM25."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date
from typing import Any

from assistant.knowledge import vocabulary
from assistant.knowledge.documents import (
    CONCERN_PREFIX,
    CONTRA_PREFIX,
    SKIN_PREFIX,
    TIME_PREFIX,
    Metadata,
)
from assistant.knowledge.schema import KINDS

Where = dict[str, Any]

FILTER_KEYS = (
    "category",
    "price_min",
    "price_max",
    "skin_type",
    "concern",
    "in_stock",
    "exclude_contraindications",
    "fragrance_free",
    "alcohol_free",
    "routine_step",
    "time_of_day",
    "active_on",
)


class FilterError(ValueError):
    """A filter key or value the knowledge base cannot apply."""


def _values(value: object, key: str, allowed: Collection[str] | None = None) -> list[str]:
    items = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    out = [str(v).strip().lower().replace("-", "_").replace(" ", "_") for v in items]
    if allowed is not None:
        unknown = [v for v in out if v not in allowed]
        if unknown:
            raise FilterError(f"{key}: unknown value(s) {unknown}; expected {sorted(allowed)}")
    return out


def _all_of(clauses: list[Where]) -> Where | None:
    # Chroma rejects "$and"/"$or" with fewer than two operands.
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _any_of(clauses: list[Where]) -> Where:
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FilterError(f"{key} must be a number, got {value!r}")
    return float(value)


def _flag(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise FilterError(f"{key} must be true or false, got {value!r}")
    return value


def build_where(
    filters: Mapping[str, Any] | None = None,
    kinds: Iterable[str] | None = None,
    metadata_keys: Collection[str] = (),
) -> Where | None:
    """Translate filters to a Chroma ``where`` clause (``None`` when nothing is filtered).

    Known keys: ``category`` (str or list: any of), ``price_min``/``price_max``, ``skin_type``
    (str or list: suits all of them), ``concern`` (str or list: any of), ``in_stock``,
    ``exclude_contraindications`` (list), ``fragrance_free``, ``alcohol_free``, ``routine_step``,
    ``time_of_day``, ``active_on`` (date or ISO string: promotions running that day). Any other
    key must be a metadata key the knowledge base holds (a record's extra field) and is matched
    by equality; anything else is a :class:`FilterError`, so a typo never filters silently.
    Product attributes match products only: no FAQ has a skin type.
    """
    clauses: list[Where] = []
    if kinds is not None:
        kind_list = _values(kinds, "kinds", KINDS)
        clauses.append(
            {"kind": {"$in": kind_list}} if len(kind_list) > 1 else {"kind": kind_list[0]}
        )
    for key, value in (filters or {}).items():
        if value is None:
            continue
        clauses.extend(_clauses(key, value, metadata_keys))
    return _all_of(clauses)


def _clauses(key: str, value: Any, metadata_keys: Collection[str]) -> list[Where]:
    if key == "category":
        cats = _values(value, key)
        return [{"category": {"$in": cats}} if len(cats) > 1 else {"category": cats[0]}]
    if key == "price_min":
        return [{"price": {"$gte": _number(value, key)}}]
    if key == "price_max":
        return [{"price": {"$lte": _number(value, key)}}]
    if key == "skin_type":
        skins = _values(value, key, vocabulary.SKIN_TYPES)
        return [{f"{SKIN_PREFIX}{s}": True} for s in skins]
    if key == "concern":
        concerns = _values(value, key, vocabulary.CONCERNS)
        return [_any_of([{f"{CONCERN_PREFIX}{c}": True} for c in concerns])]
    if key == "in_stock":
        return [{"in_stock": _flag(value, key)}]
    if key == "exclude_contraindications":
        contras = _values(value, key, vocabulary.CONTRAINDICATIONS)
        # Every document carries all contra_* flags (False when not flagged), so "$ne True"
        # keeps FAQs and policies and drops only flagged products.
        return [{f"{CONTRA_PREFIX}{c}": {"$ne": True}} for c in contras]
    if key in ("fragrance_free", "alcohol_free"):
        return [{key: _flag(value, key)}]
    if key == "routine_step":
        steps = _values(value, key, vocabulary.ROUTINE_STEPS)
        return [{"routine_step": {"$in": steps}} if len(steps) > 1 else {"routine_step": steps[0]}]
    if key == "time_of_day":
        times = _values(value, key, vocabulary.TIMES_OF_DAY)
        return [{f"{TIME_PREFIX}{t}": True} for t in times]
    if key == "active_on":
        day = date.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(day, date):
            raise FilterError(f"active_on must be a date, got {value!r}")
        stamp = day.year * 10000 + day.month * 100 + day.day
        return [{"starts": {"$lte": stamp}}, {"ends": {"$gte": stamp}}]
    if key in metadata_keys:
        if not isinstance(value, str | int | float | bool):
            raise FilterError(f"{key} must be a single value, got {value!r}")
        return [{key: value}]
    raise FilterError(f"unknown filter {key!r}; known: {', '.join(FILTER_KEYS)}")


def matches(where: Where | None, metadata: Metadata) -> bool:
    """Evaluate a ``where`` clause on one metadata dict exactly as Chroma does.

    Chroma semantics kept: a missing key fails ``$eq``, ``$in`` and comparisons, and passes
    ``$ne`` and ``$nin``.
    """
    if not where:
        return True
    for key, cond in where.items():
        if key == "$and":
            if not all(matches(c, metadata) for c in cond):
                return False
        elif key == "$or":
            if not any(matches(c, metadata) for c in cond):
                return False
        elif not _match_field(metadata, key, cond):
            return False
    return True


def _match_field(metadata: Metadata, key: str, cond: Any) -> bool:
    present = key in metadata
    value = metadata.get(key)
    if not isinstance(cond, dict):
        return present and _equal(value, cond)
    for op, operand in cond.items():
        if op == "$eq":
            ok = present and _equal(value, operand)
        elif op == "$ne":
            ok = not present or not _equal(value, operand)
        elif op == "$in":
            ok = present and any(_equal(value, o) for o in operand)
        elif op == "$nin":
            ok = not present or not any(_equal(value, o) for o in operand)
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            ok = present and _compare(value, op, operand)
        else:
            raise FilterError(f"unsupported operator {op!r}")
        if not ok:
            return False
    return True


def _equal(a: object, b: object) -> bool:
    # True == 1 in Python but not in Chroma: a bool only equals a bool.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def _compare(value: object, op: str, operand: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    number = float(value)
    target = float(operand)  # type: ignore[arg-type]
    if op == "$gt":
        return number > target
    if op == "$gte":
        return number >= target
    if op == "$lt":
        return number < target
    return number <= target

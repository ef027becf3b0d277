"""Shopper search filters as one Chroma ``where`` clause, evaluated identically for BM25."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np

from assistant.knowledge import vocabulary
from assistant.knowledge.documents import (
    CONCERN_PREFIX,
    CONTRA_PREFIX,
    SKIN_PREFIX,
    TIME_PREFIX,
    Metadata,
    MetadataValue,
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


class MetadataColumns:
    """Record metadata as typed numpy columns, so a ``where`` clause costs a few vector operations.

    :func:`matches` evaluates one metadata dict at a time, which at 100k records takes longer
    than the rest of a search. Here every key is a column over record slots (small integers the
    caller assigns, reused after a delete) and :meth:`mask` evaluates a clause for all slots at
    once, with :func:`matches`'s (Chroma's) semantics: a value is a bool, a number or a string,
    a bool equals only a bool, comparisons apply to numbers only, a missing key fails ``$eq``,
    ``$in`` and comparisons and passes ``$ne`` and ``$nin``.
    """

    def __init__(self) -> None:
        self._capacity = 0
        self._live = np.zeros(0, dtype=bool)
        self._columns: dict[str, _Column] = {}

    @property
    def capacity(self) -> int:
        return self._capacity

    def _grow(self, size: int) -> None:
        if size <= self._capacity:
            return
        capacity = max(size, 2 * self._capacity, 64)
        self._live = _resized(self._live, capacity, False)
        for column in self._columns.values():
            column.grow(capacity)
        self._capacity = capacity

    def set(self, slot: int, metadata: Metadata) -> None:
        """Store ``metadata`` for ``slot``, replacing whatever the slot held."""
        self._grow(slot + 1)
        if self._live[slot]:  # a slot that is not live holds no values (see clear)
            self.clear(slot)
        self._live[slot] = True
        for key, value in metadata.items():
            column = self._columns.get(key)
            if column is None:
                column = self._columns[key] = _Column(self._capacity)
            column.put(slot, value)

    def set_many(self, slots: Sequence[int], metadatas: Sequence[Metadata]) -> None:
        """:meth:`set` for many fresh slots at once (start-up): one array write per column."""
        if not slots:
            return
        self._grow(max(slots) + 1)
        for slot in slots:
            if self._live[slot]:
                self.clear(slot)
        index = np.asarray(slots, dtype=np.int64)
        self._live[index] = True
        by_key: dict[str, tuple[list[int], list[MetadataValue]]] = {}
        for slot, metadata in zip(slots, metadatas, strict=True):
            for key, value in metadata.items():
                at, values = by_key.setdefault(key, ([], []))
                at.append(slot)
                values.append(value)
        for key, (at, values) in by_key.items():
            column = self._columns.get(key)
            if column is None:
                column = self._columns[key] = _Column(self._capacity)
            column.put_many(at, values)

    def clear(self, slot: int) -> None:
        """Forget ``slot`` (its record was deleted); it matches nothing until set again."""
        if slot >= self._capacity:
            return
        self._live[slot] = False
        for column in self._columns.values():
            column.put(slot, None)

    def mask(self, where: Where | None) -> np.ndarray:
        """Boolean array over slots: True where a live record passes ``where``."""
        if not where:
            return self._live.copy()
        return self._eval(where) & self._live

    def _eval(self, where: Where) -> np.ndarray:
        result = np.ones(self._capacity, dtype=bool)
        for key, cond in where.items():
            if key == "$and":
                for clause in cond:
                    result &= self._eval(clause)
            elif key == "$or":
                any_of = np.zeros(self._capacity, dtype=bool)
                for clause in cond:
                    any_of |= self._eval(clause)
                result &= any_of
            else:
                result &= self._field(key, cond)
        return result

    def _field(self, key: str, cond: Any) -> np.ndarray:
        column = self._columns.get(key)
        if not isinstance(cond, dict):
            return self._equal(column, cond)
        result = np.ones(self._capacity, dtype=bool)
        for op, operand in cond.items():
            if op == "$eq":
                result &= self._equal(column, operand)
            elif op == "$ne":
                result &= ~self._equal(column, operand)
            elif op in ("$in", "$nin"):
                any_of = np.zeros(self._capacity, dtype=bool)
                for item in operand:
                    any_of |= self._equal(column, item)
                result &= any_of if op == "$in" else ~any_of
            elif op in ("$gt", "$gte", "$lt", "$lte"):
                result &= self._compare(column, op, operand)
            else:
                raise FilterError(f"unsupported operator {op!r}")
        return result

    def _equal(self, column: _Column | None, value: object) -> np.ndarray:
        if column is None:
            return np.zeros(self._capacity, dtype=bool)
        return column.equal(value)

    def _compare(self, column: _Column | None, op: str, operand: object) -> np.ndarray:
        target = float(operand)  # type: ignore[arg-type]
        if column is None or column.num is None:
            return np.zeros(self._capacity, dtype=bool)
        with np.errstate(invalid="ignore"):  # NaN (no number) compares False, as it should
            if op == "$gt":
                return column.num > target
            if op == "$gte":
                return column.num >= target
            if op == "$lt":
                return column.num < target
            return column.num <= target


class _Column:
    """One metadata key over all slots: a sub-array per value type, created when first needed.

    ``flag`` holds bools (-1: not a bool), ``num`` ints and floats (NaN: not a number), ``code``
    strings as indexes into ``strings`` (-1: not a string). A slot without the key has none.
    """

    __slots__ = ("code", "codes", "flag", "num", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.flag: np.ndarray | None = None
        self.num: np.ndarray | None = None
        self.code: np.ndarray | None = None
        self.codes: dict[str, int] = {}

    def grow(self, size: int) -> None:
        self.size = size
        if self.flag is not None:
            self.flag = _resized(self.flag, size, -1)
        if self.num is not None:
            self.num = _resized(self.num, size, np.nan)
        if self.code is not None:
            self.code = _resized(self.code, size, -1)

    def _flags(self) -> np.ndarray:
        if self.flag is None:
            self.flag = np.full(self.size, -1, dtype=np.int8)
        return self.flag

    def _nums(self) -> np.ndarray:
        if self.num is None:
            self.num = np.full(self.size, np.nan, dtype=np.float64)
        return self.num

    def _codes(self) -> np.ndarray:
        if self.code is None:
            self.code = np.full(self.size, -1, dtype=np.int32)
        return self.code

    def _string_code(self, value: str) -> int:
        code = self.codes.get(value)
        if code is None:
            code = self.codes[value] = len(self.codes)
        return code

    def put(self, slot: int, value: object) -> None:
        """Set one slot; ``None`` (or an unsupported type) leaves the key absent there."""
        if self.flag is not None:
            self.flag[slot] = -1
        if self.num is not None:
            self.num[slot] = np.nan
        if self.code is not None:
            self.code[slot] = -1
        if isinstance(value, bool):
            self._flags()[slot] = int(value)
        elif isinstance(value, int | float):
            self._nums()[slot] = float(value)
        elif isinstance(value, str):
            self._codes()[slot] = self._string_code(value)

    def put_many(self, slots: list[int], values: list[MetadataValue]) -> None:
        """Set fresh slots (nothing to reset first), one numpy write per value type."""
        flags: tuple[list[int], list[int]] = ([], [])
        nums: tuple[list[int], list[float]] = ([], [])
        codes: tuple[list[int], list[int]] = ([], [])
        for slot, value in zip(slots, values, strict=True):
            if isinstance(value, bool):
                flags[0].append(slot)
                flags[1].append(int(value))
            elif isinstance(value, int | float):
                nums[0].append(slot)
                nums[1].append(float(value))
            elif isinstance(value, str):
                codes[0].append(slot)
                codes[1].append(self._string_code(value))
        if flags[0]:
            self._flags()[flags[0]] = flags[1]
        if nums[0]:
            self._nums()[nums[0]] = nums[1]
        if codes[0]:
            self._codes()[codes[0]] = codes[1]

    def equal(self, value: object) -> np.ndarray:
        if isinstance(value, bool):
            if self.flag is None:
                return np.zeros(self.size, dtype=bool)
            return self.flag == int(value)
        if isinstance(value, int | float):
            if self.num is None:
                return np.zeros(self.size, dtype=bool)
            return self.num == float(value)
        if isinstance(value, str):
            code = self.codes.get(value)
            if code is None or self.code is None:
                return np.zeros(self.size, dtype=bool)
            return self.code == code
        return np.zeros(self.size, dtype=bool)


def _resized(array: np.ndarray, size: int, fill: object) -> np.ndarray:
    out = np.full(size, fill, dtype=array.dtype)
    out[: len(array)] = array
    return out

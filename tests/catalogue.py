"""The demo catalogue as the tests read it, to pick products by their facts, not by hard-coding."""

from __future__ import annotations

from functools import cache
from typing import Any

from assistant.config import REPO_ROOT
from assistant.knowledge.loader import load_records


@cache
def records() -> tuple[Any, ...]:
    return tuple(load_records(REPO_ROOT / "knowledge"))


def products(**criteria: Any) -> list[Any]:
    """Products whose fields equal ``criteria``; list fields match when they contain the value."""
    found = []
    for record in records():
        if getattr(record, "kind", None) != "product":
            continue
        ok = True
        for name, wanted in criteria.items():
            value = getattr(record, name)
            ok = ok and (wanted in value if isinstance(value, (list, tuple)) else value == wanted)
        if ok:
            found.append(record)
    return found


def product_names_in(text: str) -> list[Any]:
    """Products named (in zh or en) in a reply."""
    return [p for p in products() if p.name_zh in text or p.name_en in text]


def record(record_id: str) -> Any:
    return next(r for r in records() if r.id == record_id)

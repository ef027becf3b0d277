"""Read shopper-facing facts off a product record in the shopper's language."""

from __future__ import annotations

from typing import Any

from assistant.language import Language
from assistant.vocabulary import CATEGORY_BY_VALUE, CONCERN_BY_VALUE, SKIN_TYPE_BY_VALUE, display


def field(record: Any, name: str, default: Any = None) -> Any:
    """A record field whether the record is a model object or a plain mapping."""
    if isinstance(record, dict):
        return record.get(name, default)
    return getattr(record, name, default)


def localized(record: Any, name: str, language: Language) -> str:
    """``name_zh`` / ``name_en`` style field in ``language``, falling back to the other one."""
    other: Language = "en" if language == "zh" else "zh"
    return str(field(record, f"{name}_{language}") or field(record, f"{name}_{other}") or "")


def product_name(product: Any, language: Language) -> str:
    return localized(product, "name", language)


def joined(values: list[str], language: Language) -> str:
    return ("、" if language == "zh" else ", ").join(values)


def skin_types_text(product: Any, language: Language) -> str:
    values = [display(v, language, SKIN_TYPE_BY_VALUE) for v in field(product, "skin_types", [])]
    return joined(values, language)


def concerns_text(product: Any, language: Language) -> str:
    values = [display(v, language, CONCERN_BY_VALUE) for v in field(product, "concerns", [])]
    return joined(values, language)


def category_text(category: str, language: Language) -> str:
    return display(category, language, CATEGORY_BY_VALUE)


def actives_text(product: Any, language: Language, *, with_benefit: bool = True) -> str:
    """Key actives with what each does, e.g. "烟酰胺(控油、提亮)"."""
    parts = []
    for active in field(product, "key_actives", []) or []:
        name = str(field(active, language, ""))
        benefit = field(active, f"benefit_{language}", "") if with_benefit else ""
        if not benefit:
            parts.append(name)
        elif language == "zh":
            parts.append(f"{name}({benefit})")
        else:
            parts.append(f"{name} ({benefit})")
    return joined(parts, language)


def in_stock(product: Any) -> bool:
    return int(field(product, "stock", 0) or 0) > 0

"""Skin consultation: pick 1-3 products for a shopper's profile, never against their conditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.advisor.answers import Advisor, Knowledge
from assistant.advisor.products import field as rfield
from assistant.advisor.products import in_stock, joined, localized, product_name
from assistant.language import Language
from assistant.texts import text
from assistant.vocabulary import CONCERN_BY_VALUE, SKIN_TYPE_BY_VALUE, display

# Order in which a routine is built; one product per step keeps the suggestion a routine.
_STEP_ORDER = ("treat", "cleanse", "moisturize", "protect")


@dataclass(frozen=True)
class SkinProfile:
    """What the consultation form learned about the shopper."""

    skin_type: str
    concerns: tuple[str, ...]
    sensitive: bool
    pregnant_or_nursing: bool

    def avoided(self) -> set[str]:
        """Contraindication values a product must not carry for this shopper."""
        avoid: set[str] = set()
        if self.pregnant_or_nursing:
            avoid |= {"pregnancy", "breastfeeding"}
        if self.sensitive or self.skin_type == "sensitive":
            avoid.add("sensitive")
        if "acne" in self.concerns:
            avoid.add("acne_prone")
        return avoid

    def describe(self, language: Language) -> str:
        parts = [display(self.skin_type, language, SKIN_TYPE_BY_VALUE)]
        parts += [display(c, language, CONCERN_BY_VALUE) for c in self.concerns if c != "general"]
        if self.sensitive and self.skin_type != "sensitive":
            parts.append("易敏感" if language == "zh" else "easily irritated")
        if self.pregnant_or_nursing:
            parts.append("孕期/哺乳期" if language == "zh" else "pregnant or breastfeeding")
        return joined(parts, language)


@dataclass
class Recommendation:
    """Products chosen for a profile, and those left out because they would not suit."""

    text: str
    product_ids: list[str] = field(default_factory=list)
    excluded_ids: list[str] = field(default_factory=list)


def recommend(
    knowledge: Knowledge, profile: SkinProfile, language: Language, *, limit: int = 3
) -> Recommendation:
    """Choose up to ``limit`` products for ``profile`` with a reason from each product's data."""
    avoid = profile.avoided()
    scored: list[tuple[float, Any]] = []
    excluded: list[Any] = []
    for product in knowledge.records("product"):
        skin_match = profile.skin_type in (rfield(product, "skin_types", []) or [])
        concern_hits = len(set(profile.concerns) & set(rfield(product, "concerns", []) or []))
        if not skin_match and not concern_hits:
            continue
        if avoid & set(rfield(product, "contraindications", []) or []):
            if concern_hits:
                excluded.append(product)
            continue
        if not in_stock(product):
            continue
        scored.append((2.0 * concern_hits + (1.0 if skin_match else 0.0), product))
    scored.sort(key=lambda sp: -sp[0])

    chosen: list[Any] = []
    for step in _STEP_ORDER:
        best = next((p for s, p in scored if rfield(p, "routine_step") == step and s > 1.0), None)
        if best is not None and len(chosen) < limit:
            chosen.append(best)
    for _, product in scored:
        if len(chosen) >= limit:
            break
        if product not in chosen:
            chosen.append(product)

    if not chosen:
        return Recommendation(text("nothing_matches", language))
    lines = [text("recommend_intro", language, profile=profile.describe(language))]
    for n, product in enumerate(chosen, 1):
        reason = Advisor.reason(product, language, [profile.skin_type], list(profile.concerns))
        lines.append(
            text(
                "recommend_item",
                language,
                n=n,
                name=product_name(product, language),
                price=float(rfield(product, "price")),
                reason=reason,
            )
        )
    if excluded:
        names = [
            f"{product_name(p, language)}({localized(p, 'caution', language)})"
            if language == "zh"
            else f"{product_name(p, language)} ({localized(p, 'caution', language)})"
            for p in excluded[:3]
        ]
        lines.append(text("excluded_note", language, names=joined(names, language)))
    return Recommendation(
        "\n".join(lines),
        [str(rfield(p, "id")) for p in chosen],
        [str(rfield(p, "id")) for p in excluded],
    )

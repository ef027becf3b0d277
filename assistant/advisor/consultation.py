"""Skin consultation: what the shopper told us about their skin, as the routine builder reads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.advisor.products import joined
from assistant.language import Language
from assistant.vocabulary import CONCERN_BY_VALUE, SKIN_TYPE_BY_VALUE, display

# Concerns of skin that clogs easily: comedogenic ingredients are kept away from it.
_CLOGGING_CONCERNS = frozenset({"acne", "blackheads"})


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
        if _CLOGGING_CONCERNS & set(self.concerns):
            avoid.add("acne_prone")
        return avoid

    @property
    def specific_concerns(self) -> tuple[str, ...]:
        """The concerns the shopper named ("general" means none in particular)."""
        return tuple(c for c in self.concerns if c != "general")

    def as_dict(self) -> dict[str, Any]:
        """The profile as plain data, for a Rasa slot."""
        return {
            "skin_type": self.skin_type,
            "concerns": list(self.concerns),
            "sensitive": self.sensitive,
            "pregnant_or_nursing": self.pregnant_or_nursing,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SkinProfile:
        """The profile :meth:`as_dict` wrote (missing answers read as "not said")."""
        concerns = data.get("concerns") or ["general"]
        if isinstance(concerns, str):
            concerns = [concerns]
        return cls(
            skin_type=str(data.get("skin_type") or "normal"),
            concerns=tuple(str(c) for c in concerns),
            sensitive=bool(data.get("sensitive")),
            pregnant_or_nursing=bool(data.get("pregnant_or_nursing")),
        )

    def describe(self, language: Language) -> str:
        parts = [display(self.skin_type, language, SKIN_TYPE_BY_VALUE)]
        parts += [display(c, language, CONCERN_BY_VALUE) for c in self.concerns if c != "general"]
        if self.sensitive and self.skin_type != "sensitive":
            parts.append("易敏感" if language == "zh" else "easily irritated")
        if self.pregnant_or_nursing:
            parts.append("孕期/哺乳期" if language == "zh" else "pregnant or breastfeeding")
        return joined(parts, language)

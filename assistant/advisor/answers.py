"""Answer a shopper's product or FAQ question with facts from the knowledge base, or say so."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import jieba

from assistant.advisor.products import (
    actives_text,
    category_text,
    concerns_text,
    in_stock,
    joined,
    localized,
    product_name,
    skin_types_text,
)
from assistant.advisor.products import (
    field as rfield,
)
from assistant.advisor.questions import QuestionMatcher
from assistant.language import Language
from assistant.texts import text
from assistant.vocabulary import (
    CATEGORIES,
    CONCERN_BY_VALUE,
    CONTRAINDICATION_BY_VALUE,
    SKIN_TYPE_BY_VALUE,
    display,
    find_categories,
    find_concerns,
    find_contraindications,
    find_skin_types,
)


class Knowledge(Protocol):
    """What the advisor needs from a knowledge base."""

    def search(
        self,
        query: str,
        k: int = 5,
        filters: dict[str, Any] | None = None,
        kinds: list[str] | None = None,
    ) -> list[Any]: ...

    def get(self, record_id: str) -> Any | None: ...

    def records(self, kind: str) -> list[Any]: ...


@dataclass(frozen=True)
class Thresholds:
    """Cosine similarities (query vs. record) below which a hit is not trusted as relevant."""

    product: float = 0.80
    faq: float = 0.91


@dataclass
class KnowledgeAnswer:
    """A reply built from knowledge records; ``known`` is False when nothing relevant was found."""

    text: str
    known: bool
    product_ids: list[str] = field(default_factory=list)
    source_ids: list[str] = field(default_factory=list)


_ASPECTS: dict[str, re.Pattern[str]] = {
    "price": re.compile(r"多少钱|价格|价钱|几块|多少米|贵不贵|售价|how much|price|cost|\$|¥", re.I),
    "ingredients": re.compile(r"成分|含有|含不含|有没有含|配方|ingredient|contain|formula", re.I),
    "usage": re.compile(
        r"怎么用|用法|如何使用|使用方法|使用顺序|用量|早上用|晚上用|"
        r"how (do|to|should) (i )?use|how often|morning|night|when (do|should)",
        re.I,
    ),
    "stock": re.compile(
        r"有货|缺货|库存|还有吗|补货|卖完|in stock|available|sold out|restock", re.I
    ),
    "size": re.compile(r"容量|多大|几ml|几毫升|多少ml|多少克|规格|size|how big|\bml\b", re.I),
    "free_of": re.compile(r"香精|酒精|无香|无酒精|香味|fragrance|alcohol|perfume|scent", re.I),
    "suits": re.compile(
        r"适合|适不适合|合适|能用|可以用|能不能用|suit|good for|work for|ok for|"
        r"okay for|safe for|can i use",
        re.I,
    ),
}
_LIST_QUESTION = re.compile(
    r"有没有|有哪些|哪款|哪个|哪一款|推荐|求推|什么.{0,4}(好|适合)|用什么|用啥|"
    r"\bany\b|which|recommend|suggest|what .{0,20}(for|should)|do you (have|sell)",
    re.I,
)
_DEICTIC = re.compile(r"这款|这个|这瓶|这支|那款|那个|它|\bit\b|\bthis\b|\bthat\b|this one", re.I)
_CATEGORY_WORDS = {p for t in CATEGORIES for p in t.phrases}
_NAME_STOPWORDS = {"the", "and", "with", "for", "of", "lanyu", "澜屿", "spf", "pa"}


def _name_tokens(product: Any) -> set[str]:
    """Distinctive words of a product's names: what a shopper would say to mean this one."""
    tokens: set[str] = set()
    for word in jieba.cut(str(rfield(product, "name_zh", ""))):
        word = word.strip().lower()
        if len(word) >= 2 and word not in _CATEGORY_WORDS:
            tokens.add(word)
    for word in re.findall(r"[a-z0-9+]+", str(rfield(product, "name_en", "")).lower()):
        if len(word) >= 3 and word not in _NAME_STOPWORDS and word not in _CATEGORY_WORDS:
            tokens.add(word)
    return tokens


def _named_tokens(question: str, product: Any) -> int:
    """How many distinctive name words of ``product`` the question contains (whole words in en)."""
    lowered = question.lower()
    count = 0
    for token in _name_tokens(product):
        if token.isascii():
            count += bool(re.search(rf"(?<![a-z0-9]){re.escape(token)}(?![a-z0-9])", lowered))
        else:
            count += token in lowered
    if str(rfield(product, "name_zh", "")) in question or (
        str(rfield(product, "name_en", "")).lower() in lowered
    ):
        count += 2  # the full name: unmistakable
    return count


class Advisor:
    """Composes answers from knowledge records; never states a fact the records do not hold."""

    def __init__(self, knowledge: Knowledge, thresholds: Thresholds | None = None) -> None:
        self.knowledge = knowledge
        self.thresholds = thresholds or Thresholds()
        self.questions = QuestionMatcher(knowledge)

    def answer(
        self, question: str, language: Language, *, context_product_id: str | None = None
    ) -> KnowledgeAnswer:
        """Answer a product question, a "which product for …" question, or an FAQ."""
        aspects = [name for name, pattern in _ASPECTS.items() if pattern.search(question)]
        named, strength = self._named_product(question)
        listing = self._looks_like_product_search(question)
        if named is not None and (strength >= 2 or not listing):
            return self._product_facts(named, aspects, question, language)
        context = self._context_product(question, context_product_id)
        if context is not None:
            return self._product_facts(context, aspects, question, language)
        if listing:
            return self._product_list(question, language)
        if named is not None:
            return self._product_facts(named, aspects, question, language)
        return self.answer_from_faq(question, language)

    def answer_from_faq(self, question: str, language: Language) -> KnowledgeAnswer:
        """The answer of the FAQ (or policy) asked in other words, or an honest "not known"."""
        match = self.questions.best(question)
        if match is not None and match.similarity >= self.thresholds.faq:
            record = match.record
            body = localized(record, "answer", language) or localized(record, "body", language)
            return KnowledgeAnswer(body, True, source_ids=[str(rfield(record, "id"))])
        return KnowledgeAnswer(text("not_known", language), False)

    # -- which product is meant ---------------------------------------------------------

    def _named_product(self, question: str) -> tuple[Any | None, int]:
        """The relevant product whose name the question uses most, and how many name words."""
        categories = find_categories(question)
        best, best_key = None, (0, False, 0)
        hits = self.knowledge.search(question, k=5, kinds=["product"])
        for rank, hit in enumerate(hits):
            if hit.similarity < self.thresholds.product:
                continue
            strength = _named_tokens(question, hit.record)
            in_category = rfield(hit.record, "category") in categories
            key = (strength, in_category, -rank)
            if strength and key > best_key:
                best, best_key = hit.record, key
        return best, best_key[0]

    def _context_product(self, question: str, context_product_id: str | None) -> Any | None:
        """The product discussed just before, when the shopper says "this one"."""
        if not context_product_id or not _DEICTIC.search(question):
            return None
        product = self.knowledge.get(context_product_id)
        categories = find_categories(question)
        if product is None or (categories and rfield(product, "category") not in categories):
            return None
        return product

    @staticmethod
    def _looks_like_product_search(question: str) -> bool:
        named = find_categories(question) or find_skin_types(question) or find_concerns(question)
        return bool(named) and (
            bool(_LIST_QUESTION.search(question))
            or bool(find_contraindications(question))
            or bool(_DEICTIC.search(question))
        )

    # -- one product --------------------------------------------------------------------

    def _product_facts(
        self, product: Any, aspects: list[str], question: str, language: Language
    ) -> KnowledgeAnswer:
        name = product_name(product, language)
        lines: list[str] = []
        conditions = find_contraindications(question)
        if conditions:
            lines.extend(self._condition_lines(product, conditions, language))
        if "price" in aspects or "size" in aspects:
            lines.append(
                text(
                    "price",
                    language,
                    name=name,
                    price=float(rfield(product, "price")),
                    size=rfield(product, "size", ""),
                )
            )
        if "stock" in aspects:
            lines.append(text("stock_in" if in_stock(product) else "stock_out", language))
        if "ingredients" in aspects and "free_of" not in aspects:
            lines.append(
                text(
                    "ingredients",
                    language,
                    name=name,
                    actives=actives_text(product, language),
                    ingredients=rfield(product, "ingredients", ""),
                )
            )
        if "free_of" in aspects:
            lines.append(self._free_of_line(product, language))
        if "usage" in aspects:
            lines.append(
                text("usage", language, name=name, usage=localized(product, "usage", language))
            )
        if ("suits" in aspects and not conditions) or find_skin_types(question):
            lines.append(
                text(
                    "suits",
                    language,
                    name=name,
                    skin_types=skin_types_text(product, language),
                    concerns=concerns_text(product, language),
                )
            )
        if not lines:
            lines.append(
                text(
                    "overview",
                    language,
                    name=name,
                    price=float(rfield(product, "price")),
                    size=rfield(product, "size", ""),
                    description=localized(product, "description", language),
                )
            )
            if not in_stock(product):
                lines.append(text("stock_out", language))
        product_id = str(rfield(product, "id"))
        return KnowledgeAnswer("\n".join(lines), True, [product_id], [product_id])

    @staticmethod
    def _condition_lines(product: Any, conditions: list[str], language: Language) -> list[str]:
        name = product_name(product, language)
        flagged = set(rfield(product, "contraindications", []) or [])
        caution = localized(product, "caution", language)
        lines = []
        for condition in conditions:
            label = display(condition, language, CONTRAINDICATION_BY_VALUE)
            if condition in flagged:
                key = "not_for" if condition in ("pregnancy", "breastfeeding") else "not_for_skin"
                lines.append(text(key, language, name=name, condition=label, caution=caution))
            else:
                lines.append(text("safe_for", language, name=name, condition=label))
        return lines

    @staticmethod
    def _free_of_line(product: Any, language: Language) -> str:
        fragrance_free = bool(rfield(product, "fragrance_free", False))
        alcohol_free = bool(rfield(product, "alcohol_free", False))
        if language == "zh":
            fragrance = "无添加香精" if fragrance_free else "含香精"
            alcohol = "不含酒精" if alcohol_free else "含酒精"
        else:
            fragrance = "fragrance-free" if fragrance_free else "fragranced"
            alcohol = "alcohol-free" if alcohol_free else "contains alcohol"
        return text(
            "free_of",
            language,
            name=product_name(product, language),
            fragrance=fragrance,
            alcohol=alcohol,
        )

    # -- several products -----------------------------------------------------------------

    def _product_list(self, question: str, language: Language) -> KnowledgeAnswer:
        categories = find_categories(question)
        skin_types = find_skin_types(question)
        concerns = find_concerns(question)
        conditions = [
            c for c in find_contraindications(question) if c in ("pregnancy", "breastfeeding")
        ]
        if "sensitive" in skin_types or "sensitive" in find_contraindications(question):
            conditions.append("sensitive")
        candidates = [
            p
            for p in self.knowledge.records("product")
            if (not categories or rfield(p, "category") in categories)
            and (not skin_types or set(skin_types) & set(rfield(p, "skin_types", []) or []))
            and (not concerns or set(concerns) & set(rfield(p, "concerns", []) or []))
        ]
        if not candidates:
            return KnowledgeAnswer(text("nothing_matches", language), False)
        ranked = self._rank_by_question(question, candidates)
        safe = [p for p in ranked if not set(conditions) & set(rfield(p, "contraindications", []))]
        unsafe = [p for p in ranked if p not in safe]
        lines: list[str] = []
        if conditions and any(c in ("pregnancy", "breastfeeding") for c in conditions):
            label = joined(
                [
                    display(c, language, CONTRAINDICATION_BY_VALUE)
                    for c in conditions
                    if c != "sensitive"
                ],
                language,
            )
            category = (
                category_text(categories[0], language)
                if categories
                else ("产品" if language == "zh" else "products")
            )
            if safe:
                lines.append(
                    text(
                        "safe_list",
                        language,
                        condition=label,
                        category=category,
                        names=joined([product_name(p, language) for p in safe[:5]], language),
                    )
                )
            if unsafe:
                lines.append(
                    text(
                        "unsafe_list",
                        language,
                        condition=label,
                        names=joined([product_name(p, language) for p in unsafe[:5]], language),
                    )
                )
            shown = safe[:5]
        else:
            shown = [p for p in safe if in_stock(p)][:3] or safe[:3]
            if not shown:
                return KnowledgeAnswer(text("nothing_matches", language), False)
            lines.append(text("list_intro", language))
            for p in shown:
                lines.append(
                    text(
                        "list_item",
                        language,
                        name=product_name(p, language),
                        price=float(rfield(p, "price")),
                        size=rfield(p, "size", ""),
                        reason=self.reason(p, language, skin_types, concerns),
                    )
                )
        ids = [str(rfield(p, "id")) for p in shown]
        return KnowledgeAnswer("\n".join(lines), True, ids, ids)

    def _rank_by_question(self, question: str, candidates: list[Any]) -> list[Any]:
        """Order candidates by the knowledge base's own relevance to the question."""
        ids = {str(rfield(p, "id")) for p in candidates}
        order = [
            h.id for h in self.knowledge.search(question, k=50, kinds=["product"]) if h.id in ids
        ]
        position = {pid: i for i, pid in enumerate(order)}
        return sorted(candidates, key=lambda p: position.get(str(rfield(p, "id")), len(position)))

    @staticmethod
    def reason(product: Any, language: Language, skin_types: list[str], concerns: list[str]) -> str:
        """Why this product fits, from its own data: matched skin type/concerns and key actives."""
        parts = []
        matched_skin = [s for s in skin_types if s in (rfield(product, "skin_types", []) or [])]
        matched_concerns = [c for c in concerns if c in (rfield(product, "concerns", []) or [])]
        if matched_skin:
            label = joined(
                [display(s, language, SKIN_TYPE_BY_VALUE) for s in matched_skin], language
            )
            parts.append(f"适合{label}" if language == "zh" else f"suits {label}")
        if matched_concerns:
            label = joined(
                [display(c, language, CONCERN_BY_VALUE) for c in matched_concerns], language
            )
            parts.append(f"针对{label}" if language == "zh" else f"targets {label}")
        actives = actives_text(product, language)
        if actives:
            parts.append(
                f"核心成分{actives}" if language == "zh" else f"key ingredients: {actives}"
            )
        return (",".join(parts) if language == "zh" else "; ".join(parts)) or localized(
            product, "description", language
        )

"""A record as per-language passages to embed, bilingual text for BM25, and filter metadata."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date

from assistant.knowledge import vocabulary
from assistant.knowledge.schema import (
    Faq,
    Policy,
    Product,
    Promotion,
    Record,
    TextDocument,
    record_to_dict,
)

# Bump when passages or metadata change layout: every record then counts as changed and is
# re-embedded on the next sync, so stored vectors never mix two layouts.
DOCUMENT_VERSION = "2"

MetadataValue = str | int | float | bool
Metadata = dict[str, MetadataValue]

SKIN_PREFIX, CONCERN_PREFIX, CONTRA_PREFIX, TIME_PREFIX = "skin_", "concern_", "contra_", "time_"

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# A section longer than this is cut at sentence ends. The unit is roughly one model token (see
# _size): multilingual-e5-small reads 512 tokens and truncates the rest, so a section this
# long, with its title and the "passage: " prefix, stays within the window.
MAX_SECTION_SIZE = 400
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.:])\s+")
# Han characters, CJK punctuation and full-width forms: text that runs on without spaces.
_CJK_CHAR = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_SIZE_UNIT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+")


@dataclass(frozen=True)
class Passage:
    """One embedded unit: a single language, well under the model's 512-token window.

    ``key`` names the passage within its record ("zh", "en", "zh.1" for a policy's second
    section); the vector store keeps one vector per passage.
    """

    key: str
    lang: str
    text: str


@dataclass(frozen=True)
class Document:
    """What the indexes see of one record.

    ``passages`` are embedded, one language each: multilingual-e5-small ranked the demo
    products clearly better against one-language passages (best of zh and en) than against
    one mixed passage (dense MRR on product queries zh 0.94 vs 0.77, en 0.86 vs 0.77), and a
    record still meets queries in both languages. ``text`` holds the record's facts in both
    languages (passages plus usage); BM25 indexes it together with ``keywords``: synonyms,
    INCI lists, ids and codes, exact terms that would only dilute an embedding.
    """

    id: str
    kind: str
    title_zh: str
    title_en: str
    passages: tuple[Passage, ...]
    text: str
    metadata: Metadata = field(default_factory=dict)
    keywords: str = ""

    @property
    def sparse_text(self) -> str:
        """What BM25 indexes. Titles come once more: a name is the strongest exact match, and
        without the extra weight a short FAQ that mentions a product outranked the product.
        A record with one title for both languages gets it once, like every other record."""
        titles = list(dict.fromkeys([self.title_zh, self.title_en]))
        return _join([*titles, self.text, self.keywords])


def content_hash(record: Record) -> str:
    """Hash of everything in a record (and the layout): equal hash, nothing to do."""
    payload = json.dumps(record_to_dict(record), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(f"{DOCUMENT_VERSION}\n{payload}".encode()).hexdigest()


def text_hash(document: Document, model_name: str) -> str:
    """Hash of the embedded passages and the model: equal hash, stored vectors are still right."""
    body = "\x1e".join(f"{p.key}\x1f{p.text}" for p in document.passages)
    return hashlib.sha256(f"{model_name}\n{body}".encode()).hexdigest()


def build_document(record: Record) -> Document:
    """The :class:`Document` for any kind of record."""
    if isinstance(record, Product):
        passages, extra_text, keywords, metadata = _product(record)
    elif isinstance(record, Faq):
        passages, extra_text, keywords, metadata = _faq(record)
    elif isinstance(record, Policy):
        passages, extra_text, keywords, metadata = _policy(record)
    elif isinstance(record, Promotion):
        passages, extra_text, keywords, metadata = _promotion(record)
    elif isinstance(record, TextDocument):
        passages, extra_text, keywords, metadata = _document(record)
    else:  # pragma: no cover - the Record union is closed
        raise TypeError(f"unsupported record type {type(record).__name__}")
    metadata = {**_extra_metadata(record, metadata), **metadata}
    text = _join([*(p.text for p in passages), extra_text])
    return Document(
        id=record.id,
        kind=record.kind,
        title_zh=record.title("zh"),
        title_en=record.title("en"),
        passages=tuple(passages),
        text=text,
        metadata=metadata,
        keywords=_join([record.id, keywords]).replace("\n", " "),
    )


def base_metadata(kind: str) -> Metadata:
    """Flags every document carries, so exclusion filters (``$ne``) behave alike on all kinds."""
    meta: Metadata = {"kind": kind}
    meta.update({f"{CONTRA_PREFIX}{c}": False for c in vocabulary.CONTRAINDICATIONS})
    return meta


def _first_words(table: dict[str, vocabulary.Words], keys: list[str]) -> tuple[str, str]:
    """The main zh and en word of each value: what the embedded passages say."""
    return "、".join(table[k].zh[0] for k in keys), ", ".join(table[k].en[0] for k in keys)


def _all_words(table: dict[str, vocabulary.Words], keys: list[str]) -> str:
    """Every synonym of each value: BM25 only, a dense model already knows synonyms."""
    return " ".join(w for k in keys for w in (*table[k].zh, *table[k].en))


def _join(lines: list[str | None]) -> str:
    return "\n".join(line for line in lines if line)


def _labelled(label: str, body: str) -> str | None:
    return f"{label}{body}" if body else None


def _passages(zh: str, en: str) -> list[Passage]:
    return [Passage(lang, lang, text) for lang, text in (("zh", zh), ("en", en)) if text]


def active_aliases(product: Product) -> list[str]:
    """Nicknames ("维C", "A醇") for the product's actives, so shopper slang finds them."""
    found: list[str] = []
    for active in product.key_actives:
        names = f"{active.zh} {active.en}".lower()
        for needle, words in vocabulary.ACTIVE_ALIASES.items():
            if needle in names:
                found.extend((*words.zh, *words.en))
    return list(dict.fromkeys(found))


def _product(p: Product) -> tuple[list[Passage], str, str, Metadata]:
    cat_zh, cat_en = _first_words(vocabulary.PRODUCT_CATEGORIES, [p.category])
    skin_zh, skin_en = _first_words(vocabulary.SKIN_TYPES, p.skin_types)
    concern_zh, concern_en = _first_words(vocabulary.CONCERNS, p.concerns)
    contra_zh, contra_en = _first_words(vocabulary.CONTRAINDICATIONS, p.contraindications)
    time_zh, time_en = _first_words(vocabulary.TIMES_OF_DAY, p.time_of_day)
    # Usage stays out of the passages: it is alike across a category ("massage over damp
    # skin") and lowered dense ranking on the demo products (zh MRR 0.91 -> 0.84).
    zh = ""
    if p.name_zh or p.description_zh:
        zh = _join(
            [
                f"{p.name_zh or p.name_en}（{cat_zh}）¥{p.price:g} {p.size}".strip(),
                _labelled(
                    "成分：",
                    "；".join(
                        f"{a.zh}（{a.benefit_zh}）" if a.benefit_zh else a.zh
                        for a in p.key_actives
                        if a.zh
                    ),
                ),
                _labelled("适合：", skin_zh),
                _labelled("改善：", concern_zh),
                _labelled(
                    "特点：",
                    "，".join(
                        x
                        for x in (
                            "无香精" if p.fragrance_free else "",
                            "无酒精" if p.alcohol_free else "",
                        )
                        if x
                    ),
                ),
                _labelled("注意：", " ".join(x for x in (contra_zh, p.caution_zh) if x)),
                p.description_zh,
            ]
        )
    en = ""
    # Facts alone ("For: oily skin") make a poor passage: each language needs its own words.
    if p.name_en or p.description_en:
        en = _join(
            [
                f"{p.name_en or p.name_zh} ({cat_en}) ¥{p.price:g} {p.size}".strip(),
                _labelled(
                    "Actives: ",
                    "; ".join(
                        f"{a.en} ({a.benefit_en})" if a.benefit_en else a.en
                        for a in p.key_actives
                        if a.en
                    ),
                ),
                _labelled("For: ", skin_en),
                _labelled("Helps with: ", concern_en),
                _labelled(
                    "Features: ",
                    ", ".join(
                        x
                        for x in (
                            "fragrance-free" if p.fragrance_free else "",
                            "alcohol-free" if p.alcohol_free else "",
                        )
                        if x
                    ),
                ),
                _labelled("Caution: ", " ".join(x for x in (contra_en, p.caution_en) if x)),
                p.description_en,
            ]
        )
    extra = _join(
        [
            _labelled("使用时间 When: ", f"{time_zh} {time_en}".strip()),
            _labelled("用法：", p.usage_zh),
            _labelled("How to use: ", p.usage_en),
        ]
    )
    keywords = " ".join(
        [
            _all_words(vocabulary.PRODUCT_CATEGORIES, [p.category]),
            _all_words(vocabulary.SKIN_TYPES, p.skin_types),
            _all_words(vocabulary.CONCERNS, p.concerns),
            _all_words(vocabulary.TIMES_OF_DAY, p.time_of_day),
            _all_words(vocabulary.CONTRAINDICATIONS, p.contraindications),
            " ".join(active_aliases(p)),
            p.ingredients,
        ]
    )
    return _passages(zh, en), extra, keywords, _product_metadata(p)


def _product_metadata(p: Product) -> Metadata:
    meta = base_metadata("product")
    meta.update(
        {"category": p.category, "price": float(p.price), "in_stock": p.in_stock, "size": p.size}
    )
    if p.stock is not None:
        meta["stock"] = p.stock
    if p.routine_step:
        meta["routine_step"] = p.routine_step
    # Unknown (None) stays absent so "fragrance_free: True" never matches an unstated product.
    if p.fragrance_free is not None:
        meta["fragrance_free"] = p.fragrance_free
    if p.alcohol_free is not None:
        meta["alcohol_free"] = p.alcohol_free
    # One boolean per canonical value: the filter form both Chroma (embedded and server) and
    # the BM25-side evaluator handle the same way.
    meta.update({f"{SKIN_PREFIX}{s}": s in p.skin_types for s in vocabulary.SKIN_TYPES})
    meta.update({f"{CONCERN_PREFIX}{c}": c in p.concerns for c in vocabulary.CONCERNS})
    meta.update(
        {f"{CONTRA_PREFIX}{c}": c in p.contraindications for c in vocabulary.CONTRAINDICATIONS}
    )
    meta.update({f"{TIME_PREFIX}{t}": t in p.time_of_day for t in vocabulary.TIMES_OF_DAY})
    return meta


def _faq(f: Faq) -> tuple[list[Passage], str, str, Metadata]:
    passages = _passages(_join([f.question_zh, f.answer_zh]), _join([f.question_en, f.answer_en]))
    meta = base_metadata("faq")
    meta["category"] = f.category
    return passages, "", f.category, meta


def _size(text: str) -> int:
    """Roughly the model tokens ``text`` takes, erring high: one per Han character, and one per
    three characters of any other word (XLM-R cuts "(L-ascorbic" into several pieces)."""
    return sum(1 if _CJK_CHAR.match(u) else -(-len(u) // 3) for u in _SIZE_UNIT.findall(text))


def _split_long(part: str, budget: int) -> list[str]:
    """``part`` cut at sentence ends into pieces of at most ``budget`` units (a sentence longer
    than that is cut between units)."""
    if _size(part) <= budget:
        return [part]
    pieces: list[str] = []
    current = ""
    for sentence in (s.strip() for s in _SENTENCE_END.split(part)):
        for chunk in _hard_split(sentence, budget) if sentence else ():
            joined = _glue(current, chunk)
            if current and _size(joined) > budget:
                pieces.append(current)
                joined = chunk
            current = joined
    return [*pieces, current] if current else pieces


def _hard_split(sentence: str, budget: int) -> list[str]:
    """A sentence longer than ``budget`` cut between words (between characters in Chinese)."""
    if _size(sentence) <= budget:
        return [sentence]
    chunks: list[str] = []
    chunk = ""
    width = 3 * budget  # a "word" longer than the budget itself (a URL, a base64 blob) is cut
    words = _SIZE_UNIT.findall(sentence)
    for unit in (w[i : i + width] for w in words for i in range(0, len(w), width)):
        joined = _glue(chunk, unit)
        if chunk and _size(joined) > budget:
            chunks.append(chunk)
            joined = unit
        chunk = joined
    return [*chunks, chunk] if chunk else chunks


def _glue(left: str, right: str) -> str:
    """Join two runs of text: with a space between words, directly next to Chinese script."""
    if not left:
        return right
    if _CJK_CHAR.match(left[-1]) or _CJK_CHAR.match(right[:1]):
        return left + right
    return f"{left} {right}"


def _sections(title: str, body: str) -> list[str]:
    """A long text split at blank lines, each section led by the title for context.

    A section still longer than :data:`MAX_SECTION_SIZE` is cut at sentence ends, so no part
    of it is lost to the model's truncation.
    """
    budget = max(MAX_SECTION_SIZE - _size(title), MAX_SECTION_SIZE // 2)
    parts = [s.strip() for s in _PARAGRAPH_BREAK.split(body) if s.strip()]
    parts = [piece for part in parts for piece in _split_long(part, budget)]
    return [_join([title, part]) for part in parts] or ([title] if title else [])


def _sectioned_passages(texts: tuple[tuple[str, str, str], ...]) -> list[Passage]:
    """Passages ``zh``, ``zh.1``, ... ``en``, ``en.1`` for ``(lang, title, body)`` triples."""
    passages: list[Passage] = []
    for lang, title, body in texts:
        if not (title or body):
            continue
        for i, section in enumerate(_sections(title, body)):
            passages.append(Passage(lang if i == 0 else f"{lang}.{i}", lang, section))
    return passages


def _policy(p: Policy) -> tuple[list[Passage], str, str, Metadata]:
    # Policies run to thousands of characters: one passage per section keeps each within the
    # model's window, and the record ranks by its best-matching section.
    passages = _sectioned_passages((("zh", p.title_zh, p.body_zh), ("en", p.title_en, p.body_en)))
    meta = base_metadata("policy")
    meta["category"] = p.category
    return passages, "", p.category, meta


def _document(d: TextDocument) -> tuple[list[Passage], str, str, Metadata]:
    # Sectioned like a policy: a long article is found by its best-matching section.
    passages = _sectioned_passages((("zh", d.title_zh, d.text_zh), ("en", d.title_en, d.text_en)))
    meta = base_metadata("document")
    if d.category:
        meta["category"] = d.category
    return passages, "", d.category or "", meta


def _date_int(day: date) -> int:
    # Chroma compares numbers, not dates: 2025-11-18 -> 20251118 keeps the order.
    return day.year * 10000 + day.month * 100 + day.day


def _promotion(p: Promotion) -> tuple[list[Passage], str, str, Metadata]:
    zh = ""
    if p.title_zh or p.body_zh:
        zh = _join(
            [
                p.title_zh,
                p.body_zh,
                f"活动时间：{p.starts.isoformat()} 至 {p.ends.isoformat()}",
                _labelled("优惠码：", p.code),
            ]
        )
    en = ""
    if p.title_en or p.body_en:
        en = _join(
            [
                p.title_en,
                p.body_en,
                f"Dates: {p.starts.isoformat()} to {p.ends.isoformat()}",
                _labelled("Code: ", p.code),
            ]
        )
    meta = base_metadata("promotion")
    meta.update({"starts": _date_int(p.starts), "ends": _date_int(p.ends), "code": p.code})
    if p.product_ids:
        meta["product_ids"] = ",".join(p.product_ids)
    return _passages(zh, en), "", " ".join((p.code, *p.product_ids)), meta


def _extra_metadata(record: Record, reserved: Metadata) -> Metadata:
    """A record's unknown fields as metadata: scalars as-is, lists of scalars comma-joined."""
    meta: Metadata = {}
    for key, value in record.extra_fields.items():
        if key in reserved or not key or key.startswith(("_", "#", "chroma:")):
            continue
        if key in ("record_id", "lang", "title_zh", "title_en"):  # per-row keys the store writes
            continue
        if isinstance(value, bool | int | float | str):
            meta[key] = value
        elif isinstance(value, date):
            meta[key] = value.isoformat()
        elif isinstance(value, list) and all(
            isinstance(v, bool | int | float | str) for v in value
        ):
            meta[key] = ",".join(str(v) for v in value)
    return meta

"""Typed, validated knowledge records: products, FAQs, policies and promotions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from assistant.knowledge import vocabulary

Kind = Literal["product", "faq", "policy", "promotion", "document"]
KINDS: tuple[Kind, ...] = ("product", "faq", "policy", "promotion", "document")

# Ids end up in Chroma, URLs and log lines: keep them to one plain token.
RecordId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
]
Text = Annotated[str, StringConstraints(strip_whitespace=True)]


def _slug(value: object) -> object:
    """Normalise "Sun Protection" / "acne-prone" to the canonical slug spelling."""
    if isinstance(value, str):
        return value.strip().lower().replace("-", "_").replace(" ", "_")
    return value


def _canonical(allowed: Mapping[str, vocabulary.Words], what: str):
    """Validator accepting a canonical value or a word staff write for it ("油皮", "洁面")."""
    allowed_set = frozenset(allowed)
    aliases = _aliases(allowed)

    def check(value: str) -> str:
        if value in allowed_set:
            return value
        if value in aliases:
            return aliases[value]
        raise ValueError(f"unknown {what} {value!r}; expected one of {sorted(allowed_set)}")

    return check


def _aliases(table: Mapping[str, vocabulary.Words]) -> dict[str, str]:
    """Every unambiguous zh/en word of a vocabulary table -> its canonical value."""
    owners: dict[str, set[str]] = {}
    for canonical, words in table.items():
        for word in (*words.zh, *words.en):
            owners.setdefault(str(_slug(word)), set()).add(canonical)
    return {word: next(iter(found)) for word, found in owners.items() if len(found) == 1}


def _as_list(value: object) -> object:
    """Staff often write a single value where a list is expected; accept it."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _expand_all_skin_types(value: object) -> object:
    """``skin_types: [all]`` means every skin type; spelling all five out is error-prone."""
    value = _as_list(value)
    if isinstance(value, list) and any(_slug(v) == "all" for v in value):
        return list(vocabulary.SKIN_TYPES)
    return value


SkinType = Annotated[
    str, BeforeValidator(_slug), AfterValidator(_canonical(vocabulary.SKIN_TYPES, "skin type"))
]
Concern = Annotated[
    str, BeforeValidator(_slug), AfterValidator(_canonical(vocabulary.CONCERNS, "concern"))
]
Contraindication = Annotated[
    str,
    BeforeValidator(_slug),
    AfterValidator(_canonical(vocabulary.CONTRAINDICATIONS, "contraindication")),
]
ProductCategory = Annotated[
    str,
    BeforeValidator(_slug),
    AfterValidator(_canonical(vocabulary.PRODUCT_CATEGORIES, "product category")),
]
RoutineStep = Annotated[
    str,
    BeforeValidator(_slug),
    AfterValidator(_canonical(vocabulary.ROUTINE_STEPS, "routine step")),
]
TimeOfDay = Annotated[
    str, BeforeValidator(_slug), AfterValidator(_canonical(vocabulary.TIMES_OF_DAY, "time of day"))
]
# FAQ and policy categories are the brand's own grouping ("shipping", "returns"): free slugs.
Category = Annotated[
    str,
    BeforeValidator(_slug),
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$"),
]


def _join_list(value: object) -> object:
    """An INCI list may be written as a YAML list; store it as the usual comma-separated text."""
    if isinstance(value, list):
        return ", ".join(str(v).strip() for v in value)
    return value


def _zh_or_en(zh_field: str):
    """Validator for an ``*_en`` field: the text must exist in at least one language.

    Chinese-first brands may skip English and others may skip Chinese; multilingual
    retrieval still finds a one-language record from a query in the other language.
    """

    def check(cls: type, value: str, info: ValidationInfo) -> str:
        if not value and not info.data.get(zh_field):
            raise ValueError(f"give {zh_field} or {info.field_name} (or both)")
        return value

    return check


class _Model(BaseModel):
    # extra="allow": fields the schema does not know are kept (and exposed as metadata), because
    # brands add their own columns (channel, barcode) and rejecting them would block a sync.
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, validate_default=True)


class KeyActive(_Model):
    """One featured ingredient and what it does, in both languages."""

    zh: Text = ""
    en: Text = ""
    benefit_zh: Text = ""
    benefit_en: Text = ""

    @field_validator("en")
    @classmethod
    def _named(cls, value: str, info: ValidationInfo) -> str:
        if not value and not info.data.get("zh"):
            raise ValueError("a key active needs a zh or en name")
        return value


class _Record(_Model):
    id: RecordId

    # Every kind has ``title_zh`` / ``title_en``: a field for policies and promotions, a property
    # (product name, FAQ question) for the others.
    def title(self, lang: str = "zh") -> str:
        """The record's display title in ``lang``, falling back to the other language."""
        zh, en = getattr(self, "title_zh", ""), getattr(self, "title_en", "")
        if lang == "en":
            return en or zh
        return zh or en

    @property
    def extra_fields(self) -> dict[str, Any]:
        """Fields present in the source file that the schema does not define."""
        return dict(self.model_extra or {})


class Product(_Record):
    """A product with the structured facts shoppers filter on."""

    kind: Literal["product"] = "product"
    name_zh: Text = ""
    name_en: Text = ""
    category: ProductCategory
    price: float = Field(ge=0)
    size: Text = ""
    ingredients: Annotated[Text, BeforeValidator(_join_list)] = ""
    key_actives: list[KeyActive] = Field(default_factory=list)
    skin_types: Annotated[
        list[SkinType], BeforeValidator(_expand_all_skin_types), AfterValidator(_dedupe)
    ] = Field(default_factory=list)
    concerns: Annotated[list[Concern], BeforeValidator(_as_list), AfterValidator(_dedupe)] = Field(
        default_factory=list
    )
    contraindications: Annotated[
        list[Contraindication], BeforeValidator(_as_list), AfterValidator(_dedupe)
    ] = Field(default_factory=list)
    caution_zh: Text = ""
    caution_en: Text = ""
    # None = the brand did not say; a filter for fragrance-free must not match those.
    fragrance_free: bool | None = None
    alcohol_free: bool | None = None
    routine_step: RoutineStep | None = None
    time_of_day: Annotated[list[TimeOfDay], BeforeValidator(_as_list), AfterValidator(_dedupe)] = (
        Field(default_factory=list)
    )
    # None = stock not tracked in the file; such products count as available.
    stock: int | None = Field(default=None, ge=0)
    description_zh: Text = ""
    description_en: Text = ""
    usage_zh: Text = ""
    usage_en: Text = ""

    _name = field_validator("name_en")(_zh_or_en("name_zh"))

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_number(cls, value: object) -> object:
        # YAML turns "yes" into True and pydantic would accept it as 1.0.
        if isinstance(value, bool):
            raise ValueError("price must be a number")
        return value

    @property
    def title_zh(self) -> str:
        return self.name_zh

    @property
    def title_en(self) -> str:
        return self.name_en

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0


class Faq(_Record):
    """A question shoppers ask and the brand's answer."""

    kind: Literal["faq"] = "faq"
    category: Category
    question_zh: Text = ""
    question_en: Text = ""
    answer_zh: Text = ""
    answer_en: Text = ""

    _question = field_validator("question_en")(_zh_or_en("question_zh"))
    _answer = field_validator("answer_en")(_zh_or_en("answer_zh"))

    @property
    def title_zh(self) -> str:
        return self.question_zh

    @property
    def title_en(self) -> str:
        return self.question_en


class Policy(_Record):
    """A store policy (shipping, returns, membership) with optional machine-readable rules."""

    kind: Literal["policy"] = "policy"
    category: Category
    title_zh: Text = ""
    title_en: Text = ""
    body_zh: Text = ""
    body_en: Text = ""
    rules: dict[str, Any] | None = None

    _title = field_validator("title_en")(_zh_or_en("title_zh"))
    _body = field_validator("body_en")(_zh_or_en("body_zh"))


class Promotion(_Record):
    """A time-limited offer, optionally tied to products and a coupon code."""

    kind: Literal["promotion"] = "promotion"
    title_zh: Text = ""
    title_en: Text = ""
    body_zh: Text = ""
    body_en: Text = ""
    starts: date
    ends: date
    product_ids: Annotated[list[RecordId], BeforeValidator(_as_list)] = Field(default_factory=list)
    code: Text = ""

    _title = field_validator("title_en")(_zh_or_en("title_zh"))

    @field_validator("ends")
    @classmethod
    def _ends_after_start(cls, value: date, info: ValidationInfo) -> date:
        starts = info.data.get("starts")
        if starts is not None and value < starts:
            raise ValueError(f"ends ({value}) is before starts ({starts})")
        return value

    def active_on(self, day: date) -> bool:
        return self.starts <= day <= self.ends


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def text_language(text: str) -> Literal["zh", "en"]:
    """Return "zh" when Han characters outnumber Latin words, else "en".

    Stricter than the per-message rule in :mod:`assistant.language` (any Han character): a
    document is long, and an English abstract that quotes one Chinese name is still English.
    """
    return "zh" if len(_HAN.findall(text)) >= max(1, len(_LATIN_WORD.findall(text))) else "en"


class TextDocument(_Record):
    """Any other text to search (a help article, a BEIR corpus entry): a title and a body.

    Written like the other kinds, per language (``title_zh``/``text_zh``, ``title_en``/
    ``text_en``), or as plain ``title`` and ``text`` (plus an optional ``lang``): those go to
    the language the text is written in. Long texts are searched section by section.
    """

    kind: Literal["document"] = "document"
    category: Category | None = None
    title_zh: Text = ""
    title_en: Text = ""
    text_zh: Text = ""
    text_en: Text = ""

    @model_validator(mode="before")
    @classmethod
    def _plain_title_and_text(cls, data: Any) -> Any:
        # "title" must not survive as an extra field: it would hide the title() method.
        if not isinstance(data, dict) or not ({"title", "text", "lang"} & data.keys()):
            return data
        data = dict(data)
        title, text = str(data.pop("title", "") or ""), str(data.pop("text", "") or "")
        lang = data.pop("lang", None) or text_language(f"{title}\n{text}")
        if lang not in ("zh", "en"):
            raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
        data.setdefault(f"title_{lang}", title)
        data.setdefault(f"text_{lang}", text)
        return data

    @model_validator(mode="after")
    def _not_empty(self) -> TextDocument:
        if not (self.title_zh or self.title_en or self.text_zh or self.text_en):
            raise ValueError("a document needs a title or a text")
        return self


Record = Annotated[Product | Faq | Policy | Promotion | TextDocument, Field(discriminator="kind")]
RECORD_TYPES: dict[str, type[_Record]] = {
    "product": Product,
    "faq": Faq,
    "policy": Policy,
    "promotion": Promotion,
    "document": TextDocument,
}
_RECORD_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)


def parse_record(data: dict[str, Any]) -> Record:
    """Validate one record dict that carries its own ``kind``."""
    return _RECORD_ADAPTER.validate_python(data)


def record_to_dict(record: Record) -> dict[str, Any]:
    """JSON-safe dict of a record, extra fields included."""
    return record.model_dump(mode="json")

"""Request and response bodies of the admin API; the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from assistant.knowledge.schema import Kind, Record

# --------------------------------------------------------------------------- errors


class FieldProblem(BaseModel):
    """One field of the request (or of a record in it) and what is wrong with it."""

    field: str
    problem: str
    index: int | None = Field(default=None, description="position of the record in the request")
    record_id: str | None = None


class ProblemOut(BaseModel):
    """A problem in a knowledge file or in a record, located as precisely as possible."""

    file: str | None = None
    line: int | None = None
    index: int | None = None
    record_id: str | None = None
    field: str | None = None
    message: str
    text: str = Field(description="the whole problem as one readable line")


class ErrorOut(BaseModel):
    """Every error answer: a clear message, and per-field problems where there are some."""

    error: str
    fields: list[FieldProblem] | None = None
    problems: list[ProblemOut] | None = None


# --------------------------------------------------------------------------- records


class RecordOut(BaseModel):
    """A knowledge record with where it came from and who changed it last."""

    id: str
    kind: str
    title_zh: str
    title_en: str
    source: str = Field(description='"file:<path>", "upload:<name>", "api" or "console"')
    version: int = Field(description="the knowledge base version that last wrote it")
    updated_by: str
    updated_at: datetime | None
    similarity: float | None = Field(
        default=None, description="how close it is to the search text (searches only)"
    )
    record: dict[str, Any] = Field(description="every field of the record, as in the files")


class RecordPage(BaseModel):
    kb: str
    total: int = Field(description="records matching, before limit and offset")
    offset: int
    limit: int
    records: list[RecordOut]


class RecordQuery(BaseModel):
    """Query of ``GET .../records``: without ``q`` every record by id, with ``q`` a search."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind | None = None
    q: str | None = Field(
        default=None, max_length=500, description="id, title words, or a question (hybrid search)"
    )
    limit: int = Field(default=50, ge=1, le=1_000_000)
    offset: int = Field(default=0, ge=0)


class WriteQuery(BaseModel):
    """Query of record writes: where the change is recorded as coming from."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["api", "console"] = "api"


class CreateQuery(WriteQuery):
    replace: bool = Field(
        default=False, description="replace records whose id exists instead of refusing (409)"
    )


class RecordsIn(RootModel[Record | list[Record]]):
    """One record or a list of records, each with its ``kind``; a missing ``id`` is generated."""


class RecordIn(RootModel[Record]):
    """A whole record; ``id`` and ``kind`` may be left out (taken from the URL and the record)."""


class RecordPatch(RootModel[dict[str, Any]]):
    """Fields to change; every other field keeps its value."""


class ChangeOut(BaseModel):
    """One write: the new version (null when nothing changed) and the ids it touched."""

    kb: str
    version: int | None
    action: str
    actor: str
    added: list[str]
    updated: list[str]
    deleted: list[str]
    unchanged: int
    embedded: int
    seconds: float


class WriteOut(ChangeOut):
    """The change, and the records as they are now (for adds and edits)."""

    records: list[RecordOut] = Field(default_factory=list)


class UploadedFile(BaseModel):
    name: str
    bytes: int
    change: ChangeOut


class UploadOut(ChangeOut):
    """Every file's change together (``version``: the last one), then each file's own."""

    files: list[UploadedFile]


# --------------------------------------------------------------------------- knowledge bases


class SyncStatusOut(BaseModel):
    """The last file sync: when, by whom, and every problem if it failed."""

    kb: str
    at: datetime | None
    ok: bool
    actor: str
    summary: str
    errors: list[ProblemOut]
    directory: str | None = Field(description="the folder synced (null: API and console only)")


class KbSummary(BaseModel):
    name: str
    default: bool
    directory: str | None
    records: int
    by_kind: dict[str, int]
    version: int = Field(description="latest version in the history (0: none yet)")
    status: SyncStatusOut
    unanswered_open: int | None = None


class KbList(BaseModel):
    kbs: list[KbSummary]


class StatsOut(BaseModel):
    name: str
    collection: str
    records: int
    passages: int
    by_kind: dict[str, int]
    embedding_model: str
    dimension: int
    sparse_terms: int
    last_sync: str | None = Field(description="summary of the last index write of this process")


class VersionOut(BaseModel):
    version: int
    created_at: datetime
    actor: str
    action: str
    added: list[str]
    updated: list[str]
    deleted: list[str]
    note: str


class HistoryOut(BaseModel):
    kb: str
    versions: list[VersionOut]


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=100_000)


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="make the knowledge base hold what it held then")


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=100)
    filters: dict[str, Any] | None = None
    kinds: list[Kind] | None = None


class HitOut(BaseModel):
    id: str
    kind: str
    title: str
    score: float
    similarity: float
    metadata: dict[str, Any]
    record: dict[str, Any]


class SearchOut(BaseModel):
    hits: list[HitOut]


# --------------------------------------------------------------------------- vocabulary, me


class Term(BaseModel):
    value: str
    zh: str
    en: str


class VocabularyOut(BaseModel):
    """Allowed values of product fields, with labels for forms."""

    product_categories: list[Term]
    skin_types: list[Term]
    concerns: list[Term]
    contraindications: list[Term]
    routine_steps: list[Term]
    times_of_day: list[Term]
    faq_categories: list[str] = Field(description="FAQ categories in use in the knowledge base")


class MeOut(BaseModel):
    name: str
    role: Literal["editor", "viewer"]
    default_kb: str
    kbs: list[str]


# --------------------------------------------------------------------------- unanswered


class FaqDraft(BaseModel):
    """A prefilled FAQ for an unanswered question; the answer is a draft to check."""

    kind: Literal["faq"] = "faq"
    category: str
    question_zh: str
    question_en: str
    answer_zh: str
    answer_en: str
    draft_from: str | None = Field(description="id of the closest record the answer came from")
    draft_similarity: float | None


class UnansweredOut(BaseModel):
    id: int
    kb: str
    text: str
    lang: str
    reason: Literal["low_score", "fallback"]
    best_score: float | None
    best_id: str | None
    best_title: str | None
    count: int
    conversation_id: str
    first_asked_at: datetime
    last_asked_at: datetime
    status: Literal["open", "resolved", "dismissed"]
    faq_id: str | None
    closed_by: str | None
    closed_at: datetime | None
    draft: FaqDraft


class UnansweredList(BaseModel):
    items: list[UnansweredOut]
    counts: dict[str, int]


class UnansweredQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kb: str | None = Field(default=None, description="one knowledge base (default: all)")
    status: Literal["open", "resolved", "dismissed", "all"] = "open"
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class FaqFromQuestionIn(BaseModel):
    """The FAQ that answers an unanswered question (validated like any FAQ record)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, description="generated when left out")
    category: str = "general"
    question_zh: str = ""
    question_en: str = ""
    answer_zh: str = ""
    answer_en: str = ""


class FaqCreatedOut(BaseModel):
    question: UnansweredOut
    faq: RecordOut
    change: ChangeOut


class RecentQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=100, ge=1, le=500)
    platform: str | None = Field(default=None, description="one platform (default: all)")


class UndeliveredOut(BaseModel):
    """A reply that never reached the shopper after every retry."""

    id: int
    platform: str
    chat_id: str
    to_user: str
    private: bool
    text: str
    error: str
    attempts: int
    failed_at: datetime


class UndeliveredList(BaseModel):
    items: list[UndeliveredOut]


class ComplianceOut(BaseModel):
    """A reply the compliance guard rewrote or blocked (texts masked)."""

    id: int
    at: datetime
    conversation_id: str
    action: str
    rule_ids: list[str]
    categories: list[str]
    language: str
    before: str
    after: str


class ComplianceList(BaseModel):
    items: list[ComplianceOut]

"""The admin HTTP API: knowledge records, uploads, file sync, search, history and the inbox of
unanswered shopper questions. Register with ``app.add_routes(admin_routes())``.

Every route needs ``Authorization: Bearer <token>`` (see :mod:`assistant.admin.auth`) except the
OpenAPI document. Library calls may embed text on the CPU, so they run in a worker thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import re
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from aiohttp import web
from pydantic import BaseModel, ValidationError

from assistant.admin import openapi
from assistant.admin.auth import Role, principal, requires
from assistant.admin.models import (
    ChangeOut,
    ComplianceList,
    ComplianceOut,
    CreateQuery,
    FaqCreatedOut,
    FaqDraft,
    FaqFromQuestionIn,
    HistoryOut,
    HistoryQuery,
    HitOut,
    KbList,
    KbSummary,
    MeOut,
    ProblemOut,
    RecentQuery,
    RecordIn,
    RecordOut,
    RecordPage,
    RecordPatch,
    RecordQuery,
    RecordsIn,
    RollbackIn,
    SearchIn,
    SearchOut,
    StatsOut,
    SyncStatusOut,
    Term,
    UnansweredList,
    UnansweredOut,
    UnansweredQuery,
    UndeliveredList,
    UndeliveredOut,
    UploadedFile,
    UploadOut,
    VersionOut,
    VocabularyOut,
    WriteOut,
    WriteQuery,
)
from assistant.config import Settings
from assistant.feedback.unanswered import UnansweredQuestion, UnknownQuestion
from assistant.http_errors import BadRequest, error, json_response
from assistant.knowledge import vocabulary
from assistant.knowledge.library import (
    Change,
    RecordInfo,
    RecordValidationError,
    UnknownKnowledgeBase,
    UnknownVersion,
)
from assistant.knowledge.loader import KnowledgeFileError, Problem, load_sources

API_VERSION = "1.0"
# JSON bodies of record writes may carry many records; uploads have their own, larger limit.
MAX_RECORDS_JSON_BYTES = 1024 * 1024
MAX_SMALL_JSON_BYTES = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Model = TypeVar("Model", bound=BaseModel)

_ROUTES: list[web.RouteDef] = []


def admin_routes() -> list[web.RouteDef]:
    """Every admin API route (and the OpenAPI document describing them)."""
    return list(_ROUTES)


# --------------------------------------------------------------------------- plumbing


def _services(request: web.Request) -> Any:
    from assistant.app import SERVICES  # the app module imports this one

    return request.app[SERVICES]


def _settings(request: web.Request) -> Settings:
    return _services(request).settings


def _library(request: web.Request) -> Any:
    library = _services(request).library
    if library is None:
        raise BadRequest(error(503, "the knowledge library is not running"))
    return library


def _unanswered_log(request: web.Request) -> Any:
    log = _services(request).unanswered
    if log is None:
        raise BadRequest(error(503, "unanswered questions are not being recorded"))
    return log


def _route(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    role: Role | None,
    **documented: Any,
) -> Callable[[Handler], Handler]:
    """Register a handler: documented, guarded by ``role``, library errors made answers."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def answering(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except UnknownKnowledgeBase as missing:
                return error(404, str(missing))
            except (UnknownVersion, UnknownQuestion) as missing:
                return error(404, str(missing).strip("'\""))
            except RecordValidationError as invalid:
                return _invalid_records(invalid)
            except KnowledgeFileError as invalid:
                return _invalid_files(invalid.problems)

        guarded = requires(role, _settings)(answering) if role else answering
        guarded.__openapi__ = openapi.Operation(  # type: ignore[attr-defined]
            summary=summary, tag=tag, role=role, **documented
        )
        _ROUTES.append(web.route(method, path, guarded))
        return handler

    return register


async def _read_body(request: web.Request, limit: int) -> Any:
    """The JSON body, refused with 413 above ``limit`` bytes and 400 when it is not JSON."""
    too_big = error(413, f"request body larger than {limit} bytes", limit=limit)
    if request.content_length is not None and request.content_length > limit:
        raise BadRequest(too_big)
    raw = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        raw.extend(chunk)
        if len(raw) > limit:
            raise BadRequest(too_big)
    try:
        return json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise BadRequest(error(400, f"body is not valid UTF-8 JSON: {problem}")) from problem


def _validated(model: type[Model], data: Any, what: str = "request") -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as problem:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
            for e in problem.errors()
        ]
        raise BadRequest(
            error(422, f"the {what} does not match the expected fields", fields=fields)
        ) from problem


async def _body(request: web.Request, model: type[Model]) -> Model:
    return _validated(model, await _read_body(request, MAX_SMALL_JSON_BYTES))


def _query(request: web.Request, model: type[Model]) -> Model:
    return _validated(model, dict(request.query), "query")


def _ok(model: BaseModel, status: int = 200) -> web.Response:
    return json_response(model.model_dump(mode="json"), status=status)


def _problem(problem: Problem) -> ProblemOut:
    return ProblemOut(
        file=problem.file,
        line=problem.line,
        index=problem.index,
        record_id=problem.record_id,
        field=problem.field,
        message=problem.message,
        text=str(problem),
    )


def _invalid_records(invalid: RecordValidationError) -> web.Response:
    problems = [_problem(p) for p in invalid.problems]
    fields = [
        {
            "field": p.field or "(record)",
            "problem": p.message,
            "index": p.index,
            "record_id": p.record_id,
        }
        for p in invalid.problems
    ]
    return error(
        422,
        f"{len(problems)} problem(s) in the record(s); nothing was saved",
        fields=fields,
        problems=[p.model_dump() for p in problems],
    )


def _invalid_files(
    problems: Iterable[Problem], names: Mapping[str, str] | None = None
) -> web.Response:
    shown = []
    for problem in problems:
        out = _problem(problem)
        for path, name in (names or {}).items():
            out.file = (out.file or "").replace(path, name)
            out.text = out.text.replace(path, name)
        shown.append(out)
    files = sorted({p.file or "" for p in shown})
    return error(
        422,
        f"{len(shown)} problem(s) in {len(files)} file(s); nothing was changed",
        problems=[p.model_dump() for p in shown],
    )


def _change(change: Change) -> ChangeOut:
    return ChangeOut.model_validate(change.as_dict())


def _write_out(change: Change, records: Iterable[RecordOut] = ()) -> WriteOut:
    return WriteOut(**change.as_dict(), records=list(records))


def _record_out(info: RecordInfo, similarity: float | None = None) -> RecordOut:
    record = info.record
    return RecordOut(
        id=record.id,
        kind=record.kind,
        title_zh=str(getattr(record, "title_zh", "") or ""),
        title_en=str(getattr(record, "title_en", "") or ""),
        source=info.source,
        version=info.version,
        updated_by=info.updated_by,
        updated_at=info.updated_at if info.version else None,
        similarity=similarity,
        record=record.model_dump(mode="json"),
    )


async def _run(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(function, *args)


def _records_of(body: Any) -> list[dict[str, Any]]:
    items = body if isinstance(body, list) else [body]
    if not items:
        raise BadRequest(error(422, "no records given"))
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(
                error(
                    422,
                    "each record must be a JSON object",
                    fields=[{"field": "(record)", "problem": "not an object", "index": index}],
                )
            )
    return items


def _not_found(kb: str, record_id: str) -> web.Response:
    return error(404, f"knowledge base {kb!r} has no record {record_id!r}")


# --------------------------------------------------------------------------- who, what


@_route("GET", "/api/openapi.json", summary="OpenAPI document", tag="meta", role=None)
async def openapi_document(request: web.Request) -> web.Response:
    return json_response(
        openapi.document(request.app, title="siyu-assistant admin API", version=API_VERSION)
    )


@_route("GET", "/api/admin/me", summary="Who am I", tag="meta", role="viewer", response=MeOut)
async def me(request: web.Request) -> web.Response:
    who = principal(request)
    library = _library(request)
    return _ok(MeOut(name=who.name, role=who.role, default_kb=library.default, kbs=library.names()))


@_route(
    "GET",
    "/api/admin/vocabulary",
    summary="Allowed field values",
    tag="meta",
    role="viewer",
    response=VocabularyOut,
)
async def vocabulary_of(request: web.Request) -> web.Response:
    library = _library(request)

    def terms(table: Mapping[str, Any]) -> list[Term]:
        return [
            Term(value=value, zh=(words.zh or (value,))[0], en=(words.en or (value,))[0])
            for value, words in table.items()
        ]

    def faq_categories() -> list[str]:
        found: set[str] = set()
        for name in library.names():
            found.update(str(r.category) for r in library.base(name).records("faq"))
        return sorted(found | {"general"})

    return _ok(
        VocabularyOut(
            product_categories=terms(vocabulary.PRODUCT_CATEGORIES),
            skin_types=terms(vocabulary.SKIN_TYPES),
            concerns=terms(vocabulary.CONCERNS),
            contraindications=terms(vocabulary.CONTRAINDICATIONS),
            routine_steps=terms(vocabulary.ROUTINE_STEPS),
            times_of_day=terms(vocabulary.TIMES_OF_DAY),
            faq_categories=await _run(faq_categories),
        )
    )


# --------------------------------------------------------------------------- knowledge bases


def _folder_names(directory: Path | None) -> dict[str, str]:
    """Problem file names as staff know them: relative to the knowledge folder."""
    return {f"{directory}/": ""} if directory is not None else {}


def _status_out(library: Any, kb: str) -> SyncStatusOut:
    status = library.status(kb)
    directory = library.directory(kb)
    errors = []
    for problem in status.errors:
        out = ProblemOut.model_validate({"message": "", "text": "", **problem})
        for prefix, name in _folder_names(directory).items():
            out.file = (out.file or "").replace(prefix, name)
            out.text = out.text.replace(prefix, name)
        errors.append(out)
    return SyncStatusOut(
        kb=kb,
        at=status.at,
        ok=status.ok,
        actor=status.actor,
        summary=status.summary,
        errors=errors,
        directory=str(directory) if directory is not None else None,
    )


@_route(
    "GET",
    "/api/admin/kbs",
    summary="List knowledge bases",
    tag="knowledge bases",
    role="viewer",
    response=KbList,
)
async def list_kbs(request: web.Request) -> web.Response:
    library = _library(request)
    log = _services(request).unanswered

    def summaries() -> list[KbSummary]:
        found = []
        for name in library.names():
            stats = library.base(name).stats()
            latest = library.history(name, 1)
            directory = library.directory(name)
            found.append(
                KbSummary(
                    name=name,
                    default=name == library.default,
                    directory=str(directory) if directory is not None else None,
                    records=stats.records,
                    by_kind=stats.by_kind,
                    version=latest[0].version if latest else 0,
                    status=_status_out(library, name),
                    unanswered_open=log.counts(name)["open"] if log is not None else None,
                )
            )
        return found

    return _ok(KbList(kbs=await _run(summaries)))


@_route(
    "GET",
    "/api/admin/kbs/{kb}/stats",
    summary="Knowledge base statistics",
    tag="knowledge bases",
    role="viewer",
    response=StatsOut,
)
async def kb_stats(request: web.Request) -> web.Response:
    stats = _library(request).base(request.match_info["kb"]).stats()
    return _ok(
        StatsOut(
            name=stats.name,
            collection=stats.collection,
            records=stats.records,
            passages=stats.passages,
            by_kind=stats.by_kind,
            embedding_model=stats.embedding_model,
            dimension=stats.dimension,
            sparse_terms=stats.sparse_terms,
            last_sync=stats.last_sync.summary() if stats.last_sync else None,
        )
    )


@_route(
    "GET",
    "/api/admin/kbs/{kb}/status",
    summary="Last file sync and its errors",
    tag="knowledge bases",
    role="viewer",
    response=SyncStatusOut,
)
async def kb_status(request: web.Request) -> web.Response:
    library = _library(request)
    return _ok(await _run(_status_out, library, request.match_info["kb"]))


@_route(
    "POST",
    "/api/admin/kbs/{kb}/sync",
    summary="Sync from the knowledge folder",
    description="Reads every file of the knowledge base's folder; a bad file changes nothing "
    "and its problems (file, line, field) are answered and kept in the status.",
    tag="knowledge bases",
    role="editor",
    response=WriteOut,
    errors=(404, 409, 422),
)
async def kb_sync(request: web.Request) -> web.Response:
    library = _library(request)
    kb = request.match_info["kb"]
    if library.directory(kb) is None:
        return error(409, f"knowledge base {kb!r} has no folder to sync; it is edited in the API")
    try:
        change = await _run(library.sync_directory, kb, principal(request).name)
    except KnowledgeFileError as invalid:
        return _invalid_files(invalid.problems, _folder_names(library.directory(kb)))
    return _ok(_write_out(change))


@_route(
    "GET",
    "/api/admin/kbs/{kb}/history",
    summary="Version history",
    tag="knowledge bases",
    role="viewer",
    query=HistoryQuery,
    response=HistoryOut,
    errors=(404,),
)
async def kb_history(request: web.Request) -> web.Response:
    query = _query(request, HistoryQuery)
    kb = request.match_info["kb"]
    versions = await _run(_library(request).history, kb, query.limit)
    return _ok(
        HistoryOut(
            kb=kb,
            versions=[
                VersionOut(
                    version=v.version,
                    created_at=v.created_at,
                    actor=v.actor,
                    action=v.action,
                    added=list(v.added),
                    updated=list(v.updated),
                    deleted=list(v.deleted),
                    note=v.note,
                )
                for v in versions
            ],
        )
    )


@_route(
    "POST",
    "/api/admin/kbs/{kb}/rollback",
    summary="Roll back to a version",
    description="Makes the knowledge base hold what it held right after `version`, recorded "
    "as a new version (so a rollback can itself be rolled back).",
    tag="knowledge bases",
    role="editor",
    body=RollbackIn,
    response=WriteOut,
    errors=(404,),
)
async def kb_rollback(request: web.Request) -> web.Response:
    body = await _body(request, RollbackIn)
    library = _library(request)
    kb = request.match_info["kb"]
    change = await _run(library.rollback, kb, body.version, principal(request).name)
    return _ok(_write_out(change))


@_route(
    "POST",
    "/api/admin/kbs/{kb}/search",
    summary="Search the knowledge base",
    tag="knowledge bases",
    role="viewer",
    body=SearchIn,
    response=SearchOut,
    errors=(404,),
)
async def kb_search(request: web.Request) -> web.Response:
    body = await _body(request, SearchIn)
    library = _library(request)
    try:
        hits = await _run(
            library.search, request.match_info["kb"], body.query, body.k, body.filters, body.kinds
        )
    except UnknownKnowledgeBase:
        raise
    except ValueError as problem:  # an unknown filter name or a wrong filter value
        return error(422, str(problem), fields=[{"field": "filters", "problem": str(problem)}])
    return _ok(
        SearchOut(
            hits=[
                HitOut(
                    id=h.id,
                    kind=h.kind,
                    title=h.title,
                    score=h.score,
                    similarity=h.similarity,
                    metadata=dict(h.metadata),
                    record=h.record.model_dump(mode="json"),
                )
                for h in hits
            ]
        )
    )


# --------------------------------------------------------------------------- records


@_route(
    "GET",
    "/api/admin/kbs/{kb}/records",
    summary="List or search records",
    description="Without `q`: every record (of `kind`) by id. With `q`: records whose id or "
    "title contains `q` first, then the closest by meaning (hybrid search), best first.",
    tag="records",
    role="viewer",
    query=RecordQuery,
    response=RecordPage,
    errors=(404,),
)
async def list_records(request: web.Request) -> web.Response:
    query = _query(request, RecordQuery)
    library = _library(request)
    kb = request.match_info["kb"]

    def page() -> RecordPage:
        infos: list[RecordInfo] = library.records(kb, query.kind)
        q = (query.q or "").strip()
        found: list[RecordOut]
        if not q:
            found = [_record_out(i) for i in infos]
        else:
            folded = q.casefold()
            literal = [
                i
                for i in infos
                if folded in i.record.id.casefold()
                or folded in str(getattr(i.record, "title_zh", "")).casefold()
                or folded in str(getattr(i.record, "title_en", "")).casefold()
            ]
            found = [_record_out(i) for i in literal]
            seen = {i.record.id for i in literal}
            wanted = min(100, query.offset + query.limit)
            kinds = [query.kind] if query.kind else None
            by_id = {i.record.id: i for i in infos}
            for hit in library.search(kb, q, wanted, None, kinds):
                if hit.id not in seen and hit.id in by_id:
                    seen.add(hit.id)
                    found.append(_record_out(by_id[hit.id], hit.similarity))
        return RecordPage(
            kb=kb,
            total=len(found),
            offset=query.offset,
            limit=query.limit,
            records=found[query.offset : query.offset + query.limit],
        )

    return _ok(await _run(page))


@_route(
    "POST",
    "/api/admin/kbs/{kb}/records",
    summary="Add records",
    description="One record or a list, each with its `kind`; a record without `id` gets one. "
    "Ids that exist are refused (409) unless `replace=true`. Nothing is written if any record "
    "is invalid (422, with `fields`).",
    tag="records",
    role="editor",
    body=RecordsIn,
    query=CreateQuery,
    response=WriteOut,
    status=201,
    errors=(404, 409),
)
async def create_records(request: web.Request) -> web.Response:
    query = _query(request, CreateQuery)
    records = _records_of(await _read_body(request, MAX_RECORDS_JSON_BYTES))
    library = _library(request)
    kb = request.match_info["kb"]
    index = library.base(kb)
    if not query.replace:
        taken = [str(r["id"]) for r in records if r.get("id") and index.get(str(r["id"]).strip())]
        if taken:
            return error(
                409,
                "records with these ids exist already; change them with PUT, or add "
                "?replace=true to replace them",
                ids=taken,
                fields=[{"field": "id", "problem": f"{rid} exists already"} for rid in taken],
            )
    change = await _run(library.upsert, kb, records, principal(request).name, query.source)
    return _ok(await _run(_written, library, kb, change), status=201)


def _written(library: Any, kb: str, change: Change) -> WriteOut:
    infos = [library.get(kb, rid) for rid in (*change.report.added, *change.report.updated)]
    return _write_out(change, [_record_out(i) for i in infos if i])


@_route(
    "GET",
    "/api/admin/kbs/{kb}/records/{id}",
    summary="Get a record",
    tag="records",
    role="viewer",
    response=RecordOut,
    errors=(404,),
)
async def get_record(request: web.Request) -> web.Response:
    kb, record_id = request.match_info["kb"], request.match_info["id"]
    info = await _run(_library(request).get, kb, record_id)
    if info is None:
        return _not_found(kb, record_id)
    return _ok(_record_out(info))


async def _replace(request: web.Request, merge: bool) -> web.Response:
    query = _query(request, WriteQuery)
    body = await _read_body(request, MAX_RECORDS_JSON_BYTES)
    if not isinstance(body, dict):
        return error(422, "the body must be a JSON object of record fields")
    library = _library(request)
    kb, record_id = request.match_info["kb"], request.match_info["id"]
    existing = library.base(kb).get(record_id)
    if existing is None:
        return _not_found(kb, record_id)
    if "id" in body and str(body["id"]).strip() != record_id:
        return error(
            422,
            "the id in the body differs from the id in the URL; ids cannot be changed",
            fields=[{"field": "id", "problem": f"must be {record_id!r} or left out"}],
        )
    fields = existing.model_dump(mode="json") if merge else {"kind": existing.kind}
    record = {**fields, **body, "id": record_id}
    change = await _run(library.upsert, kb, [record], principal(request).name, query.source)
    info = await _run(library.get, kb, record_id)
    return _ok(_write_out(change, [_record_out(info)] if info else []))


@_route(
    "PUT",
    "/api/admin/kbs/{kb}/records/{id}",
    summary="Replace a record",
    description="The body is the whole record; fields left out take their defaults. `kind` "
    "defaults to the record's kind.",
    tag="records",
    role="editor",
    body=RecordIn,
    query=WriteQuery,
    response=WriteOut,
    errors=(404,),
)
async def replace_record(request: web.Request) -> web.Response:
    return await _replace(request, merge=False)


@_route(
    "PATCH",
    "/api/admin/kbs/{kb}/records/{id}",
    summary="Change some fields of a record",
    tag="records",
    role="editor",
    body=RecordPatch,
    query=WriteQuery,
    response=WriteOut,
    errors=(404,),
)
async def patch_record(request: web.Request) -> web.Response:
    return await _replace(request, merge=True)


@_route(
    "DELETE",
    "/api/admin/kbs/{kb}/records/{id}",
    summary="Delete a record",
    description="A record from a file stays deleted until that file changes the record.",
    tag="records",
    role="editor",
    response=WriteOut,
    errors=(404,),
)
async def delete_record(request: web.Request) -> web.Response:
    library = _library(request)
    kb, record_id = request.match_info["kb"], request.match_info["id"]
    if library.base(kb).get(record_id) is None:
        return _not_found(kb, record_id)
    change = await _run(library.delete, kb, [record_id], principal(request).name)
    return _ok(_write_out(change))


# --------------------------------------------------------------------------- uploads

_UNSAFE = re.compile(r"[^\w.\-]+")


def safe_file_name(name: str) -> str:
    """The upload's own file name without folders or odd characters ("商品 2025.csv" kept)."""
    # Some clients percent-encode non-ASCII names ("%E5%95%86%E5%93%81.csv").
    base = unquote(name).replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).lstrip("._")
    if len(base) > 120:
        stem, dot, suffix = base.rpartition(".")
        base = f"{stem[: 110 - len(suffix)]}{dot}{suffix}" if dot else base[:120]
    return base or "upload"


@_route(
    "POST",
    "/api/admin/kbs/{kb}/upload",
    summary="Upload knowledge files",
    description="multipart/form-data with one or more `file` parts; each file's name decides "
    "its format and, for tables, its kind (products.csv, faqs.xlsx). Every file is checked "
    "before any is written; records that vanish from a file uploaded again under the same "
    "name are deleted.",
    tag="records",
    role="editor",
    body=openapi.MULTIPART,
    response=UploadOut,
    status=201,
    errors=(404, 422),
)
async def upload(request: web.Request) -> web.Response:
    library = _library(request)
    kb = request.match_info["kb"]
    library.base(kb)  # an unknown knowledge base is refused before the upload is read
    limit = _settings(request).admin.max_upload_bytes
    too_big = error(413, f"upload larger than {limit} bytes", limit=limit)
    # Multipart framing adds a little to the files' own bytes.
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        return too_big
    if not request.content_type.startswith("multipart/"):
        return error(400, "send the files as multipart/form-data, each in a part named 'file'")
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError) as problem:
        return error(400, f"the multipart body cannot be read: {problem}")
    with tempfile.TemporaryDirectory(prefix="siyu-upload-") as folder:
        saved: list[tuple[str, Path, int]] = []
        total = 0
        while True:
            part = await reader.next()
            if part is None:
                break
            filename = getattr(part, "filename", None)
            if not filename:
                await part.release()
                continue
            name = safe_file_name(filename)
            if any(name == n for n, _, _ in saved):
                return error(422, f"two uploaded files are named {name!r}")
            path = Path(folder) / name
            size = 0
            with path.open("wb") as out:
                while chunk := await part.read_chunk(64 * 1024):
                    size += len(chunk)
                    total += len(chunk)
                    if total > limit:
                        return too_big
                    out.write(chunk)
            saved.append((name, path, size))
        if not saved:
            return error(
                422, "no file in the upload", fields=[{"field": "file", "problem": "missing"}]
            )
        names = {str(path): name for name, path, _ in saved}

        def check() -> list[Problem]:
            problems: list[Problem] = []
            for _, path, _ in saved:
                try:
                    load_sources([path])
                except KnowledgeFileError as bad:
                    problems.extend(bad.problems)
            return problems

        problems = await _run(check)
        if problems:
            return _invalid_files(problems, names)
        actor = principal(request).name
        files = []
        for name, path, size in saved:
            try:
                change = await _run(library.ingest, kb, [path], actor, f"upload:{name}")
            except KnowledgeFileError as bad:
                return _invalid_files(bad.problems, names)
            files.append(UploadedFile(name=name, bytes=size, change=_change(change)))
    return _ok(_upload_out(kb, actor, files), status=201)


def _upload_out(kb: str, actor: str, files: list[UploadedFile]) -> UploadOut:
    changes = [f.change for f in files]
    versions = [c.version for c in changes if c.version is not None]
    return UploadOut(
        kb=kb,
        version=versions[-1] if versions else None,
        action="ingest",
        actor=actor,
        added=[i for c in changes for i in c.added],
        updated=[i for c in changes for i in c.updated],
        deleted=[i for c in changes for i in c.deleted],
        unchanged=sum(c.unchanged for c in changes),
        embedded=sum(c.embedded for c in changes),
        seconds=round(sum(c.seconds for c in changes), 3),
        files=files,
    )


# --------------------------------------------------------------------------- unanswered


def _question_out(library: Any, question: UnansweredQuestion) -> UnansweredOut:
    lang = "en" if question.lang == "en" else "zh"
    other = "zh" if lang == "en" else "en"
    best = None
    if question.best_id and question.kb in library.names():
        best = library.base(question.kb).get(question.best_id)
    category, answer_lang, answer = "general", lang, ""
    if best is not None:
        if best.kind in ("faq", "policy"):
            category = str(best.category)
        field = {"faq": "answer", "policy": "body", "product": "description"}.get(best.kind)
        if field:
            for language in (lang, other):
                text = str(getattr(best, f"{field}_{language}", "") or "")
                if text:
                    answer_lang, answer = language, text
                    break
    draft = FaqDraft(
        category=category,
        question_zh=question.text if lang == "zh" else "",
        question_en=question.text if lang == "en" else "",
        answer_zh=answer if answer_lang == "zh" else "",
        answer_en=answer if answer_lang == "en" else "",
        draft_from=best.id if best is not None and answer else None,
        draft_similarity=question.best_score if best is not None and answer else None,
    )
    return UnansweredOut(
        **dataclasses.asdict(question),
        best_title=best.title(lang) if best is not None else None,
        draft=draft,
    )


def _question_id(request: web.Request) -> int:
    return int(request.match_info["id"])


@_route(
    "GET",
    "/api/admin/unanswered",
    summary="Unanswered shopper questions",
    description="Questions the assistant could not answer (low knowledge score or fallback), "
    "most asked first, each with a prefilled FAQ draft.",
    tag="unanswered",
    role="viewer",
    query=UnansweredQuery,
    response=UnansweredList,
)
async def list_unanswered(request: web.Request) -> web.Response:
    query = _query(request, UnansweredQuery)
    library = _library(request)
    if query.kb is not None:
        library.base(query.kb)
    log = _unanswered_log(request)
    status = None if query.status == "all" else query.status

    def listing() -> UnansweredList:
        items = log.list(query.kb, status, query.limit, query.offset)
        return UnansweredList(
            items=[_question_out(library, q) for q in items], counts=log.counts(query.kb)
        )

    return _ok(await _run(listing))


@_route(
    "GET",
    r"/api/admin/unanswered/{id:\d+}",
    summary="One unanswered question",
    tag="unanswered",
    role="viewer",
    response=UnansweredOut,
    errors=(404,),
    path_types={"id": "integer"},
)
async def get_unanswered(request: web.Request) -> web.Response:
    question = await _run(_unanswered_log(request).get, _question_id(request))
    if question is None:
        return error(404, f"no unanswered question with id {_question_id(request)}")
    return _ok(_question_out(_library(request), question))


@_route(
    "POST",
    r"/api/admin/unanswered/{id:\d+}/faq",
    summary="Answer a question with a new FAQ",
    description="Creates the FAQ in the question's knowledge base (recorded as a console "
    "edit) and marks the question resolved; the assistant answers with it at once.",
    tag="unanswered",
    role="editor",
    body=FaqFromQuestionIn,
    response=FaqCreatedOut,
    status=201,
    errors=(404, 409),
    path_types={"id": "integer"},
)
async def faq_from_question(request: web.Request) -> web.Response:
    body = await _body(request, FaqFromQuestionIn)
    log = _unanswered_log(request)
    library = _library(request)
    question = await _run(log.get, _question_id(request))
    if question is None:
        return error(404, f"no unanswered question with id {_question_id(request)}")
    if question.status != "open":
        return error(
            409,
            f"the question is {question.status} already"
            + (f" (by {question.faq_id})" if question.faq_id else ""),
            question_status=question.status,
            faq_id=question.faq_id,
        )
    record = {"kind": "faq", **body.model_dump(exclude_none=True)}
    if body.id and library.base(question.kb).get(body.id.strip()) is not None:
        return error(
            409,
            f"a record with id {body.id!r} exists already",
            fields=[{"field": "id", "problem": "exists already"}],
        )
    actor = principal(request).name
    change = await _run(library.upsert, question.kb, [record], actor, "console")
    faq_id = next(iter((*change.report.added, *change.report.updated)), body.id)
    resolved = await _run(log.resolve, question.id, faq_id, actor)
    info = await _run(library.get, question.kb, faq_id)
    return _ok(
        FaqCreatedOut(
            question=_question_out(library, resolved),
            faq=_record_out(info),
            change=_change(change),
        ),
        status=201,
    )


@_route(
    "POST",
    r"/api/admin/unanswered/{id:\d+}/dismiss",
    summary="Dismiss a question",
    tag="unanswered",
    role="editor",
    response=UnansweredOut,
    errors=(404,),
    path_types={"id": "integer"},
)
async def dismiss_question(request: web.Request) -> web.Response:
    question = await _run(
        _unanswered_log(request).dismiss, _question_id(request), principal(request).name
    )
    return _ok(_question_out(_library(request), question))


@_route(
    "POST",
    r"/api/admin/unanswered/{id:\d+}/reopen",
    summary="Reopen a question",
    tag="unanswered",
    role="editor",
    response=UnansweredOut,
    errors=(404,),
    path_types={"id": "integer"},
)
async def reopen_question(request: web.Request) -> web.Response:
    question = await _run(
        _unanswered_log(request).reopen, _question_id(request), principal(request).name
    )
    return _ok(_question_out(_library(request), question))


# --------------------------------------------------------------------------- outgoing replies


@functools.lru_cache(maxsize=8)
def _delivery_log(url: str) -> Any:
    from sqlalchemy import create_engine

    from assistant.connectors.delivery import Delivery

    return Delivery(create_engine(url, future=True, pool_pre_ping=True))


@functools.lru_cache(maxsize=8)
def _compliance_log(url: str) -> Any:
    from assistant.compliance.store import ComplianceLog

    return ComplianceLog(url)


@_route(
    "GET",
    "/api/admin/undelivered",
    summary="Replies that never reached the shopper",
    description="Replies a platform refused or never acknowledged after every retry (a shopper "
    "who blocked the bot, an expired reply token...), newest last, for staff to follow up.",
    tag="chat",
    role="viewer",
    query=RecentQuery,
    response=UndeliveredList,
)
async def list_undelivered(request: web.Request) -> web.Response:
    query = _query(request, RecentQuery)
    log = _delivery_log(_settings(request).commerce_url)
    rows = await _run(log.undelivered, query.platform, query.limit)
    return _ok(UndeliveredList(items=[UndeliveredOut(**row) for row in rows]))


@_route(
    "GET",
    "/api/admin/compliance",
    summary="Replies the compliance guard changed",
    description="Replies rewritten or blocked for Advertising Law wording or medical claims, "
    "newest first, with the rules that fired (personal data masked).",
    tag="chat",
    role="viewer",
    query=RecentQuery,
    response=ComplianceList,
)
async def list_compliance(request: web.Request) -> web.Response:
    query = _query(request, RecentQuery)
    events = await _run(_compliance_log(_settings(request).commerce_url).recent, query.limit)
    return _ok(ComplianceList(items=[ComplianceOut(**dataclasses.asdict(e)) for e in events]))

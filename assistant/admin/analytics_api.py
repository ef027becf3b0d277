"""Staff analytics over HTTP: the report as JSON and CSV (viewer role), and the public redirect
behind tracked product links (``GET /go/{token}``), which counts the click.

The admin routes register with :mod:`assistant.admin.api` when this module is imported (the app
imports it); :func:`public_routes` is the redirect, which needs no token: shoppers open it.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from datetime import date, timedelta
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from assistant.admin.api import _query, _route, _settings
from assistant.analytics.export import daily_csv, questions_csv
from assistant.analytics.report import BadRange, Report, build_report
from assistant.analytics.store import AnalyticsStore, open_store
from assistant.config import Settings
from assistant.http_errors import BadRequest, error, json_response

logger = logging.getLogger("assistant.analytics")

DEFAULT_DAYS = 14


# --------------------------------------------------------------------------- models


class AnalyticsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date | None = Field(
        default=None, alias="from", description="first day, YYYY-MM-DD (default: 13 days ago)"
    )
    to: date | None = Field(default=None, description="last day, included (default: today)")
    group: str | None = Field(
        default=None, max_length=300, description='one group, "<platform>:<chat id>"'
    )


class AnalyticsCsvQuery(AnalyticsQuery):
    kind: Literal["daily", "questions"] = Field(
        default="daily", description="daily: a row per day and group; questions: top questions"
    )


class FiguresOut(BaseModel):
    """Counts and rates of a day, a group or the whole range (rates 0-1, times in minutes)."""

    messages: int
    shoppers: int
    conversations: int
    unanswered: int
    failed: int
    unanswered_rate: float | None
    handoffs: int
    handoffs_closed: int
    handoff_rate: float | None
    first_reply_minutes_median: float | None
    first_reply_minutes_avg: float | None
    close_minutes_median: float | None
    close_minutes_avg: float | None
    recommendations: int
    clicks: int
    ctr: float | None


class DayOut(FiguresOut):
    day: date


class GroupOut(FiguresOut):
    group: str


class TopQuestionOut(BaseModel):
    question: str
    count: int
    unanswered: int
    unanswered_rate: float | None
    groups: int


class AnalyticsOut(BaseModel):
    """The report of ``from``..``to`` (local days of ``timezone``, both included)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    group: str | None
    timezone: str
    totals: FiguresOut
    days: list[DayOut]
    groups: list[GroupOut]
    top_questions: list[TopQuestionOut]
    known_groups: list[str] = Field(description="every group with traffic, for a filter")


# --------------------------------------------------------------------------- admin routes


def store_for(settings: Settings) -> AnalyticsStore:
    return open_store(settings.commerce_url, settings.analytics.timezone)


async def _report(request: web.Request, query: AnalyticsQuery) -> Report:
    """The report the query asks for; a range that cannot be reported is a 422 saying why."""
    store = store_for(_settings(request))
    end = query.to or store.today()
    start = query.from_ or end - timedelta(days=DEFAULT_DAYS - 1)
    try:
        return await asyncio.to_thread(build_report, store, start, end, query.group)
    except BadRange as problem:
        fields = [{"field": "from", "problem": str(problem)}]
        raise BadRequest(error(422, str(problem), fields=fields)) from problem


@_route(
    "GET",
    "/api/admin/analytics",
    summary="Analytics report",
    description="Messages, unanswered rate, handoffs (rate, time to first reply and close), "
    "recommendations and clicks per day and per group, and the top questions.",
    tag="analytics",
    role="viewer",
    query=AnalyticsQuery,
    response=AnalyticsOut,
)
async def analytics_report(request: web.Request) -> web.Response:
    query = _query(request, AnalyticsQuery)
    report = await _report(request, query)
    groups = await asyncio.to_thread(store_for(_settings(request)).groups)
    out = AnalyticsOut.model_validate({**report.as_dict(), "known_groups": groups})
    return json_response(out.model_dump(mode="json", by_alias=True))


@_route(
    "GET",
    "/api/admin/analytics.csv",
    summary="Analytics report as CSV",
    description="UTF-8 with BOM (Excel opens Chinese correctly). kind=daily: one row per day "
    "and group plus a total row; kind=questions: the top questions.",
    tag="analytics",
    role="viewer",
    query=AnalyticsCsvQuery,
)
async def analytics_csv(request: web.Request) -> web.Response:
    query = _query(request, AnalyticsCsvQuery)
    report = await _report(request, query)
    body = daily_csv(report) if query.kind == "daily" else questions_csv(report)
    name = f"analytics-{query.kind}-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    return web.Response(
        body=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --------------------------------------------------------------------------- click redirect

# Link previews (chat apps fetch a link to show a card) are not a shopper's click.
_PREVIEW_AGENTS = re.compile(
    r"bot|crawler|spider|preview|facebookexternalhit|slack|whatsapp|telegram|discord|skype",
    re.I,
)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{4,32}$")


def public_routes() -> list[web.RouteDef]:
    """The shopper-facing redirect of tracked product links."""
    return [web.get("/go/{token}", follow_link)]


async def follow_link(request: web.Request) -> web.StreamResponse:
    """Count the click, then open the shop's product page or our own product detail page."""
    settings = _settings(request)
    token = request.match_info["token"]
    store = store_for(settings)
    if not _TOKEN.match(token):
        return _page(404, *_NOT_FOUND)
    preview = bool(_PREVIEW_AGENTS.search(request.headers.get("User-Agent", "")))
    try:
        record = store.link if preview else store.record_click
        link = await asyncio.to_thread(record, token)
    except Exception:  # noqa: BLE001 - a failed count must not stop the shopper
        logger.exception("could not record a product link click")
        link = await asyncio.to_thread(store.link, token)
    if link is None:
        return _page(404, *_NOT_FOUND)
    template = settings.analytics.product_url.strip()
    if template:
        raise web.HTTPFound(template.replace("{id}", quote(link.product_id, safe="")))
    product = await asyncio.to_thread(_product, request, link.kb, link.product_id)
    if product is None:
        return _page(404, *_GONE)
    return _page(200, *_product_page(product))


_NOT_FOUND = ("链接无效 Link not found", "这个链接无效或已失效。", "This link is not valid.")
_GONE = (
    "商品已下架 No longer available",
    "这款商品已下架,可以在群里问问小助手其他推荐。",
    "This product is no longer available; ask the assistant in the group for another.",
)


def _product(request: web.Request, kb: str, product_id: str) -> Any:
    from assistant.admin.api import _services

    services = _services(request)
    try:
        base = services.library.base(kb) if services.library is not None else services.knowledge
        record = base.get(product_id)
    except Exception:  # noqa: BLE001 - an unknown kb (since removed) is "not available"
        return None
    return record if getattr(record, "kind", "") == "product" else None


def _product_page(product: Any) -> tuple[str, ...]:
    zh = product.name_zh or product.name_en
    en = product.name_en or product.name_zh
    price = f"¥{product.price:g}" + (f" / {product.size}" if product.size else "")
    return (
        f"{zh} {en}" if zh != en else zh,
        f"{price}\n{product.description_zh}\n{product.usage_zh}".strip(),
        f"{product.description_en}\n{product.usage_en}".strip(),
    )


def _page(status: int, title: str, zh: str, en: str) -> web.Response:
    """A small page for shoppers' phones: everything escaped, Chinese first."""

    def paragraphs(text: str, lang: str) -> str:
        return "".join(
            f'<p lang="{lang}">{html.escape(line)}</p>' for line in text.splitlines() if line
        )

    body = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>"
        "body{font:16px/1.6 -apple-system,'PingFang SC','Noto Sans CJK SC',sans-serif;"
        "margin:0 auto;max-width:640px;padding:20px;color:#1d2421}"
        "h1{font-size:20px;color:#2f7d5b}p[lang=en]{color:#6b7772}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{paragraphs(zh, 'zh')}{paragraphs(en, 'en')}</body></html>"
    )
    return web.Response(
        status=status,
        text=body,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )

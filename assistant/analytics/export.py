"""The report as CSV for Excel: UTF-8 with a BOM (so Excel reads Chinese right), one row per
day and group, or one row per top question. Rates are percentages, times minutes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from assistant.analytics.report import Report

BOM = "\ufeff"

# (header, key in Figures.as_dict(), kind of number)
_DAILY: tuple[tuple[str, str, str], ...] = (
    ("消息数 messages", "messages", "int"),
    ("顾客数 shoppers", "shoppers", "int"),
    ("未解答 unanswered", "unanswered", "int"),
    ("未送达回答 not answered (Rasa down)", "failed", "int"),
    ("未解答率% unanswered rate %", "unanswered_rate", "pct"),
    ("转人工 handoffs", "handoffs", "int"),
    ("转人工率% handoff rate %", "handoff_rate", "pct"),
    ("首次回复中位分钟 first reply median min", "first_reply_minutes_median", "min"),
    ("关闭中位分钟 close median min", "close_minutes_median", "min"),
    ("推荐次数 recommendations", "recommendations", "int"),
    ("点击次数 clicks", "clicks", "int"),
    ("点击率% CTR %", "ctr", "pct"),
)
DAILY_HEADERS = ("日期 date", "群 group", *(h for h, _, _ in _DAILY))
QUESTION_HEADERS = ("问题 question", "次数 count", "未解答 unanswered", "群数 groups")


def daily_csv(report: Report) -> bytes:
    """One row per (day, group) with traffic, then one ``合计 total`` row for the range."""
    rows: list[list[Any]] = []
    for (day, group), figures in report.cells.items():
        rows.append([day, group, *_numbers(figures.as_dict())])
    total_label = f"{report.start.isoformat()}~{report.end.isoformat()}"
    rows.append([total_label, "合计 total", *_numbers(report.totals.as_dict())])
    return _csv(DAILY_HEADERS, rows)


def questions_csv(report: Report) -> bytes:
    rows = [[q.question, q.count, q.unanswered, q.groups] for q in report.top_questions]
    return _csv(QUESTION_HEADERS, rows)


def _numbers(values: dict[str, Any]) -> list[Any]:
    shown: list[Any] = []
    for _, key, kind in _DAILY:
        value = values[key]
        if value is None:
            shown.append("")
        elif kind == "pct":
            shown.append(f"{value * 100:.1f}")
        elif kind == "min":
            shown.append(f"{value:.1f}")
        else:
            shown.append(int(value))
    return shown


def _csv(headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(headers))
    for row in rows:
        # A cell starting with = + - @ would run as a formula in Excel: shopper text is data.
        writer.writerow([_safe(cell) for cell in row])
    return (BOM + out.getvalue()).encode("utf-8")


def _safe(cell: Any) -> Any:
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell

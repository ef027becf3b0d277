"""Staff reports over a date range: per day, per group, and the questions asked most.

Definitions (docs/analytics.md has them for staff too):

- *messages*: shopper messages addressed to the assistant; *shoppers*: distinct people.
- *unanswered rate*: messages answered "I don't know" (or not answered: Rasa down) / messages.
- *handoff rate*: handoff requests opened / conversations (a shopper in a group) with messages.
- *first reply / close time*: minutes from a handoff's request to staff's first reply / its close,
  median and average over handoffs that have that time (unknown when the store has no such time).
- *CTR*: clicks on tracked product links / products recommended.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Column, case, distinct, func, select

from assistant.analytics.handoffs import Handoff, read_handoffs
from assistant.analytics.store import AnalyticsStore, events, split_conversation

MAX_DAYS = 366
TOP_QUESTIONS = 20


class BadRange(ValueError):
    """The dates asked for cannot be reported (reversed, or too long)."""


@dataclass
class Figures:
    """The counts of one day, one group, one day in one group, or the whole range."""

    messages: int = 0
    shoppers: int = 0
    conversations: int = 0
    unanswered: int = 0
    failed: int = 0
    recommendations: int = 0
    clicks: int = 0
    handoffs: list[Handoff] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        first = [m for h in self.handoffs if (m := h.minutes_to_first_reply()) is not None]
        close = [m for h in self.handoffs if (m := h.minutes_to_close()) is not None]
        return {
            "messages": self.messages,
            "shoppers": self.shoppers,
            "conversations": self.conversations,
            "unanswered": self.unanswered,
            "failed": self.failed,
            "unanswered_rate": _rate(self.unanswered + self.failed, self.messages),
            "handoffs": len(self.handoffs),
            "handoffs_closed": sum(1 for h in self.handoffs if h.closed_at is not None),
            "handoff_rate": _rate(len(self.handoffs), self.conversations),
            "first_reply_minutes_median": _median(first),
            "first_reply_minutes_avg": _mean(first),
            "close_minutes_median": _median(close),
            "close_minutes_avg": _mean(close),
            "recommendations": self.recommendations,
            "clicks": self.clicks,
            "ctr": _rate(self.clicks, self.recommendations),
        }


@dataclass(frozen=True)
class TopQuestion:
    """One cluster of same-meaning questions: its most used wording and how often it came."""

    question: str
    count: int
    unanswered: int
    groups: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "count": self.count,
            "unanswered": self.unanswered,
            "unanswered_rate": _rate(self.unanswered, self.count),
            "groups": self.groups,
        }


@dataclass
class Report:
    start: date
    end: date
    group: str | None
    timezone: str
    totals: Figures
    days: dict[str, Figures]  # every day of the range, in order, zeros included
    groups: dict[str, Figures]  # groups with traffic, busiest first
    cells: dict[tuple[str, str], Figures]  # (day, group) with traffic
    top_questions: list[TopQuestion]

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "group": self.group,
            "timezone": self.timezone,
            "totals": self.totals.as_dict(),
            "days": [{"day": d, **f.as_dict()} for d, f in self.days.items()],
            "groups": [{"group": g, **f.as_dict()} for g, f in self.groups.items()],
            "top_questions": [q.as_dict() for q in self.top_questions],
        }


def build_report(store: AnalyticsStore, start: date, end: date, group: str | None = None) -> Report:
    """Figures from ``start`` to ``end`` (local days, both included), for one group or all."""
    if end < start:
        raise BadRange(f"'from' ({start}) is after 'to' ({end})")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRange(f"at most {MAX_DAYS} days at a time")
    group = group or None
    e = events.c
    with store.db.read() as conn:
        counted: dict[tuple[Column[Any], ...], dict[tuple[str, ...], Figures]] = {}
        for by in ((), (e.day,), (e.group_key,), (e.day, e.group_key)):
            counted[by] = _counts(conn, start, end, group, by)
        top = _top_questions(conn, start, end, group)
        opened_from = datetime.combine(start, time.min, store.zone)
        opened_to = datetime.combine(end + timedelta(days=1), time.min, store.zone)
        handoffs = read_handoffs(conn, opened_from, opened_to, store.schema)
    totals = counted[()].get((), Figures())
    days = {
        (start + timedelta(days=n)).isoformat(): Figures() for n in range((end - start).days + 1)
    }
    days.update({key[0]: f for key, f in counted[(e.day,)].items()})
    by_group = {key[0]: f for key, f in counted[(e.group_key,)].items()}
    cells = {(k[0], k[1]): f for k, f in counted[(e.day, e.group_key)].items()}
    for handoff in handoffs:
        group_key = split_conversation(handoff.conversation_id)[1]
        if group is not None and group_key != group:
            continue
        day = store.day_of(handoff.opened_at).isoformat()
        totals.handoffs.append(handoff)
        days.setdefault(day, Figures()).handoffs.append(handoff)
        by_group.setdefault(group_key, Figures()).handoffs.append(handoff)
        cells.setdefault((day, group_key), Figures()).handoffs.append(handoff)
    groups = dict(sorted(by_group.items(), key=lambda kv: (-kv[1].messages, kv[0])))
    return Report(
        start=start,
        end=end,
        group=group,
        timezone=store.zone.key,
        totals=totals,
        days=dict(sorted(days.items())),
        groups=groups,
        cells=dict(sorted(cells.items())),
        top_questions=top,
    )


def _counts(
    conn: Any, start: date, end: date, group: str | None, by: tuple[Column[Any], ...]
) -> dict[tuple[str, ...], Figures]:
    """Figures grouped ``by`` (no columns: one row for everything)."""
    e = events.c
    in_range = [e.day >= start.isoformat(), e.day <= end.isoformat()]
    if group is not None:
        in_range.append(e.group_key == group)
    messages = select(
        *by,
        func.count().label("messages"),
        func.count(distinct(e.person)).label("shoppers"),
        func.count(distinct(e.conversation_id)).label("conversations"),
        func.sum(case((e.outcome == "unanswered", 1), else_=0)).label("unanswered"),
        func.sum(case((e.outcome == "failed", 1), else_=0)).label("failed"),
    ).where(e.kind == "message", *in_range)
    others = select(*by, e.kind, func.count().label("n")).where(
        e.kind.in_(("recommendation", "click")), *in_range
    )
    if by:
        messages = messages.group_by(*by)
    others = others.group_by(*by, e.kind)
    found: dict[tuple[str, ...], Figures] = {}
    width = len(by)
    for row in conn.execute(messages):
        if not row.messages:
            continue
        found[tuple(row[:width])] = Figures(
            messages=int(row.messages),
            shoppers=int(row.shoppers),
            conversations=int(row.conversations),
            unanswered=int(row.unanswered or 0),
            failed=int(row.failed or 0),
        )
    for row in conn.execute(others):
        figures = found.setdefault(tuple(row[:width]), Figures())
        if row.kind == "recommendation":
            figures.recommendations = int(row.n)
        else:
            figures.clicks = int(row.n)
    return found


def _top_questions(conn: Any, start: date, end: date, group: str | None) -> list[TopQuestion]:
    e = events.c
    where = [
        e.kind == "message",
        e.question_key.is_not(None),
        e.day >= start.isoformat(),
        e.day <= end.isoformat(),
    ]
    if group is not None:
        where.append(e.group_key == group)
    not_answered = case((e.outcome.in_(("unanswered", "failed")), 1), else_=0)
    count = func.count().label("n")
    ranked = conn.execute(
        select(
            e.question_key,
            count,
            func.sum(not_answered).label("unanswered"),
            func.count(distinct(e.group_key)).label("groups"),
        )
        .where(*where)
        .group_by(e.question_key)
        .order_by(count.desc(), e.question_key)
        .limit(TOP_QUESTIONS)
    ).all()
    if not ranked:
        return []
    # Each cluster is shown in the wording shoppers used most (ties: the shortest).
    wordings: dict[str, Counter[str]] = defaultdict(Counter)
    for row in conn.execute(
        select(e.question_key, e.question, func.count().label("n"))
        .where(*where, e.question_key.in_([r.question_key for r in ranked]))
        .group_by(e.question_key, e.question)
    ):
        wordings[row.question_key][row.question or ""] += int(row.n)
    return [
        TopQuestion(
            question=min(wordings[r.question_key].items(), key=lambda kv: (-kv[1], len(kv[0])))[0],
            count=int(r.n),
            unanswered=int(r.unanswered or 0),
            groups=int(r.groups),
        )
        for r in ranked
    ]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None

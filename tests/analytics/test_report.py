"""Reports from recorded traffic: what staff read in the console and the CSV export.

Traffic is recorded through the same recorder the group layer calls, and handoffs through the
commerce store staff use, on real SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from assistant.analytics.export import DAILY_HEADERS, QUESTION_HEADERS, daily_csv, questions_csv
from assistant.analytics.report import BadRange, build_report
from assistant.analytics.store import AnalyticsStore
from assistant.messages import IncomingMessage, OutgoingReply
from tests.analytics.conftest import Stores

DAY1 = date(2025, 11, 18)
DAY2 = date(2025, 11, 19)
# 10:00 and 09:00 in China.
AT1 = datetime(2025, 11, 18, 2, 0, tzinfo=timezone.utc)
AT2 = datetime(2025, 11, 19, 1, 0, tzinfo=timezone.utc)
GROUP_A = "wecom:group-a"
GROUP_B = "feishu:group-b"


def turn(
    store: AnalyticsStore,
    group: str,
    user: str,
    text: str,
    at: datetime,
    *,
    answered: bool = True,
    message_id: str | None = None,
    **custom: object,
) -> IncomingMessage:
    """One addressed message and the replies the assistant gave, recorded as the app does."""
    platform, chat = group.split(":", 1)
    message = IncomingMessage(
        platform=platform,
        chat_id=chat,
        chat_type="group",
        sender_id=user,
        sender_name=user,
        text=text,
        message_id=message_id or uuid.uuid4().hex,
        mentions_assistant=True,
        received_at=at,
    )
    reply = OutgoingReply(
        platform=platform, chat_id=chat, to_user=user, to_user_name=user, text="…", custom=custom
    )
    store.record_turn(message, text.replace("@澜屿小助手", "").strip(), [reply], answered)
    return message


def busy_two_days(stores: Stores) -> None:
    """Two groups over two days: answers, an "I don't know", Rasa down, a recommendation,
    two handoffs (one answered in 6 min and closed in 30, one answered in 10) and a click."""
    a, commerce, clock = stores.analytics, stores.commerce, stores.clock
    turn(a, GROUP_A, "u1", "@澜屿小助手 请问孕妇能用吗?", AT1, known=True)
    turn(a, GROUP_A, "u2", "孕妇能用吗", AT1 + timedelta(minutes=1), known=False)
    turn(a, GROUP_A, "u1", "油皮推荐什么", AT1 + timedelta(minutes=2), recommended=["P1", "P2"])
    turn(a, GROUP_A, "u3", "孕妇能用?", AT2, answered=False)
    turn(a, GROUP_B, "u4", "发货要多久", AT1 + timedelta(minutes=3), known=True)
    turn(a, GROUP_B, "u4", "发货要多久？", AT2 + timedelta(minutes=5), known=True)

    def handoff(conversation: str, at: datetime, answered: int, closed: int | None) -> None:
        """A request at ``at``; staff reply ``answered`` and close ``closed`` minutes on."""
        clock.now = at
        request = commerce.request_handoff(
            conversation, reason="shopper_request", language="zh", text="转人工"
        )
        clock.now = at + timedelta(minutes=answered)
        commerce.answer_handoff(request.id, "staff-li")
        if closed is not None:
            clock.now = at + timedelta(minutes=closed)
            commerce.close_handoff(request.id, "staff-li")

    handoff("wecom:group-a:u2", AT1 + timedelta(minutes=1), answered=6, closed=30)
    handoff("feishu:group-b:u4", AT2 + timedelta(minutes=5), answered=10, closed=None)

    clock.now = AT1 + timedelta(minutes=20)
    token = a.make_link("wecom:group-a:u1", "P1")
    assert a.record_click(token) is not None
    assert a.record_click("no-such-token") is None


def test_totals_per_day_and_per_group_match_the_traffic(stores: Stores) -> None:
    busy_two_days(stores)
    report = build_report(stores.analytics, DAY1, DAY2).as_dict()

    totals = report["totals"]
    assert totals["messages"] == 6
    assert totals["shoppers"] == 4
    assert (totals["unanswered"], totals["failed"]) == (1, 1)
    assert totals["unanswered_rate"] == pytest.approx(2 / 6, abs=1e-4)
    assert totals["handoffs"] == 2 and totals["handoffs_closed"] == 1
    assert totals["handoff_rate"] == 0.5  # 2 handoffs over 4 shopper conversations
    assert totals["first_reply_minutes_median"] == 8.0
    assert totals["first_reply_minutes_avg"] == 8.0
    assert totals["close_minutes_median"] == 30.0
    assert (totals["recommendations"], totals["clicks"], totals["ctr"]) == (2, 1, 0.5)

    days = {d["day"]: d for d in report["days"]}
    assert list(days) == ["2025-11-18", "2025-11-19"]
    assert days["2025-11-18"]["messages"] == 4
    assert days["2025-11-18"]["unanswered_rate"] == 0.25
    assert days["2025-11-18"]["handoffs"] == 1
    assert days["2025-11-18"]["handoff_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert days["2025-11-19"]["messages"] == 2
    assert days["2025-11-19"]["unanswered_rate"] == 0.5
    assert days["2025-11-19"]["first_reply_minutes_median"] == 10.0
    assert days["2025-11-19"]["close_minutes_median"] is None  # still open

    groups = {g["group"]: g for g in report["groups"]}
    assert [g["group"] for g in report["groups"]] == [GROUP_A, GROUP_B]  # busiest first
    assert groups[GROUP_A]["messages"] == 4 and groups[GROUP_A]["shoppers"] == 3
    assert groups[GROUP_A]["clicks"] == 1 and groups[GROUP_A]["ctr"] == 0.5
    assert groups[GROUP_B]["unanswered_rate"] == 0.0
    assert groups[GROUP_B]["handoffs"] == 1


def test_top_questions_group_the_same_question_asked_in_different_words(
    stores: Stores,
) -> None:
    busy_two_days(stores)
    top = build_report(stores.analytics, DAY1, DAY2).as_dict()["top_questions"]
    assert top[0]["count"] == 3  # 请问孕妇能用吗? / 孕妇能用吗 / 孕妇能用?
    assert "孕妇能用" in top[0]["question"] and "@" not in top[0]["question"]
    assert top[0]["unanswered"] == 2
    assert top[1]["question"].startswith("发货要多久") and top[1]["count"] == 2


def test_a_range_and_a_group_narrow_the_report(stores: Stores) -> None:
    busy_two_days(stores)
    second_day = build_report(stores.analytics, DAY2, DAY2)
    assert second_day.totals.as_dict()["messages"] == 2
    assert [d for d in second_day.days] == ["2025-11-19"]

    group_b = build_report(stores.analytics, DAY1, DAY2, GROUP_B).as_dict()
    assert group_b["totals"]["messages"] == 2
    assert group_b["totals"]["handoffs"] == 1
    assert [g["group"] for g in group_b["groups"]] == [GROUP_B]
    assert [q["question"] for q in group_b["top_questions"]] == ["发货要多久"]


def test_every_day_of_the_range_is_listed_even_without_traffic(stores: Stores) -> None:
    busy_two_days(stores)
    report = build_report(stores.analytics, date(2025, 11, 16), date(2025, 11, 20))
    days = report.as_dict()["days"]
    assert [d["day"] for d in days] == [f"2025-11-{n}" for n in range(16, 21)]
    assert days[0]["messages"] == 0 and days[0]["unanswered_rate"] is None


def test_days_are_the_brands_local_days(stores: Stores) -> None:
    # 00:30 on the 19th in China is still the 18th in UTC.
    late = datetime(2025, 11, 18, 16, 30, tzinfo=timezone.utc)
    turn(stores.analytics, GROUP_A, "u9", "还有货吗", late, known=True)
    report = build_report(stores.analytics, DAY1, DAY2).as_dict()
    assert [d["messages"] for d in report["days"]] == [0, 1]


def test_a_message_answered_again_after_a_restart_counts_once(stores: Stores) -> None:
    first = turn(stores.analytics, GROUP_A, "u1", "油皮推荐", AT1, recommended=["P1"])
    turn(
        stores.analytics,
        GROUP_A,
        "u1",
        "油皮推荐",
        AT1,
        message_id=first.message_id,
        recommended=["P1"],
    )
    totals = build_report(stores.analytics, DAY1, DAY1).totals.as_dict()
    assert totals["messages"] == 1 and totals["recommendations"] == 1


def test_a_reversed_or_too_long_range_is_refused_clearly(stores: Stores) -> None:
    with pytest.raises(BadRange, match="after"):
        build_report(stores.analytics, DAY2, DAY1)
    with pytest.raises(BadRange, match="366"):
        build_report(stores.analytics, date(2024, 1, 1), date(2025, 6, 1))


def test_no_traffic_and_no_handoff_table_yet_is_an_empty_report(stores: Stores) -> None:
    report = build_report(stores.analytics, DAY1, DAY1).as_dict()
    assert report["totals"]["messages"] == 0
    assert report["totals"]["handoffs"] == 0 and report["totals"]["ctr"] is None
    assert report["groups"] == [] and report["top_questions"] == []


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode()), "Excel needs the BOM to read UTF-8 Chinese"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_csv_export_has_headers_a_row_per_day_and_group_and_a_total(stores: Stores) -> None:
    busy_two_days(stores)
    report = build_report(stores.analytics, DAY1, DAY2)
    rows = read_csv(daily_csv(report))
    assert tuple(rows[0]) == DAILY_HEADERS
    assert "未解答率% unanswered rate %" in rows[0]
    column = {name: index for index, name in enumerate(rows[0])}
    body = {(r[0], r[1]): r for r in rows[1:]}
    assert set(body) == {
        ("2025-11-18", GROUP_A),
        ("2025-11-18", GROUP_B),
        ("2025-11-19", GROUP_A),
        ("2025-11-19", GROUP_B),
        ("2025-11-18~2025-11-19", "合计 total"),
    }
    day1_a = body[("2025-11-18", GROUP_A)]
    assert day1_a[column["消息数 messages"]] == "3"
    assert day1_a[column["未解答率% unanswered rate %"]] == "33.3"
    assert day1_a[column["首次回复中位分钟 first reply median min"]] == "6.0"
    assert day1_a[column["点击率% CTR %"]] == "50.0"
    total = body[("2025-11-18~2025-11-19", "合计 total")]
    assert total[column["消息数 messages"]] == "6"
    assert total[column["转人工率% handoff rate %"]] == "50.0"

    questions = read_csv(questions_csv(report))
    assert tuple(questions[0]) == QUESTION_HEADERS
    assert questions[1][1] == "3" and "孕妇能用" in questions[1][0]


def test_a_question_that_looks_like_a_formula_stays_text_in_excel(stores: Stores) -> None:
    turn(stores.analytics, GROUP_A, "u1", "=HYPERLINK(1)", AT1, known=False)
    rows = read_csv(questions_csv(build_report(stores.analytics, DAY1, DAY1)))
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_a_shoppers_questions_are_exported_and_erased_but_counts_stay(stores: Stores) -> None:
    store = stores.analytics
    turn(store, GROUP_A, "amy", "@澜屿小助手 敏感肌用什么洁面", AT1)
    turn(store, GROUP_B, "amy", "@澜屿小助手 孕妇能用吗", AT1)  # another platform: another person
    turn(store, GROUP_A, "bob", "@澜屿小助手 敏感肌用什么洁面", AT1)

    exported = store.export_person("wecom:amy")
    assert [row["question"] for row in exported] == ["敏感肌用什么洁面"]

    assert store.delete_person("wecom:amy") == 1
    assert store.export_person("wecom:amy") == []
    report = build_report(store, AT1.date(), AT1.date())
    assert report.as_dict()["totals"]["messages"] == 3  # staff figures keep the turn
    top = report.as_dict()["top_questions"]
    assert [q["count"] for q in top if q["question"] == "敏感肌用什么洁面"] == [1]  # bob's only

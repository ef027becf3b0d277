"""The unanswered-questions log on real SQLite and PostgreSQL: what staff see in their inbox."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from assistant.feedback.unanswered import UnansweredLog, UnknownQuestion, normalise

POSTGRES_URL = os.environ.get(
    "SIYU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 11, 18, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def postgres_url() -> str:
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}")
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgres"])
def log(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[UnansweredLog]:
    if request.param == "sqlite":
        made = UnansweredLog(f"sqlite:///{tmp_path / 'commerce.db'}", clock=clock)
        yield made
        made.close()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"siyu_unanswered_test_{uuid.uuid4().hex[:12]}"
    made = UnansweredLog(url, schema=schema, clock=clock)
    yield made
    made.close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def test_a_question_is_kept_with_what_the_search_found(log: UnansweredLog) -> None:
    qid = log.record("default", "web:g1:u1", "可以寄到南极吗？", "zh", "low_score", 0.62, "FAQ-010")
    found = log.get(qid)
    assert found is not None
    assert (found.kb, found.text, found.lang, found.reason) == (
        "default",
        "可以寄到南极吗？",
        "zh",
        "low_score",
    )
    assert found.best_score == pytest.approx(0.62)
    assert found.best_id == "FAQ-010"
    assert found.count == 1 and found.status == "open"
    assert found.first_asked_at.tzinfo is not None
    assert [q.id for q in log.list("default")] == [qid]


def test_the_same_question_again_counts_instead_of_adding_a_row(
    log: UnansweredLog, clock: Clock
) -> None:
    first = log.record("default", "web:g1:u1", "可以寄到南极吗？", "zh", "low_score", 0.6, None)
    clock.advance(5)
    again = log.record("default", "web:g1:u2", "@澜屿小助手  可以寄到南极吗", "zh", "fallback")
    clock.advance(5)
    shouted = log.record("default", "web:g2:u3", "可以 寄到 南极 吗!!", "zh", "low_score", 0.7)
    assert first == again == shouted
    (only,) = log.list("default")
    assert only.count == 3
    assert only.text == "可以寄到南极吗？"  # the first wording is what staff read
    assert only.conversation_id == "web:g2:u3"  # the latest asking
    assert only.best_score == pytest.approx(0.7)
    assert only.last_asked_at - only.first_asked_at == timedelta(minutes=10)


def test_knowledge_bases_and_different_questions_are_kept_apart(log: UnansweredLog) -> None:
    a = log.record("default", "c", "Do you ship to Macau?", "en", "low_score", 0.5)
    b = log.record("brand-b", "c", "Do you ship to Macau?", "en", "low_score", 0.5)
    c = log.record("default", "c", "Do you ship to Taiwan?", "en", "fallback")
    assert len({a, b, c}) == 3
    assert {q.id for q in log.list("default")} == {a, c}
    assert {q.id for q in log.list(None)} == {a, b, c}


def test_most_asked_questions_come_first(log: UnansweredLog, clock: Clock) -> None:
    rare = log.record("default", "c", "rare question", "en", "fallback")
    for _ in range(3):
        clock.advance(1)
        common = log.record("default", "c", "Common question?", "en", "fallback")
    assert [q.id for q in log.list("default")] == [common, rare]


def test_resolving_and_dismissing_take_questions_out_of_the_inbox(log: UnansweredLog) -> None:
    a = log.record("default", "c", "question a", "en", "fallback")
    b = log.record("default", "c", "question b", "en", "fallback")
    resolved = log.resolve(a, "FAQ-NEW-1", "local")
    assert (resolved.status, resolved.faq_id, resolved.closed_by) == (
        "resolved",
        "FAQ-NEW-1",
        "local",
    )
    assert resolved.closed_at is not None
    dismissed = log.dismiss(b, "env-1")
    assert (dismissed.status, dismissed.closed_by) == ("dismissed", "env-1")
    assert log.list("default") == []
    assert {q.id for q in log.list("default", status=None)} == {a, b}
    assert [q.id for q in log.list("default", status="resolved")] == [a]
    assert log.counts("default") == {"open": 0, "resolved": 1, "dismissed": 1}


def test_asked_again_after_resolving_opens_again_but_dismissed_stays_dismissed(
    log: UnansweredLog,
) -> None:
    a = log.record("default", "c", "question a", "en", "fallback")
    b = log.record("default", "c", "question b", "en", "fallback")
    log.resolve(a, "FAQ-X", "local")
    log.dismiss(b, "local")
    log.record("default", "c", "Question A", "en", "low_score", 0.8)
    log.record("default", "c", "Question B", "en", "low_score", 0.8)
    reopened, still = log.get(a), log.get(b)
    assert reopened is not None and still is not None
    assert (reopened.status, reopened.count) == ("open", 2)
    assert (still.status, still.count) == ("dismissed", 2)


def test_unknown_ids_and_bad_input_are_refused(log: UnansweredLog) -> None:
    assert log.get(999_999) is None
    with pytest.raises(UnknownQuestion):
        log.resolve(999_999, "FAQ-1", "local")
    with pytest.raises(UnknownQuestion):
        log.dismiss(999_999, "local")
    with pytest.raises(ValueError, match="reason"):
        log.record("default", "c", "hello", "en", "bored")
    with pytest.raises(ValueError, match="text"):
        log.record("default", "c", "   ", "en", "fallback")


def test_concurrent_askings_of_one_question_make_one_row(log: UnansweredLog) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(
            pool.map(
                lambda i: log.record("default", f"c{i}", "同时问的问题", "zh", "fallback"),
                range(16),
            )
        )
    assert len(set(ids)) == 1
    (only,) = log.list("default")
    assert only.count == 16


def test_a_new_instance_sees_what_an_earlier_one_wrote(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'commerce.db'}"
    qid = UnansweredLog(url).record("default", "c", "kept across restarts?", "en", "fallback")
    again = UnansweredLog(url)
    found = again.get(qid)
    assert found is not None and found.text == "kept across restarts?"


def test_normalising_ignores_case_width_spaces_and_punctuation() -> None:
    assert normalise("孕妇能用吗？") == normalise("孕妇 能用吗")
    assert normalise("ＳＰＦ５０ 够吗") == normalise("spf50够吗?")
    assert normalise("@澜屿小助手 有赠品吗") == normalise("有赠品吗")
    assert normalise("有赠品吗") != normalise("有小样吗")

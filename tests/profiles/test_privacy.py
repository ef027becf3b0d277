"""Export and delete a shopper's data: theirs only, from every group, with an audit record."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from assistant.commerce.sql import SqlCommerce
from assistant.compliance.store import ComplianceLog
from assistant.feedback.unanswered import UnansweredLog
from assistant.groupchat.inbox import MessageInbox
from assistant.profiles.consent import CONSENT_VERSION, Consent
from assistant.profiles.privacy import PrivacyService
from assistant.profiles.store import ProfileStore, ShopperProfile
from assistant.profiles.trackers import RasaTrackerEraser, rasa_tracker_store_url
from tests.groupchat.test_rules import message
from tests.profiles.conftest import FakeRasa

LIN = "test:u1"  # 小林, in groups g1 and g2
MEI = "test:u2"  # 小美, in group g1 only


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path) -> dict[str, Any]:
    """Two shoppers' chats, questions, handoffs and review entries in one app database."""
    profiles = ProfileStore(sqlite_url)
    profiles.grant(
        LIN,
        ShopperProfile(skin_type="oily", concerns=("acne",), allergies=("nuts",)),
        Consent(datetime.now(timezone.utc), CONSENT_VERSION, "test:g1:u1"),
    )
    inbox = MessageInbox(sqlite_url)
    inbox.record(message("油皮长痘用什么", sender="u1", chat="g1"))
    inbox.record(message("小美的私事:我在备孕", sender="u2", chat="g1"))
    inbox.record(message("我对坚果过敏", sender="u1", chat="g2"))
    unanswered = UnansweredLog(sqlite_url)
    unanswered.record("default", "test:g1:u1", "能寄到澳门吗", "zh", "low_score")
    unanswered.record("default", "test:g1:u2", "有没有男士专用的", "zh", "low_score")
    unanswered.record("default", "test:g1:u2", "支持花呗吗", "zh", "fallback")
    unanswered.record("default", "test:g2:u1", "支持花呗吗", "zh", "fallback")  # asked by both
    ComplianceLog(sqlite_url).record(
        "test:g2:u1", "rewrite", ["abs-1"], ["absolute"], "zh", "最好的", "很好的"
    )
    commerce = SqlCommerce(sqlite_url)
    commerce.request_handoff("test:g1:u1", reason="shopper_request", language="zh", text="转人工")
    commerce.request_handoff("test:g1:u2", reason="shopper_request", language="zh", text="人工")
    # Rasa's SQL tracker store, as Rasa lays it out (the columns the eraser touches).
    tracker_db = tmp_path / "tracker.db"
    engine = create_engine(f"sqlite:///{tracker_db}")
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)")
        )
        for sender in ("test:g1:u1", "test:g2:u1", "test:g1:u2"):
            conn.execute(
                text("INSERT INTO events (sender_id, data) VALUES (:s, '{}')"), {"s": sender}
            )
    return {
        "url": sqlite_url,
        "profiles": profiles,
        "unanswered": unanswered,
        "commerce": commerce,
        "tracker_engine": engine,
        "tracker_db": tracker_db,
        "exports": tmp_path / "exports",
    }


def service(world: dict[str, Any], rasa: FakeRasa | None = None) -> PrivacyService:
    eraser = None
    if rasa is not None:
        eraser = RasaTrackerEraser(
            rasa.url, tracker_store_url=f"sqlite:///{world['tracker_db']}", timeout_seconds=5
        )
    return PrivacyService(
        world["url"], world["profiles"], eraser=eraser, exports_dir=world["exports"]
    )


def test_export_holds_the_shoppers_own_data_from_every_group(world: dict[str, Any]) -> None:
    data, path = service(world).write_export(LIN)

    assert [m["text"] for m in data["messages"]] == ["油皮长痘用什么", "我对坚果过敏"]
    assert data["conversations"] == ["test:g1:u1", "test:g2:u1"]
    assert data["profile"]["skin_type"] == "oily" and data["profile"]["allergies"] == ["nuts"]
    assert data["consent"]["version"] == CONSENT_VERSION
    assert [h["text"] for h in data["handoffs"]] == ["转人工"]
    assert {q["question"] for q in data["unanswered_questions"]} == {"能寄到澳门吗", "支持花呗吗"}
    assert data["compliance_reviews"][0]["after"] == "很好的"
    assert "Orders" in data["not_included"]
    # The file is the same data, and nothing of the other shopper is in it.
    written = path.read_text(encoding="utf-8")
    assert json.loads(written) == data
    assert "备孕" not in written and "男士" not in written and "u2" not in written
    assert path.parent == world["exports"] and "u1" not in path.name


async def test_delete_removes_the_shoppers_data_and_keeps_an_audit(
    world: dict[str, Any], rasa: FakeRasa
) -> None:
    privacy = service(world, rasa)

    report = await privacy.delete(LIN, requested_by="test:g2:u1", current_conversation="test:g2:u1")
    await privacy.settled()

    assert report.counts["profile"] == 1
    assert report.counts["messages"] == 2
    assert report.counts["handoffs"] == 1
    assert report.counts["unanswered_questions"] == 1  # only 小林 asked it
    assert report.counts["unanswered_unlinked"] == 1  # 小美 asked it too: kept, without 小林
    assert report.counts["conversations"] == 2 and report.erase_failed == ()
    # Rasa: both conversations replaced with no events, and their stored rows gone.
    assert rasa.replaced == {"test:g1:u1": [], "test:g2:u1": []}
    with world["tracker_engine"].connect() as conn:
        senders = conn.execute(text("SELECT sender_id FROM events")).scalars().all()
    assert senders == ["test:g1:u2"]

    after = privacy.export(LIN)
    assert after["profile"] is None and after["messages"] == [] and after["handoffs"] == []
    assert after["unanswered_questions"] == []
    # 小美's data is untouched.
    other = privacy.export(MEI)
    assert [m["text"] for m in other["messages"]] == ["小美的私事:我在备孕"]
    assert len(other["unanswered_questions"]) == 1 and len(other["handoffs"]) == 1
    shared = [q for q in world["unanswered"].list(status=None) if q.text == "支持花呗吗"]
    assert shared[0].count == 1 and shared[0].conversation_id == ""

    audit = world["profiles"].deletions(LIN)
    assert len(audit) == 1
    assert audit[0]["requested_by"] == "test:g2:u1" and audit[0]["counts"]["messages"] == 2
    assert "油皮" not in json.dumps(audit, ensure_ascii=False)  # who/when/how many, no content


async def test_a_conversation_rasa_could_not_erase_is_reported(
    world: dict[str, Any], rasa: FakeRasa
) -> None:
    rasa.failing.add("test:g1:u1")
    privacy = service(world, rasa)

    report = await privacy.delete(LIN, requested_by="test:g2:u1", current_conversation="test:g2:u1")
    await privacy.settled()

    assert report.erase_failed == ("test:g1:u1",)
    assert report.counts["messages"] == 2  # the rest is deleted all the same
    assert world["profiles"].deletions(LIN)[0]["counts"]["conversations_failed"] == 1


def test_the_tracker_store_is_read_from_rasas_endpoints_file(tmp_path: Path) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: .var/t.db\n")
    assert rasa_tracker_store_url(endpoints, tmp_path) == f"sqlite:///{tmp_path / '.var/t.db'}"
    endpoints.write_text(
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: db.local\n  port: 5433\n"
        "  username: rasa\n  password: s3cret\n  db: rasa\n"
    )
    assert (
        rasa_tracker_store_url(endpoints, tmp_path)
        == "postgresql+psycopg://rasa:s3cret@db.local:5433/rasa"
    )
    endpoints.write_text("tracker_store:\n  type: redis\n")
    assert rasa_tracker_store_url(endpoints, tmp_path) is None

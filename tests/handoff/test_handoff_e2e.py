"""Hand-off end to end on the real stack (Rasa + app): the shopper asks for a person and is
told, the assistant goes quiet for that shopper only, staff read the conversation and reply
from the admin API into the same web group (@) or privately, and closing gives the shopper
back to the assistant. Chinese and English."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import datetime, timezone
from typing import Any

from assistant.admin.auth import local_token
from assistant.profiles.consent import Consent
from assistant.profiles.store import ProfileStore, ShopperProfile
from tests.stack import RunningSystem


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)


def admin(system: RunningSystem, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        system.app_url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": f"Bearer {local_token(system.settings)}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def updates(system: RunningSystem, chat_id: str, after: int | None = None) -> dict[str, Any]:
    query = f"chat_id={chat_id}" + ("" if after is None else f"&after={after}")
    with urllib.request.urlopen(f"{system.app_url}/api/chat/updates?{query}", timeout=30) as r:
        return json.loads(r.read())


def handoff_of(system: RunningSystem, conversation_id: str) -> dict[str, Any]:
    status, listing = admin(system, "GET", "/api/admin/handoffs")
    assert status == 200, listing
    (found,) = [h for h in listing["items"] if h["conversation_id"] == conversation_id]
    return found


def test_zh_handoff_pauses_one_shopper_staff_reply_and_close(system: RunningSystem) -> None:
    group = f"g-handoff-{uuid.uuid4().hex[:6]}"
    lin, wang = f"lin-{uuid.uuid4().hex[:6]}", f"wang-{uuid.uuid4().hex[:6]}"
    conversation = f"web:{group}:{lin}"
    start = updates(system, group)["last"]

    told = texts(system.chat(lin, "@澜屿小助手 转人工", user_name="小林", chat_id=group))
    assert "人工顾问" in told and "工单" in told

    # Silent for 小林 only: the same question from 王姐 in the same group is answered.
    assert system.chat(lin, "@澜屿小助手 氨基酸洁面乳多少钱", user_name="小林", chat_id=group) == []
    assert "洁面" in texts(
        system.chat(wang, "@澜屿小助手 氨基酸洁面乳多少钱", user_name="王姐", chat_id=group)
    )

    listed = handoff_of(system, conversation)
    assert (listed["reason"], listed["stage"], listed["user_name"]) == (
        "shopper_request",
        "open",
        "小林",
    )
    assert listed["waiting_seconds"] >= 0 and listed["escalated"] is False

    # A shopper who agreed to keep a skin profile: staff see it beside the conversation.
    profiles = ProfileStore(system.settings.commerce_url)
    consent = Consent(datetime.now(timezone.utc), "v1", conversation)
    profiles.grant(f"web:{lin}", ShopperProfile(skin_type="oily", concerns=("acne",)), consent)
    profiles.close()

    status, detail = admin(system, "GET", f"/api/admin/handoffs/{listed['id']}")
    assert status == 200, detail
    assert "oily" in json.dumps(detail["profile"]) and "acne" in json.dumps(detail["profile"])
    said = [(line["speaker"], line["text"]) for line in detail["transcript"]]
    assert ("shopper", "转人工") in said
    assert ("shopper", "氨基酸洁面乳多少钱") in said  # asked while paused: staff still see it
    assert any(speaker == "assistant" and "工单" in text for speaker, text in said)
    assert detail["transcript_error"] is None

    status, sent = admin(
        system,
        "POST",
        f"/api/admin/handoffs/{listed['id']}/reply",
        {"text": "您好,我是顾问小美,洁面乳现在 89 元", "private": False},
    )
    assert status == 200, sent
    assert sent["delivered"] is True and sent["handoff"]["stage"] == "answered"
    status, whisper = admin(
        system,
        "POST",
        f"/api/admin/handoffs/{listed['id']}/reply",
        {"text": "给你私发一张优惠券", "private": True},
    )
    assert status == 200, whisper

    page = updates(system, group, start)
    shown = [(r["text"], r["private"], r["to_user"]) for r in page["replies"]]
    assert shown == [
        ("@小林 【人工顾问】您好,我是顾问小美,洁面乳现在 89 元", False, lin),
        ("【人工顾问】给你私发一张优惠券", True, lin),
    ]
    assert updates(system, group, page["last"])["replies"] == []  # nothing shown twice

    _, detail = admin(system, "GET", f"/api/admin/handoffs/{listed['id']}")
    staff_lines = [line for line in detail["transcript"] if line["speaker"] == "staff"]
    assert [line["staff"] for line in staff_lines] == ["local", "local"]

    status, closed = admin(system, "POST", f"/api/admin/handoffs/{listed['id']}/close")
    assert status == 200 and closed["stage"] == "closed" and closed["closed_by"] == "local"
    farewell = updates(system, group, page["last"])["replies"]
    assert "继续 @ 我" in farewell[0]["text"] and farewell[0]["text"].startswith("@小林")

    # The assistant answers 小林 again; a closed hand-off takes no more replies.
    assert "洁面" in texts(
        system.chat(lin, "@澜屿小助手 氨基酸洁面乳多少钱", user_name="小林", chat_id=group)
    )
    status, refused = admin(
        system, "POST", f"/api/admin/handoffs/{listed['id']}/reply", {"text": "还在吗"}
    )
    assert status == 409 and "closed" in refused["error"]


def test_en_handoff_and_close_speak_english(system: RunningSystem) -> None:
    group = f"g-handoff-en-{uuid.uuid4().hex[:6]}"
    amy = f"amy-{uuid.uuid4().hex[:6]}"
    start = updates(system, group)["last"]

    told = texts(
        system.chat(amy, "@assistant I need to speak to a human", user_name="Amy", chat_id=group)
    )
    assert "ticket" in told and "quiet" in told
    assert (
        system.chat(amy, "@assistant how much is the sunscreen?", user_name="Amy", chat_id=group)
        == []
    )

    listed = handoff_of(system, f"web:{group}:{amy}")
    assert listed["language"] == "en"
    status, _ = admin(system, "POST", f"/api/admin/handoffs/{listed['id']}/close")
    assert status == 200
    farewell = updates(system, group, start)["replies"]
    assert (
        farewell[0]["text"]
        == "@Amy Our team has finished helping you. Mention me any time if you have more questions."
    )
    assert system.chat(amy, "@assistant how much is the sunscreen?", user_name="Amy", chat_id=group)


def test_staff_errors_are_clear(system: RunningSystem) -> None:
    status, missing = admin(system, "GET", "/api/admin/handoffs/999999")
    assert status == 404 and "999999" in missing["error"]
    status, invalid = admin(system, "POST", "/api/admin/handoffs/999999/reply", {"text": ""})
    assert status == 422
    status, _ = admin(system, "GET", "/api/admin/handoffs?closed=-1")
    assert status == 422


def test_not_understood_twice_hands_over_without_asking_again(system: RunningSystem) -> None:
    group = f"g-handoff-fail-{uuid.uuid4().hex[:6]}"
    chen = f"chen-{uuid.uuid4().hex[:6]}"
    offered = texts(system.chat(chen, "@澜屿小助手 今天股市怎么样", chat_id=group))
    assert "需要转人工顾问吗" in offered
    handed = texts(system.chat(chen, "@澜屿小助手 今天股市怎么样", chat_id=group))
    assert "一直没能理解" in handed and "工单" in handed

    listed = handoff_of(system, f"web:{group}:{chen}")
    assert listed["reason"] in ("repeated_failure", "low_confidence")
    assert system.chat(chen, "@澜屿小助手 今天股市怎么样", chat_id=group) == []
    status, _ = admin(system, "POST", f"/api/admin/handoffs/{listed['id']}/close")
    assert status == 200

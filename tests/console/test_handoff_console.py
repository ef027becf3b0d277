"""The console's 转人工 Handoffs tab in headless Chromium against the real stack (Rasa + app):
staff see who waits and for how long, read the conversation, reply into the group and close."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

from playwright.sync_api import expect

from assistant.admin.auth import local_token
from tests.browser import Page, assert_chinese_renders, image_stats
from tests.handoff.test_handoff_e2e import admin
from tests.stack import RunningSystem


def staff_replies(system: RunningSystem, chat_id: str, after: int) -> list[dict]:
    url = f"{system.app_url}/api/chat/updates?chat_id={chat_id}&after={after}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())["replies"]


def test_staff_answer_and_close_a_handoff_in_the_console(
    page: Page, system: RunningSystem, screenshots: Path
) -> None:
    group = f"g-console-{uuid.uuid4().hex[:6]}"
    lin = f"lin-{uuid.uuid4().hex[:6]}"
    assert (
        "工单" in system.chat(lin, "@澜屿小助手 转人工", user_name="小林", chat_id=group)[0]["text"]
    )
    assert system.chat(lin, "@澜屿小助手 我的快递还没到", user_name="小林", chat_id=group) == []
    request = system.commerce().open_handoff_for(f"web:{group}:{lin}")
    assert request is not None
    # Nobody answered in time: the app's escalation check marks it (done here directly).
    assert system.commerce().escalate_handoff(request.id)

    page.goto(f"{system.app_url}/console")
    page.fill("#token", local_token(system.settings))
    page.click("#login-button")
    page.wait_for_selector("#app:not([hidden])")
    page.click(".tabs button[data-tab=handoffs]")
    row = page.locator(f"#handoff-list tbody tr[data-id='{request.id}']")
    expect(row).to_contain_text("小林")
    expect(row).to_contain_text("已升级 Escalated")
    expect(page.locator("#handoff-count")).to_be_visible()

    waiting = row.locator("td.waiting")
    before = waiting.inner_text()
    time.sleep(2.5)  # the cell is redrawn once a second
    assert waiting.inner_text() != before, "the waiting time should tick"
    assert "秒" in before and "s" in before

    row.click()
    transcript = page.locator("#handoff-transcript")
    expect(transcript).to_contain_text("转人工")
    expect(transcript).to_contain_text("我的快递还没到")
    expect(page.locator("#handoff-profile")).to_be_visible()
    assert_chinese_renders(page, "#handoff-transcript .said")

    page.fill("#handoff-text", "您好,我是顾问小美,马上帮你查快递")
    page.check("input[name=handoff-where][value=group]")
    page.click("#handoff-send")
    expect(page.locator("#toast")).to_contain_text("已发送")
    expect(transcript).to_contain_text("【人工顾问】您好,我是顾问小美")
    assert staff_replies(system, group, 0)[-1]["text"].startswith("@小林 【人工顾问】您好")

    shot = screenshots / "console-handoffs.png"
    png = page.screenshot(path=str(shot))
    stats = image_stats(page, png)
    assert stats["variance"] > 100 and stats["colours"] > 20, stats

    page.click("#handoff-close")
    expect(page.locator("#toast")).to_contain_text("已结束")
    expect(page.locator("#handoff-detail .meta")).to_contain_text("已结束 Closed")
    expect(page.locator("#handoff-reply")).to_have_count(0)
    assert system.chat(lin, "@澜屿小助手 氨基酸洁面乳多少钱", user_name="小林", chat_id=group)


def test_staff_replies_reach_the_web_group_chat_page(page: Page, system: RunningSystem) -> None:
    # 王姐 is one of the playground's demo shoppers in its first group.
    conversation = "web:demo-group:u-wang"
    assert (
        "工单"
        in system.chat("u-wang", "@澜屿小助手 转人工", user_name="王姐", chat_id="demo-group")[0][
            "text"
        ]
    )
    request = system.commerce().open_handoff_for(conversation)
    page.goto(system.app_url + "/")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_timeout(500)  # the first poll learns where "now" is

    try:
        status, _ = admin(
            system, "POST", f"/api/admin/handoffs/{request.id}/reply", {"text": "王姐您好,我来帮您"}
        )
        assert status == 200
        group = page.locator("#messages .msg.bot[data-to='u-wang'] .bubble")
        expect(group.last).to_contain_text("【人工顾问】王姐您好,我来帮您", timeout=10_000)
        assert group.last.inner_text().startswith("@王姐")
    finally:
        status, _ = admin(system, "POST", f"/api/admin/handoffs/{request.id}/close")
        assert status == 200
    expect(group.last).to_contain_text("继续 @ 我", timeout=10_000)

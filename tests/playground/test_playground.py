"""The web group chat playground: group semantics tried without any platform, end to end.

Several shoppers in two groups talk through the page → ``POST /api/chat/send`` → the shared group
layer → Rasa → actions → knowledge. Every message is sent, with ``mentioned`` saying whether it
@-mentions the assistant; the group layer decides what is answered. Every screenshot is checked,
not just taken: not blank, and Chinese renders as glyphs, not missing-font boxes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from assistant.config import GroupPolicy
from assistant.connectors.web import ChatSend, WebConnector
from assistant.groupchat.inbox import MessageInbox
from assistant.groupchat.pipeline import ChatRules, GroupChat
from assistant.http_errors import json_errors
from tests import catalogue
from tests.browser import assert_chinese_renders, image_stats
from tests.stack import RunningSystem

Page = Any
ASSISTANT = "澜屿小助手"
GROUP_1, GROUP_2 = "demo-group", "demo-newbies"

# ------------------------------------------------------------------ the API (no browser)
# These come first: the browser fixture (module scope) keeps Playwright's event loop running
# in this thread, and the first test runs its own loop with asyncio.run.


class FakeRasa:
    """Answers every message it is given, and remembers what it was given."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def send(self, conversation_id: str, text: str, metadata: dict) -> list[dict]:
        self.seen.append(text)
        return [{"text": f"答:{text}"}]


def test_the_group_layer_decides_on_unaddressed_messages_from_the_page(tmp_path: Path) -> None:
    rasa = FakeRasa()
    rules = ChatRules(
        assistant_names=(ASSISTANT,),
        groups={
            "web:open-group": GroupPolicy(product_questions=True),
            "web:keyword-group": GroupPolicy(keywords=["小助手在吗"]),
        },
    )
    chat = GroupChat(rasa, MessageInbox(f"sqlite:///{tmp_path / 'inbox.db'}"), rules)  # type: ignore[arg-type]
    app = web.Application(middlewares=[json_errors])
    app.add_routes(WebConnector(chat).routes())
    shopper = {"user_id": "u1", "user_name": "小林"}

    async def scenario() -> dict[str, Any]:
        async with TestClient(TestServer(app)) as client:

            async def send(chat_id: str, text: str, **extra: Any) -> Any:
                body = {"chat_id": chat_id, "text": text, **shopper, **extra}
                response = await client.post("/api/chat/send", json=body)
                return response.status, await response.json()

            info = await (await client.get("/api/chat/info")).json()
            return {
                "info": info,
                "chatter": await send("quiet-group", "大家好呀", mentioned=False),
                "product_no_policy": await send(
                    "quiet-group", "油皮用哪款洗面奶?", mentioned=False
                ),
                "product_policy": await send("open-group", "油皮用哪款洗面奶?", mentioned=False),
                "keyword": await send("keyword-group", "小助手在吗 想问个事", mentioned=False),
                "mentioned": await send("quiet-group", f"@{ASSISTANT} 你好", mentioned=True),
                "default": await send("quiet-group", "你好呀"),
                "not_bool": await send("quiet-group", "你好", mentioned="yes"),
            }

    got = asyncio.run(scenario())
    assert got["info"]["assistant_name"] == ASSISTANT
    assert got["info"]["groups"]["open-group"]["product_questions"] is True
    assert got["info"]["groups"]["keyword-group"]["keywords"] == ["小助手在吗"]
    assert got["chatter"] == (200, {"replies": []})
    assert got["product_no_policy"] == (200, {"replies": []})
    for case in ("product_policy", "keyword", "mentioned", "default"):
        status, body = got[case]
        assert status == 200 and len(body["replies"]) == 1, (case, body)
        reply = body["replies"][0]
        assert reply["text"].startswith("@小林 答:") and not reply["private"], (case, reply)
        assert (reply["to_user"], reply["to_user_name"]) == ("u1", "小林")
    status, body = got["not_bool"]
    assert status == 422 and any(f["field"] == "mentioned" for f in body["fields"]), body
    # Only the addressed messages reached Rasa, without the @-mention.
    assert rasa.seen == ["油皮用哪款洗面奶?", "小助手在吗 想问个事", "你好", "你好呀"]


def test_parse_sets_the_mention_from_the_request() -> None:
    base = {"chat_id": "g", "user_id": "u", "user_name": "n", "text": "hi"}
    assert WebConnector.parse(ChatSend(**base)).mentions_assistant is True
    assert WebConnector.parse(ChatSend(**base, mentioned=False)).mentions_assistant is False


def test_the_running_app_answers_only_what_is_addressed(system: RunningSystem) -> None:
    body = {"chat_id": "g-play-api", "user_id": "u-play", "user_name": "小周"}
    status, answer = system.post(
        "/api/chat/send", {**body, "text": "今天好热啊", "mentioned": False}
    )
    assert (status, answer) == (200, {"replies": []})
    status, answer = system.post("/api/chat/send", {**body, "text": f"@{ASSISTANT} 你好"})
    assert status == 200 and answer["replies"][0]["text"].startswith("@小周 ")


# ------------------------------------------------------------------ page helpers


def shoot(
    page: Page, folder: Path, name: str, chinese_in: tuple[str, ...] = ("header h1",)
) -> Path:
    """Screenshot the page into ``folder``; fail if it is blank or Chinese shows as boxes."""
    path = folder / f"playground-{name}.png"
    png = page.screenshot(path=str(path), full_page=False)
    stats = image_stats(page, png)
    assert stats["width"] >= 1000 and stats["height"] >= 600, stats
    assert stats["variance"] > 100 and stats["colours"] > 20, f"{name} looks blank: {stats}"
    # After the screenshot: the glyph check rewrites the elements' text (and drops the
    # highlighted @-mentions), so the page draws itself again afterwards.
    for selector in chinese_in:
        assert_chinese_renders(page, selector)
    page.evaluate("render()")
    return path


def open_playground(page: Page, system: RunningSystem) -> None:
    page.goto(system.app_url + "/")
    page.wait_for_selector("body[data-ready='1']")


def choose_group(page: Page, chat_id: str) -> None:
    page.click(f"#groups li[data-chat='{chat_id}']")
    page.wait_for_selector(f"#groups li.active[data-chat='{chat_id}']")


def choose_shopper(page: Page, user_id: str) -> None:
    page.click(f"#members li[data-user='{user_id}']")
    page.wait_for_selector(f"#members li.active[data-user='{user_id}']")


def say(page: Page, text: str, *, mention: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send ``text`` as the current shopper (after the @-button when ``mention``); returns the
    request body and the response once the page has shown the outcome."""
    box = page.locator("#text")
    box.fill("")
    if mention:
        page.click("#mention")
        assert box.input_value() == f"@{ASSISTANT} "
    box.fill(box.input_value() + text)
    sent = page.locator("#messages .msg[data-kind=shopper]").count()
    with page.expect_response("**/api/chat/send") as answered:
        page.click("#send")
    response = answered.value
    page.wait_for_function(
        "n => { const m = document.querySelectorAll('#messages .msg[data-kind=shopper]')[n];"
        " return m && m.dataset.state !== 'pending'; }",
        arg=sent,
    )
    return response.request.post_data_json, response.json()


def bot_texts(page: Page) -> list[str]:
    return page.locator("#messages .msg.bot .bubble").all_inner_texts()


def private_texts(page: Page) -> list[str]:
    return page.locator("#private .pm").all_inner_texts()


# ------------------------------------------------------------------ the page


def test_an_order_question_is_answered_privately_with_a_pointer_in_the_group(
    page: Page, system: RunningSystem, playground_screenshots: Path
) -> None:
    order = system.orders["transit"]
    open_playground(page, system)
    assert "小林" in page.inner_text("#speaker")  # shopper A speaks first
    assert page.locator("#members li").count() == 3
    assert page.locator("#groups li").count() == 2

    request, response = say(
        page, f"订单{order.order_id} 手机尾号{order.digits} 到哪了", mention=True
    )
    assert request["mentioned"] is True and request["chat_id"] == GROUP_1
    assert request["user_id"] == "u-lin" and request["text"].startswith(f"@{ASSISTANT} ")
    assert any(r["private"] for r in response["replies"]), response

    # The group shows only a pointer, @-mentioning A; the details are in A's private panel.
    group = bot_texts(page)
    assert group and all(t.startswith("@小林 ") for t in group), group
    assert any("私信" in t for t in group), group
    assert not any(order.order_id in t or "武汉" in t for t in group), group
    assert page.locator("#messages .msg.bot[data-to='u-lin'] .at.me").count() == len(group)
    private = private_texts(page)
    assert any(order.order_id in t and "武汉" in t for t in private), private
    assert "小林" in page.inner_text("#private-title")
    shoot(page, playground_screenshots, "order", chinese_in=("header h1", "#private .pm .text"))

    # Shopper B sees the same group but only their own (empty) private panel.
    choose_shopper(page, "u-amy")
    assert "Amy" in page.inner_text("#speaker") and "Amy" in page.inner_text("#private-title")
    assert private_texts(page) == []
    assert "Amy" in page.inner_text("#private .empty")
    assert order.order_id not in page.inner_text("#private-panel")
    assert bot_texts(page) == group
    # The group is now seen as B: A's message is on the other side.
    assert page.locator("#messages .msg.self[data-from='u-lin']").count() == 0
    shoot(page, playground_screenshots, "private-b", chinese_in=("header h1", "#private .empty"))

    choose_shopper(page, "u-lin")
    assert any(order.order_id in t for t in private_texts(page))


def test_unaddressed_chatter_is_not_answered_and_a_product_question_is(
    page: Page, system: RunningSystem, playground_screenshots: Path
) -> None:
    open_playground(page, system)
    choose_shopper(page, "u-amy")

    request, response = say(page, "大家晚上好,今天有人去门店吗", mention=False)
    assert request["mentioned"] is False and response == {"replies": []}
    chatter = page.locator("#messages .msg[data-kind=shopper]").last
    assert chatter.get_attribute("data-state") == "ignored"
    assert "不回复" in chatter.inner_text()
    assert bot_texts(page) == []
    assert page.locator("#messages .typing").count() == 0

    request, response = say(page, "有没有适合油皮的防晒", mention=True)
    assert request["mentioned"] is True
    answers = bot_texts(page)
    assert answers and all(t.startswith("@Amy ") for t in answers), answers
    named = catalogue.product_names_in("\n".join(answers))
    assert named and all(p.category == "sunscreen" and "oily" in p.skin_types for p in named)
    assert page.locator("#messages .msg.bot[data-to='u-amy'] .at.me").count() == len(answers)
    assert private_texts(page) == []
    shoot(
        page,
        playground_screenshots,
        "product",
        chinese_in=("header h1", "#messages .msg.bot .bubble"),
    )


def test_two_groups_keep_their_own_histories_and_shoppers_can_be_added(
    page: Page, system: RunningSystem, playground_screenshots: Path
) -> None:
    open_playground(page, system)
    say(page, "我先潜水看看", mention=False)  # something in group 1's history

    choose_group(page, GROUP_2)
    assert "新品体验群" in page.inner_text("#group-title")
    assert page.locator("#messages .msg").count() == 0  # nothing of group 1
    members = page.locator("#members li").evaluate_all("rows => rows.map(r => r.dataset.user)")
    assert members == ["u-lin", "u-chen"]

    page.fill("#new-name", "小周")
    page.click("#add-button")
    page.wait_for_selector("#members li.active:has-text('小周')")
    assert "小周" in page.inner_text("#speaker")
    assert "小周 加入了群聊" in page.inner_text("#messages")
    page.fill("#new-name", "小周")  # the same name twice is refused
    page.click("#add-button")
    assert "已在群里" in page.inner_text("#add-error")
    assert page.locator("#members li").count() == 3

    request, _ = say(page, "敏感肌用哪款洗面奶?", mention=True)
    assert request["chat_id"] == GROUP_2 and request["user_name"] == "小周"
    new_id = request["user_id"]
    assert new_id not in ("u-lin", "u-chen")
    answers = bot_texts(page)
    assert answers and all(t.startswith("@小周 ") for t in answers), answers

    choose_group(page, GROUP_1)
    group_1 = page.inner_text("#messages")
    assert "我先潜水看看" in group_1 and "小周" not in group_1 and "洗面奶" not in group_1
    assert new_id not in page.locator("#members li").evaluate_all(
        "rows => rows.map(r => r.dataset.user)"
    )
    assert "小林" in page.inner_text("#speaker")  # 小周 is not in group 1

    choose_group(page, GROUP_2)
    assert bot_texts(page) == answers and "我先潜水看看" not in page.inner_text("#messages")
    shoot(
        page,
        playground_screenshots,
        "groups",
        chinese_in=("header h1", "#messages .msg.bot .bubble"),
    )

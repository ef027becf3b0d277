"""A photo's way in: the web chat upload (refused clearly when it is no image), the group
layer handing Rasa ``/send_photo`` with the attachments, and staff reading tickets and photos
through the admin API."""

from __future__ import annotations

import base64
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from assistant.admin.auth import local_token
from assistant.admin.tickets_api import ticket_routes
from assistant.aftersales.service import AfterSales
from assistant.aftersales.store import SqlTickets
from assistant.app import SERVICES
from assistant.config import AdminSettings, AdminToken, Settings
from assistant.connectors.web import WebConnector
from assistant.groupchat.inbox import MessageInbox
from assistant.groupchat.pipeline import ChatRules, GroupChat
from assistant.http_errors import json_errors
from assistant.messages import IncomingMessage
from assistant.rasa_client import RasaClient
from tests.aftersales.images import JPEG, PDF
from tests.connectors.harness import FakePlatform

RASA_PATH = "/webhooks/gateway/webhook"
VIEWER = "viewer-token-for-ticket-tests"


@pytest.fixture
async def rasa() -> Any:
    """A stand-in for Rasa's gateway channel that records what the group layer sends."""
    fake = FakePlatform()
    fake.route("POST", RASA_PATH, [{"recipient_id": "x", "text": "收到照片"}])
    yield fake, await fake.start()
    await fake.close()


@pytest.fixture
async def web_client(rasa: Any, tmp_path: Path) -> Any:
    _, url = rasa
    chat = GroupChat(
        RasaClient(url),
        MessageInbox(f"sqlite:///{tmp_path / 'inbox.db'}"),
        ChatRules(assistant_names=("澜屿小助手",)),
    )
    app = web.Application(middlewares=[json_errors], client_max_size=1024 * 1024)
    app.add_routes(WebConnector(chat).routes())
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()
    await chat.rasa.close()


def _send(image: bytes | None, text: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"chat_id": "g1", "user_id": "u1", "user_name": "小林", "text": text}
    if image is not None:
        body["image"] = "data:image/jpeg;base64," + base64.b64encode(image).decode()
    return body


async def test_a_web_photo_reaches_rasa_as_send_photo_with_its_attachment(
    web_client: TestClient, rasa: Any
) -> None:
    fake, _ = rasa
    response = await web_client.post("/api/chat/send", json=_send(JPEG, "@澜屿小助手"))
    assert response.status == 200, await response.text()
    assert [r["text"] for r in (await response.json())["replies"]] == ["@小林 收到照片"]
    (call,) = fake.calls_to(RASA_PATH)
    sent = call.json()
    assert sent["message"] == "/send_photo"
    (attachment,) = sent["metadata"]["attachments"]
    assert attachment["kind"] == "image" and attachment["content_type"] == "image/jpeg"


async def test_a_photo_with_words_sends_the_words_and_keeps_the_photo_in_the_metadata(
    web_client: TestClient, rasa: Any
) -> None:
    fake, _ = rasa
    response = await web_client.post("/api/chat/send", json=_send(JPEG, "@澜屿小助手 盒子压坏了"))
    assert response.status == 200
    (call,) = fake.calls_to(RASA_PATH)
    assert call.json()["message"] == "盒子压坏了"
    assert call.json()["metadata"]["attachments"][0]["kind"] == "image"


async def test_a_web_upload_that_is_not_an_image_is_refused_with_a_clear_message(
    web_client: TestClient, rasa: Any
) -> None:
    fake, _ = rasa
    response = await web_client.post("/api/chat/send", json=_send(PDF))
    assert response.status == 422
    body = await response.json()
    assert body["code"] == "photo_not_image" and "只能发送图片" in body["error"]
    big = JPEG + b"\0" * (700 * 1024)
    response = await web_client.post("/api/chat/send", json=_send(big))
    assert response.status == 422 and (await response.json())["code"] == "photo_too_large"
    assert fake.calls_to(RASA_PATH) == []  # nothing refused went on to Rasa


# ------------------------------------------------------------------ admin API
@pytest.fixture
async def admin(tmp_path: Path) -> Any:
    settings = Settings(
        data_dir=tmp_path,
        admin=AdminSettings(tokens=[AdminToken(name="victor", role="viewer", token=VIEWER)]),
    )
    tickets = SqlTickets(settings.commerce_url, tmp_path / "tickets")
    app = web.Application(middlewares=[json_errors])
    app[SERVICES] = SimpleNamespace(settings=settings, aftersales=AfterSales(tickets))  # type: ignore[misc]
    app.add_routes(ticket_routes())
    client = TestClient(TestServer(app))
    await client.start_server()
    headers = {"Authorization": f"Bearer {local_token(settings)}"}
    yield client, tickets, headers
    await client.close()
    tickets.close()


async def test_staff_list_show_and_move_a_ticket_with_its_photo(admin: Any) -> None:
    client, tickets, headers = admin
    ticket = tickets.create(
        order_id="DD202611260001",
        person="telegram:42",
        conversation_id="telegram:-100:42",
        kind="quality",
        reason="瓶子漏了",
    )
    tickets.add_photo(ticket.ticket_id, JPEG, source="telegram")

    listed = await (await client.get("/api/admin/tickets?status=submitted", headers=headers)).json()
    assert [t["ticket_id"] for t in listed["items"]] == [ticket.ticket_id]

    shown = await (
        await client.get(f"/api/admin/tickets/{ticket.ticket_id}", headers=headers)
    ).json()
    (photo,) = shown["photos"]
    image = await client.get(photo["url"], headers=headers)
    assert image.status == 200 and image.content_type == "image/jpeg"
    assert await image.read() == JPEG

    moved = await client.post(
        f"/api/admin/tickets/{ticket.ticket_id}/status",
        json={"status": "reviewing", "note": "正在核实"},
        headers=headers,
    )
    assert moved.status == 200
    body = await moved.json()
    assert body["status"] == "reviewing"
    assert body["history"][-1] == {**body["history"][-1], "actor": "local", "note": "正在核实"}

    refused = await client.post(
        f"/api/admin/tickets/{ticket.ticket_id}/status",
        json={"status": "submitted"},
        headers=headers,
    )
    assert refused.status == 409 and "reviewing" in (await refused.json())["error"]
    missing = await client.get("/api/admin/tickets/SH20990101001", headers=headers)
    assert missing.status == 404


async def test_tickets_need_an_editor_token(admin: Any) -> None:
    client, _, _ = admin
    assert (await client.get("/api/admin/tickets")).status == 401
    viewer = {"Authorization": f"Bearer {VIEWER}"}
    assert (await client.get("/api/admin/tickets", headers=viewer)).status == 403


async def test_a_photo_kept_in_the_inbox_across_a_restart_keeps_its_attachment(
    tmp_path: Path,
) -> None:
    inbox = MessageInbox(f"sqlite:///{tmp_path / 'inbox.db'}")
    photo = IncomingMessage(
        platform="line",
        chat_id="U1",
        chat_type="private",
        sender_id="U1",
        sender_name="",
        text="",
        message_id="48151623",
        attachments=[{"kind": "image", "ref": "48151623"}],
    )
    assert inbox.record(photo)
    (kept,) = MessageInbox(f"sqlite:///{tmp_path / 'inbox.db'}").pending()
    assert kept.attachments == [{"kind": "image", "ref": "48151623"}]

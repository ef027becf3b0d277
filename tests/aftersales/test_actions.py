"""After-sales in conversation: the ticket offer after a return check, creating it on "yes",
its status for its own shopper only, and photos kept with the shopper's open ticket.

Actions run in-process on the app's real services (knowledge base with the returns policy,
SQLite commerce store) with rasa-sdk trackers, as Rasa would call them.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.aftersales import ActionAttachPhoto, ActionTicketStatus, on_ticket_confirm
from actions.orders import ActionAnswerReturn, ActionOrderAnswer
from assistant import runtime
from assistant.aftersales.media import media_fetchers
from assistant.aftersales.service import aftersales_for
from assistant.connectors.web import WebConnector
from tests.aftersales.images import JPEG, PDF
from tests.commerce.factories import make_order


@pytest.fixture
def app(services: Any) -> Any:
    runtime.configure(services)
    return services


def _order(app: Any, *, days_ago: int = 2, opened: bool = False, status: str = "delivered") -> str:
    order_id = f"DD2026{uuid.uuid4().int % 10**8:08d}"
    delivered = datetime.now(timezone.utc) - timedelta(days=days_ago)
    app.commerce.add_orders(
        [make_order(order_id, status=status, delivered_at=delivered, opened=opened)]
    )
    return order_id


def _sender(user: str | None = None, chat: str = "g1") -> str:
    return f"web:{chat}:{user or uuid.uuid4().hex[:10]}"


def _tracker(
    sender: str,
    text: str,
    *,
    intent: str = "return_request",
    slots: dict[str, Any] | None = None,
    earlier: list[str] = (),
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    # Earlier turns asked for the return; the latest is whatever ``intent`` says (the order
    # form's "尾号3821" turns are inform).
    said = [(t, "return_request") for t in earlier] + [(text, intent)]
    events = [{"event": "user", "text": t, "parse_data": {"intent": {"name": i}}} for t, i in said]
    latest = {"text": text, "intent": {"name": intent}, "metadata": metadata or {}}
    return Tracker(sender, dict(slots or {}), latest, events, False, None, {}, "action_listen")


def _form_turn(sender: str, order_id: str, request: str) -> Tracker:
    """The order form's last turn (digits given, order verified) after ``request``."""
    return _tracker(
        sender, "尾号3821", intent="inform", earlier=[request], slots=_verified(order_id)
    )


def _status_tracker(sender: str, text: str, **kwargs: Any) -> Tracker:
    return _tracker(sender, text, intent="ticket_status", **kwargs)


def _verified(order_id: str) -> dict[str, Any]:
    return {"order_id": order_id, "verified_order_id": order_id}


async def _run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain={})
    return dispatcher.messages, events


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


def _private(message: dict[str, Any]) -> bool:
    return bool((message.get("custom") or {}).get("private"))


# ------------------------------------------------------------------ offer and confirmation
async def test_an_eligible_return_is_offered_a_ticket_and_yes_creates_it(app: Any) -> None:
    order_id = _order(app, days_ago=2)
    sender = _sender()
    asked = _tracker(
        sender, "DD 尾号 3821", intent="inform", earlier=["我想退货"], slots=_verified(order_id)
    )
    messages, events = await _run(ActionOrderAnswer(), asked)
    assert order_id in messages[0]["text"] and _private(messages[0])
    assert messages[-1]["text"] == "要我帮你提交退货申请吗?"
    assert SlotSet("awaiting", "return_ticket") in events

    dispatcher = CollectingDispatcher()
    slots = {**_verified(order_id), "awaiting": "return_ticket"}
    events = on_ticket_confirm(
        _tracker(sender, "好的", earlier=["我想退货"], slots=slots), dispatcher, True
    )
    ticket = aftersales_for(app).tickets.open_for_order(order_id)
    assert ticket is not None and ticket.kind == "return"
    assert ticket.person == f"web:{sender.split(':')[2]}"
    (reply,) = dispatcher.messages
    assert ticket.ticket_id in reply["text"] and order_id in reply["text"]
    assert _private(reply)  # the order number stays out of the group
    assert SlotSet("last_ticket_id", ticket.ticket_id) in events
    assert SlotSet("awaiting", None) in events


async def test_asking_again_for_the_same_order_gives_the_open_ticket(app: Any) -> None:
    order_id = _order(app)
    sender = _sender()
    tracker = _tracker(sender, "是的", earlier=["想退货"], slots=_verified(order_id))
    on_ticket_confirm(tracker, CollectingDispatcher(), True)
    first = aftersales_for(app).tickets.open_for_order(order_id)
    dispatcher = CollectingDispatcher()
    events = on_ticket_confirm(tracker, dispatcher, True)
    assert "不用重复提交" in dispatcher.messages[0]["text"]
    assert SlotSet("last_ticket_id", first.ticket_id) in events
    assert aftersales_for(app).tickets.open_for_order(order_id) == first


@pytest.mark.parametrize(
    ("days_ago", "opened", "why"),
    [(40, False, "超过了 7 天"), (2, True, "已拆封")],
    ids=["window-expired", "opened"],
)
async def test_not_eligible_says_why_and_makes_no_ticket(
    app: Any, days_ago: int, opened: bool, why: str
) -> None:
    order_id = _order(app, days_ago=days_ago, opened=opened)
    sender = _sender()
    tracker = _form_turn(sender, order_id, "这个能退吗")
    messages, events = await _run(ActionOrderAnswer(), tracker)
    assert len(messages) == 1 and why in messages[0]["text"]
    assert events == []
    # A "yes" that arrives anyway (an old offer, a stray affirm) still creates nothing.
    dispatcher = CollectingDispatcher()
    on_ticket_confirm(tracker, dispatcher, True)
    assert why in dispatcher.messages[0]["text"]
    assert aftersales_for(app).tickets.open_for_order(order_id) is None


async def test_a_quality_problem_uses_the_longer_window_even_when_opened(app: Any) -> None:
    order_id = _order(app, days_ago=12, opened=True)
    sender = _sender()
    request = "面霜收到就破损了,漏了一半"
    tracker = _tracker(
        sender, "尾号3821", intent="inform", earlier=[request], slots=_verified(order_id)
    )
    messages, events = await _run(ActionOrderAnswer(), tracker)
    assert "质量问题售后期内" in messages[0]["text"]
    assert messages[-1]["text"] == "要我帮你提交质量问题售后申请吗?"
    dispatcher = CollectingDispatcher()
    on_ticket_confirm(tracker, dispatcher, True)
    ticket = aftersales_for(app).tickets.open_for_order(order_id)
    assert ticket.kind == "quality" and ticket.reason == request
    assert "照片" in dispatcher.messages[0]["text"]


async def test_the_returns_question_of_a_verified_shopper_offers_a_ticket_in_english(
    app: Any,
) -> None:
    order_id = _order(app, days_ago=1)
    tracker = _tracker(_sender(), "can I return my order?", slots=_verified(order_id))
    messages, events = await _run(ActionAnswerReturn(), tracker)
    assert messages[-1]["text"] == "Shall I submit a return request for you?"
    assert SlotSet("awaiting", "return_ticket") in events


async def test_no_means_nothing_is_submitted(app: Any) -> None:
    order_id = _order(app)
    dispatcher = CollectingDispatcher()
    tracker = _tracker(_sender(), "算了", earlier=["我要退货"], slots=_verified(order_id))
    events = on_ticket_confirm(tracker, dispatcher, False)
    assert dispatcher.messages[0]["text"] == "好的,先不提交。需要时随时告诉我。"
    assert events == [SlotSet("awaiting", None)]
    assert aftersales_for(app).tickets.open_for_order(order_id) is None


async def test_yes_without_a_verified_order_asks_for_it(app: Any) -> None:
    dispatcher = CollectingDispatcher()
    on_ticket_confirm(_tracker(_sender(), "好"), dispatcher, True)
    assert "订单号" in dispatcher.messages[0]["text"]


# ------------------------------------------------------------------ status
def _ticket_for(app: Any, sender: str) -> str:
    order_id = _order(app)
    tracker = _tracker(sender, "好", earlier=["退货"], slots=_verified(order_id))
    events = on_ticket_confirm(tracker, CollectingDispatcher(), True)
    return next(e["value"] for e in events if e["name"] == "last_ticket_id")


async def test_status_of_my_latest_ticket_with_the_staff_note(app: Any) -> None:
    user = uuid.uuid4().hex[:10]
    ticket_id = _ticket_for(app, _sender(user))
    aftersales_for(app).tickets.set_status(
        ticket_id, "reviewing", actor="anna", note="已收到照片,正在核实"
    )
    # Asked from another group: the same person, so the same tickets.
    messages, events = await _run(
        ActionTicketStatus(),
        _tracker(_sender(user, chat="g2"), "我的售后进度", intent="ticket_status"),
    )
    (reply,) = messages
    assert ticket_id in reply["text"] and "审核中" in reply["text"]
    assert "已收到照片,正在核实" in reply["text"]
    assert _private(reply)
    assert events == [SlotSet("last_ticket_id", ticket_id)]


async def test_status_by_ticket_id_only_for_its_own_shopper(app: Any) -> None:
    owner, other = _sender(), _sender()
    ticket_id = _ticket_for(app, owner)
    messages, _ = await _run(
        ActionTicketStatus(),
        _status_tracker(owner, f"status of my return {ticket_id.lower()}"),
    )
    assert ticket_id in messages[0]["text"] and "waiting for review" in messages[0]["text"]
    # Someone else naming the id learns nothing about it, not even its order.
    messages, events = await _run(
        ActionTicketStatus(),
        _tracker(other, f"退货申请 {ticket_id} 怎么样了", intent="ticket_status"),
    )
    (reply,) = messages
    assert "没有找到售后单" in reply["text"]
    order_id = aftersales_for(app).tickets.get(ticket_id).order_id
    assert order_id not in reply["text"] and events == []
    # Nor through a remembered slot, nor as "their latest".
    messages, _ = await _run(
        ActionTicketStatus(),
        _tracker(
            other, "退货申请怎么样了", intent="ticket_status", slots={"last_ticket_id": ticket_id}
        ),
    )
    assert "没有查到你的售后申请" in messages[0]["text"]


# ------------------------------------------------------------------ photos
@pytest.fixture
def web_chat() -> WebConnector:
    connector = WebConnector(chat=None)  # type: ignore[arg-type] - only uploads are used
    media_fetchers.register("web", connector.fetch_media)
    return connector


def _photo_tracker(sender: str, attachments: list[dict[str, Any]]) -> Tracker:
    metadata = {"platform": "web", "attachments": attachments}
    return _tracker(sender, "/send_photo", intent="send_photo", metadata=metadata)


async def test_a_photo_is_stored_with_the_shoppers_open_ticket(
    app: Any, web_chat: WebConnector
) -> None:
    sender = _sender()
    ticket_id = _ticket_for(app, sender)
    upload = web_chat._keep_upload(base64.b64encode(JPEG).decode())
    messages, events = await _run(ActionAttachPhoto(), _photo_tracker(sender, [upload]))
    assert _texts(messages) == [f"收到 1 张照片,已附在售后单 {ticket_id} 上,工作人员审核时会看到。"]
    tickets = aftersales_for(app).tickets
    (photo,) = tickets.photos(ticket_id)
    assert tickets.photo_path(photo).read_bytes() == JPEG
    assert photo.source == "web"
    assert events == [SlotSet("last_ticket_id", ticket_id)]


async def test_a_photo_without_a_ticket_asks_for_the_order_first(
    app: Any, web_chat: WebConnector
) -> None:
    upload = web_chat._keep_upload(base64.b64encode(JPEG).decode())
    messages, _ = await _run(ActionAttachPhoto(), _photo_tracker(_sender(), [upload]))
    assert _texts(messages) == [
        "先告诉我订单号和下单手机后4位,我帮你提交售后申请后,照片会附在申请上。"
    ]


async def test_a_file_that_is_not_an_image_is_refused_clearly(app: Any) -> None:
    # A platform may label a document an image; the bytes decide.
    served = {"doc-1": PDF}

    async def fetch(attachment: Any) -> bytes:
        return served[attachment["ref"]]

    media_fetchers.register("testfiles", fetch)
    sender = _sender()
    ticket_id = _ticket_for(app, sender)
    metadata = {"platform": "testfiles", "attachments": [{"kind": "image", "ref": "doc-1"}]}
    tracker = _tracker(sender, "/send_photo", intent="send_photo", metadata=metadata)
    messages, _ = await _run(ActionAttachPhoto(), tracker)
    assert _texts(messages) == ["这个文件不是图片,请发送 JPG、PNG 等格式的商品照片。"]
    assert aftersales_for(app).tickets.photos(ticket_id) == []


async def test_a_photo_that_cannot_be_fetched_asks_to_send_it_again(
    app: Any, web_chat: WebConnector
) -> None:
    sender = _sender()
    _ticket_for(app, sender)
    gone = {"kind": "image", "ref": "no-such-upload"}
    messages, _ = await _run(ActionAttachPhoto(), _photo_tracker(sender, [gone]))
    assert _texts(messages) == ["照片没能收到,请稍后重新发送一次。"]

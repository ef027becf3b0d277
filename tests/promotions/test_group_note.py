"""A coupon code goes to the shopper alone; the group sees the action's own short note."""

from __future__ import annotations

from pathlib import Path

from assistant.groupchat.inbox import MessageInbox
from assistant.groupchat.pipeline import ChatRules, GroupChat
from assistant.messages import IncomingMessage
from assistant.rasa_client import RasaClient
from assistant.texts import text


def test_the_group_sees_the_actions_note_instead_of_the_order_pointer(tmp_path: Path) -> None:
    chat = GroupChat(
        RasaClient("http://127.0.0.1:9"),  # never called: the replies are given below
        MessageInbox(f"sqlite:///{tmp_path / 'inbox.db'}"),
        ChatRules(assistant_names=("澜屿小助手",)),
    )
    message = IncomingMessage("web", "g1", "group", "amy", "小林", "@澜屿小助手 领券", "m1")
    note = "领取成功！券码已私信发给你，请查收~"
    coupon = {"text": "券码 7K3M9Q2P", "custom": {"private": True, "group_note": note}}
    order = {"text": "订单 DD1 已发货", "custom": {"private": True}}

    coupon_replies = chat._route(message, [coupon], "zh")
    order_replies = chat._route(message, [order], "zh")

    private, pointer = coupon_replies
    assert private.private and private.text == "券码 7K3M9Q2P"
    assert not pointer.private and pointer.text == note and "7K3M9Q2P" not in pointer.text
    assert order_replies[1].text == text("private_pointer", "zh")  # other actions: as before

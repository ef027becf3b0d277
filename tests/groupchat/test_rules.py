"""Rate limits, product questions without a mention, retries of outgoing sends, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import MissingEnvironment, expand_env
from assistant.connectors.base import Connector, DeliveryFailed
from assistant.connectors.delivery import Delivery, RetryPolicy
from assistant.connectors.registry import ConnectorConfigError, build_connector
from assistant.groupchat.addressing import is_addressed
from assistant.groupchat.inbox import MessageInbox
from assistant.groupchat.ratelimit import Limit, RateLimiter, RateLimits, Verdict
from assistant.messages import IncomingMessage, OutgoingReply


def message(text: str = "hi", *, sender: str = "u1", chat: str = "g1") -> IncomingMessage:
    return IncomingMessage(
        platform="test",
        chat_id=chat,
        chat_type="group",
        sender_id=sender,
        sender_name=sender,
        text=text,
        message_id=f"{sender}-{text}",
        mentions_assistant=True,
        context={"reply_token": "abc"},
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flooding_shopper_is_told_once_then_ignored_and_others_still_answered() -> None:
    clock = Clock()
    limiter = RateLimiter(
        RateLimits(
            per_shopper=Limit(messages=3, seconds=60), per_group=Limit(messages=100, seconds=60)
        ),
        clock,
    )
    verdicts = [limiter.check(message(sender="flood")) for _ in range(6)]
    assert verdicts[:3] == [Verdict.ALLOWED] * 3
    assert verdicts[3] is Verdict.NOTIFY
    assert verdicts[4:] == [Verdict.SILENT] * 2
    assert limiter.check(message(sender="calm")) is Verdict.ALLOWED
    clock.now = 61.0  # the window has passed: answered again, and told again next time
    assert limiter.check(message(sender="flood")) is Verdict.ALLOWED


def test_a_busy_group_is_limited_as_a_whole() -> None:
    limiter = RateLimiter(
        RateLimits(
            per_shopper=Limit(messages=10, seconds=60), per_group=Limit(messages=4, seconds=60)
        ),
        Clock(),
    )
    allowed = [limiter.check(message(sender=f"u{i}")) for i in range(6)]
    assert allowed.count(Verdict.ALLOWED) == 4
    assert limiter.check(message(sender="u9", chat="other-group")) is Verdict.ALLOWED


def test_product_questions_can_be_answered_without_a_mention_where_the_group_allows() -> None:
    unmentioned = IncomingMessage(
        platform="test",
        chat_id="g",
        chat_type="group",
        sender_id="u",
        sender_name="u",
        text="油皮用哪款洗面奶?",
        message_id="1",
    )
    assert not is_addressed(unmentioned, [])
    assert is_addressed(unmentioned, [], product_questions=True)
    chatter = IncomingMessage(
        **{**unmentioned.to_json(), "text": "大家晚上好", "received_at": unmentioned.received_at}
    )
    assert not is_addressed(chatter, [], product_questions=True)
    english = IncomingMessage(
        **{
            **unmentioned.to_json(),
            "text": "which sunscreen is good for oily skin?",
            "received_at": unmentioned.received_at,
        }
    )
    assert is_addressed(english, [], product_questions=True)


def test_a_message_survives_the_inbox_with_its_reply_context(tmp_path: Path) -> None:
    inbox = MessageInbox(f"sqlite:///{tmp_path / 'inbox.db'}")
    original = message("在吗")
    assert inbox.record(original)
    assert inbox.pending() == [original]
    inbox.mark_answered(original, ["在的"])
    assert inbox.pending() == []


class FlakyConnector(Connector):
    name = "flaky"

    def __init__(self, failures: list[DeliveryFailed]) -> None:
        super().__init__(Connector.settings_model())
        self.failures = failures
        self.sent: list[OutgoingReply] = []

    async def send(self, reply: OutgoingReply) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(reply)


def reply(body: str = "你好") -> OutgoingReply:
    return OutgoingReply("flaky", "g1", "u1", "Lin", body)


async def test_sends_are_retried_on_5xx_and_429_and_delivered_once(tmp_path: Path) -> None:
    inbox = MessageInbox(f"sqlite:///{tmp_path / 'inbox.db'}")
    delivery = Delivery(inbox.engine, RetryPolicy(attempts=4, base_seconds=0.001))
    connector = FlakyConnector(
        [
            DeliveryFailed("HTTP 502", retryable=True),
            DeliveryFailed("HTTP 429", retryable=True, retry_after=0.01),
        ]
    )
    assert await delivery.send(connector, reply())
    assert [r.text for r in connector.sent] == ["你好"]
    assert delivery.undelivered() == []


async def test_a_reply_that_never_arrives_is_recorded_for_staff(tmp_path: Path) -> None:
    inbox = MessageInbox(f"sqlite:///{tmp_path / 'inbox.db'}")
    delivery = Delivery(inbox.engine, RetryPolicy(attempts=3, base_seconds=0.001))
    permanent = FlakyConnector([DeliveryFailed("HTTP 403 blocked", retryable=False)])
    assert not await delivery.send(permanent, reply("私信内容"))
    flaky = FlakyConnector([DeliveryFailed("timeout", retryable=True)] * 5)
    assert not await delivery.send(flaky, reply("群回复"))
    records = delivery.undelivered()
    assert [(r["text"], r["attempts"]) for r in records] == [("私信内容", 1), ("群回复", 3)]
    assert "403" in records[0]["error"]


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_BOT_TOKEN", "t0ken")
    assert expand_env({"token": "${SHOP_BOT_TOKEN}", "n": 3}) == {"token": "t0ken", "n": 3}
    assert expand_env("${NOT_SET_ANYWHERE:-fallback}") == "fallback"
    monkeypatch.delenv("SHOP_BOT_TOKEN")
    with pytest.raises(MissingEnvironment, match="SHOP_BOT_TOKEN"):
        expand_env("${SHOP_BOT_TOKEN}")


def test_connector_settings_problems_are_named() -> None:
    with pytest.raises(ConnectorConfigError, match="unknown connector 'wechat_personal'"):
        build_connector("wechat_personal", {})

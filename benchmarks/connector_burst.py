"""Connector + group layer: overhead per message, and a burst with platform retries.

Run: .venv-app/bin/python benchmarks/connector_burst.py [--messages 200 --shoppers 50 \
        --groups 20 --retry-rate 0.1 --window 2 --overhead 300]

Rasa is replaced by a fixed local stub here (and only here), so the figures are the cost of what
this project adds around it: webhook verification and parsing (Telegram and LINE, signed as the
platforms sign), addressing, rate limits, the SQLite inbox (dedup + no loss), background
answering, privacy routing and the outgoing send to a local fake platform API.

* overhead: one message at a time; time from the webhook POST until the reply reaches the fake
  platform, and the acknowledgement time the platform sees.
* burst: ``--messages`` messages from ``--shoppers`` shoppers across ``--groups`` groups, half on
  each platform, posted within ``--window`` seconds, plus ``--retry-rate`` re-deliveries of
  already-sent messages. Every message must be answered exactly once and none lost.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.connectors.delivery import Delivery  # noqa: E402
from assistant.connectors.gateway import webhook_routes  # noqa: E402
from assistant.connectors.line import LineConnector, LineSettings  # noqa: E402
from assistant.connectors.telegram import TelegramConnector, TelegramSettings  # noqa: E402
from assistant.groupchat.inbox import MessageInbox  # noqa: E402
from assistant.groupchat.pipeline import ChatRules, GroupChat  # noqa: E402
from assistant.groupchat.ratelimit import RateLimits  # noqa: E402
from assistant.rasa_client import RasaClient  # noqa: E402
from tests.connectors.harness import FakePlatform  # noqa: E402

TG_TOKEN = "7012345678:AAHbenchTokenForTheBurstBenchmark01"
TG_SECRET = "bench-secret"
TG_BOT = "LanyuHelperBot"
LINE_SECRET = "0123456789abcdef0123456789abcdef"
LINE_BOT = "U" + "b0" * 16
MARK = re.compile(r"\bm(\d+)\b")


# ---------------------------------------------------------------------- stub Rasa
async def stub_rasa() -> TestServer:
    """Answers every message at once with one line echoing its marker."""

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        marker = MARK.search(body["message"])
        return web.json_response(
            [{"recipient_id": body["sender"], "text": f"收到 {marker.group(0) if marker else ''}"}]
        )

    app = web.Application()
    app.router.add_post("/webhooks/gateway/webhook", webhook)
    server = TestServer(app)
    await server.start_server()
    return server


# ---------------------------------------------------------------------- fake platforms
class Arrivals:
    """When each message's reply reached the fake platform (by the marker in its text)."""

    def __init__(self) -> None:
        self.times: dict[int, list[float]] = {}
        self.events: dict[int, asyncio.Event] = {}

    def record(self, text: str) -> None:
        now = time.perf_counter()
        for found in MARK.finditer(text):
            n = int(found.group(1))
            self.times.setdefault(n, []).append(now)
            self.events.setdefault(n, asyncio.Event()).set()

    async def wait(self, n: int, timeout: float = 30.0) -> float:
        event = self.events.setdefault(n, asyncio.Event())
        await asyncio.wait_for(event.wait(), timeout)
        return self.times[n][0]


def fake_platform_routes(fake: FakePlatform, arrivals: Arrivals) -> None:
    sent = Counter[str]()

    async def telegram_send(request: web.Request) -> web.Response:
        fields = dict(await request.post())
        arrivals.record(str(fields["text"]))
        sent["telegram"] += 1
        result = {
            "message_id": 9000 + sent["telegram"],
            "date": int(time.time()),
            "chat": {"id": int(str(fields["chat_id"])), "type": "supergroup", "title": "g"},
            "from": {"id": 7012345678, "is_bot": True, "first_name": "bot", "username": TG_BOT},
            "text": str(fields["text"]),
        }
        return web.json_response({"ok": True, "result": result})

    async def line_send(request: web.Request) -> web.Response:
        body = await request.json()
        for message in body["messages"]:
            arrivals.record(str(message.get("text", "")))
        return web.json_response({"sentMessages": [{"id": uuid.uuid4().hex[:18]}]})

    prefix = f"/bot{TG_TOKEN}"
    fake.route("POST", f"{prefix}/sendMessage", telegram_send)
    fake.route("POST", f"{prefix}/getMe", {"ok": True, "result": {"id": 7012345678}})
    fake.route("POST", "/v2/bot/message/reply", line_send)
    fake.route("POST", "/v2/bot/message/push", line_send)


# ---------------------------------------------------------------------- signed webhooks
@dataclass(frozen=True)
class Shopper:
    platform: str
    group: str
    user: str
    name: str


def telegram_request(shopper: Shopper, n: int) -> tuple[str, dict[str, str], bytes]:
    text = f"@{TG_BOT} 这款适合油皮吗 m{n}"
    update = {
        "update_id": 100_000 + n,
        "message": {
            "message_id": n,
            "date": int(time.time()),
            "chat": {"id": int(shopper.group), "type": "supergroup", "title": "会员群"},
            "from": {"id": int(shopper.user), "is_bot": False, "first_name": shopper.name},
            "text": text,
            "entities": [{"type": "mention", "offset": 0, "length": len(TG_BOT) + 1}],
        },
    }
    body = json.dumps(update, ensure_ascii=False).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
    return "/webhooks/telegram", headers, body


def line_request(shopper: Shopper, n: int) -> tuple[str, dict[str, str], bytes]:
    text = f"@澜屿小助手 which cleanser for oily skin m{n}"
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "group", "groupId": shopper.group, "userId": shopper.user},
        "webhookEventId": f"01BENCH{n:019d}",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "message": {
            "type": "text",
            "id": str(10**17 + n),
            "quoteToken": "q" + uuid.uuid4().hex,
            "text": text,
            "mention": {
                "mentionees": [
                    {"index": 0, "length": 6, "type": "user", "userId": LINE_BOT, "isSelf": True}
                ]
            },
        },
    }
    body = json.dumps({"destination": LINE_BOT, "events": [event]}, ensure_ascii=False).encode()
    signature = base64.b64encode(hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest())
    headers = {"X-Line-Signature": signature.decode(), "Content-Type": "application/json"}
    return "/webhooks/line", headers, body


def request_for(shopper: Shopper, n: int) -> tuple[str, dict[str, str], bytes]:
    return (telegram_request if shopper.platform == "telegram" else line_request)(shopper, n)


def shoppers(count: int, groups: int, rng: random.Random, phase: int) -> list[Shopper]:
    """``count`` shoppers spread over ``groups`` groups; even groups on Telegram, odd on LINE.
    Each ``phase`` has its own people, so one phase never uses up the next one's rate limits."""
    people = []
    for i in range(count):
        g = i % groups
        uid, gid = phase * 100_000 + i, phase * 100_000 + g
        if g % 2 == 0:
            people.append(Shopper("telegram", str(-(10**12) - gid), str(10**9 + uid), f"顾客{i}"))
        else:
            people.append(Shopper("line", f"C{gid:032x}", f"U{uid:032x}", f"shopper{i}"))
    rng.shuffle(people)
    return people


# ---------------------------------------------------------------------- the system under test
async def start_app(data_dir: Path, rasa_url: str, api_base: str) -> tuple[TestServer, GroupChat]:
    telegram = TelegramConnector(
        TelegramSettings(
            api_base=api_base, bot_token=TG_TOKEN, secret_token=TG_SECRET, bot_username=TG_BOT
        )
    )
    line = LineConnector(
        LineSettings(
            api_base=api_base, channel_secret=LINE_SECRET, channel_access_token="bench-token"
        )
    )
    connectors = {c.name: c for c in (telegram, line)}
    inbox = MessageInbox(f"sqlite:///{data_dir / 'inbox.db'}")
    rules = ChatRules(
        assistant_names=("澜屿小助手", "assistant"),
        rate_limits=RateLimits(),  # the defaults: 12 per shopper, 120 per group a minute
    )
    chat = GroupChat(
        RasaClient(rasa_url), inbox, rules, connectors=connectors, delivery=Delivery(inbox.engine)
    )
    app = web.Application()
    app.add_routes(webhook_routes(connectors, chat))
    server = TestServer(app)
    await server.start_server()
    await chat.start()
    return server, chat


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def overhead(
    http: aiohttp.ClientSession,
    app_url: str,
    arrivals: Arrivals,
    count: int,
    rng: random.Random,
    phase: int,
) -> dict[str, float]:
    # Enough shoppers that none passes the default limit of 12 messages a minute.
    people = shoppers(max(10, count // 8), max(2, count // 80), rng, phase)
    totals, acks = [], []
    for i in range(count):
        n = phase * 1_000_000 + i
        path, headers, body = request_for(people[i % len(people)], n)
        started = time.perf_counter()
        async with http.post(app_url + path, data=body, headers=headers) as response:
            assert response.status == 200, await response.text()
        acks.append(time.perf_counter() - started)
        arrived = await arrivals.wait(n)
        totals.append(arrived - started)
    return {
        "p50_ms": statistics.median(totals) * 1000,
        "p95_ms": percentile(totals, 95) * 1000,
        "ack_p95_ms": percentile(acks, 95) * 1000,
    }


async def burst(
    http: aiohttp.ClientSession,
    app_url: str,
    arrivals: Arrivals,
    chat: GroupChat,
    args: argparse.Namespace,
    rng: random.Random,
) -> dict[str, Any]:
    people = shoppers(args.shoppers, args.groups, rng, phase=0)
    plan: list[tuple[float, int, Shopper]] = []
    for i in range(args.messages):
        plan.append((rng.uniform(0, args.window), i, people[i % len(people)]))
    originals = list(plan)
    retries = rng.sample(originals, round(args.retry_rate * args.messages))
    for at, n, shopper in retries:  # the platform re-delivers within a second or so
        plan.append((min(args.window, at + rng.uniform(0.05, 1.0)), n, shopper))
    plan.sort()
    requests = {n: request_for(shopper, n) for _, n, shopper in originals}
    posted: dict[int, float] = {}
    statuses: Counter[int] = Counter()

    async def post(at: float, n: int) -> None:
        await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
        path, headers, body = requests[n]
        posted.setdefault(n, time.perf_counter())
        async with http.post(app_url + path, data=body, headers=headers) as response:
            statuses[response.status] += 1

    start = time.perf_counter()
    await asyncio.gather(*(post(at, n) for at, n, _ in plan))
    posted_in = time.perf_counter() - start
    await asyncio.gather(*(arrivals.wait(n, 60) for _, n, _ in originals))
    drained = time.perf_counter() - start
    await chat.drain(60)
    await asyncio.sleep(1.0)  # any double answer would arrive by now
    latencies = [arrivals.times[n][0] - posted[n] for _, n, _ in originals]
    answered = Counter(len(arrivals.times.get(n, [])) for _, n, _ in originals)
    return {
        "requests": len(plan),
        "retries": len(retries),
        "statuses": dict(statuses),
        "posted_in_s": posted_in,
        "answered_once": answered.get(1, 0),
        "answered_twice_or_more": sum(v for k, v in answered.items() if k > 1),
        "lost": answered.get(0, 0),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "drain_s": drained,
        "undelivered": len(chat.delivery.undelivered()) if chat.delivery else 0,
    }


async def main_async(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    rasa = await stub_rasa()
    fake, arrivals = FakePlatform(), Arrivals()
    fake_platform_routes(fake, arrivals)
    api_base = await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        server, chat = await start_app(Path(tmp), str(rasa.make_url("")).rstrip("/"), api_base)
        app_url = str(server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession() as http:
            await overhead(http, app_url, arrivals, 20, rng, phase=1)  # connections, caches
            over = await overhead(http, app_url, arrivals, args.overhead, rng, phase=2)
            result = await burst(http, app_url, arrivals, chat, args, rng)
        await chat.stop()
        for connector in chat.connectors.values():
            await connector.close()
        await chat.rasa.close()
        await server.close()
    await fake.close()
    await rasa.close()

    print(f"\nConnector + group layer (Telegram and LINE webhooks, stub Rasa) — {time.ctime()}")
    print(
        f"overhead, {args.overhead} messages one at a time: p50 {over['p50_ms']:.2f} ms, "
        f"p95 {over['p95_ms']:.2f} ms (webhook POST → reply at the platform API); "
        f"acknowledgement p95 {over['ack_p95_ms']:.2f} ms"
    )
    print(
        f"burst: {args.messages} messages from {args.shoppers} shoppers in {args.groups} groups "
        f"+ {result['retries']} platform retries = {result['requests']} requests posted in "
        f"{result['posted_in_s']:.2f} s (HTTP {result['statuses']})"
    )
    print(
        f"  answered exactly once: {result['answered_once']}/{args.messages}, twice or more: "
        f"{result['answered_twice_or_more']}, lost: {result['lost']}, undelivered: "
        f"{result['undelivered']}"
    )
    print(
        f"  end to end p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms; "
        f"drained {result['drain_s']:.2f} s after the first request"
    )
    ok = (
        result["answered_once"] == args.messages
        and result["lost"] == 0
        and result["answered_twice_or_more"] == 0
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--shoppers", type=int, default=50)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--retry-rate", type=float, default=0.1)
    parser.add_argument("--window", type=float, default=2.0, help="seconds the burst spans")
    parser.add_argument("--overhead", type=int, default=300, help="messages one at a time")
    parser.add_argument("--seed", type=int, default=5)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())

"""Start the real system for tests: Rasa (trained model) + the app, on free ports, fresh data."""

from __future__ import annotations

import json
import shutil
import socket
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from assistant.commerce.models import LogisticsEvent, Order, OrderItem
from assistant.commerce.sql import SqlCommerce
from assistant.config import REPO_ROOT, Settings, load_settings
from assistant.launcher import Stack, start_stack
from assistant.training import ensure_trained


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class KnownOrder:
    """An order the tests know the answer for: id, phone digits, status."""

    order_id: str
    digits: str
    status: str


def known_orders(now: datetime) -> tuple[list[Order], dict[str, KnownOrder]]:
    """Fixed orders (ids independent of today's date) the journeys and test stories use."""
    china = timezone(timedelta(hours=8))
    item = OrderItem("LY-SE-001", "测试精华", "Test serum", 1, Decimal("199.00"))

    def order(
        order_id: str,
        phone: str,
        status: str,
        delivered_days_ago: int | None,
    ) -> Order:
        shipped_days_ago = 5 if delivered_days_ago is None else delivered_days_ago + 2
        created = now - timedelta(days=shipped_days_ago + 1)
        shipped = now - timedelta(days=shipped_days_ago)
        events = [
            LogisticsEvent(
                shipped,
                "collected",
                "【杭州市】顺丰速运 已揽收",
                "Picked up by SF Express in Hangzhou",
                "杭州",
            )
        ]
        delivered = None
        if delivered_days_ago is not None:
            delivered = now - timedelta(days=delivered_days_ago)
            events.append(
                LogisticsEvent(
                    delivered,
                    "delivered",
                    "【成都市】已签收,本人签收",
                    "Delivered in Chengdu, signed by the recipient",
                    "成都",
                )
            )
        else:
            events.append(
                LogisticsEvent(
                    shipped + timedelta(hours=20),
                    "in_transit",
                    "快件已到达【武汉转运中心】",
                    "Arrived at the Wuhan sorting centre",
                    "武汉",
                )
            )
        return Order(
            order_id=order_id,
            status=status,
            created_at=created.astimezone(china),
            paid_at=created,
            shipped_at=shipped,
            delivered_at=delivered,
            courier="顺丰速运",
            tracking_no="SF1234567890123",
            items=(item,),
            events=tuple(events),
            total=Decimal("199.00"),
            phone=phone,
        )

    rows = {
        "recent": ("DD202511180042", "13800003821", "delivered", 2),
        "old": ("DD202510020007", "13912345678", "delivered", 40),
        "transit": ("DD202511200015", "13700001234", "shipped", None),
        "spare1": ("DD202511210101", "13600002468", "delivered", 1),
        "spare2": ("DD202511210102", "13500001357", "shipped", None),
        # Wrong digits are tried on this one until it locks; no other test may use it.
        "guarded": ("DD202511210103", "13300009876", "delivered", 3),
    }
    orders, known = [], {}
    for key, (order_id, phone, status, days) in rows.items():
        orders.append(order(order_id, phone, status, days))
        known[key] = KnownOrder(order_id, phone[-4:], status)
    return orders, known


@dataclass
class RunningSystem:
    """Addresses of the running stack and what the tests need to check behaviour."""

    settings: Settings
    app_url: str
    rasa_url: str
    stack: Stack
    orders: dict[str, KnownOrder]

    def chat(
        self, user_id: str, text: str, *, user_name: str | None = None, chat_id: str = "g-test"
    ) -> list[dict[str, Any]]:
        body = {
            "chat_id": chat_id,
            "user_id": user_id,
            "user_name": user_name or user_id,
            "text": text,
        }
        status, answer = self.post("/api/chat/send", body)
        assert status == 200, answer
        return answer["replies"]

    def post(self, path: str, body: Any, *, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.app_url + path,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def commerce(self) -> SqlCommerce:
        return SqlCommerce(self.settings.commerce_url)


def sqlite_tracker_store(data_dir: Path) -> str:
    """The demo's tracker store (endpoints.yml), in this run's data directory."""
    return f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {data_dir / 'tracker.db'}\n"


ROSE_KNOWLEDGE = Path(__file__).resolve().parent / "data" / "knowledge-rose"
ROSE_GROUP = "rose-vip"


def write_config(data_dir: Path) -> Path:
    """The demo's settings plus a second brand, "rose", that only the rose-vip group sees."""
    rose = data_dir / "knowledge-rose"
    shutil.copytree(ROSE_KNOWLEDGE, rose, dirs_exist_ok=True)
    config = data_dir / "assistant.yml"
    raw = yaml.safe_load((REPO_ROOT / "assistant.yml").read_text(encoding="utf-8"))
    raw["knowledge"]["directory"] = str(REPO_ROOT / "knowledge")
    raw["knowledge"]["bases"] = {"rose": {"directory": str(rose)}}
    raw["knowledge"]["groups"] = {f"web:{ROSE_GROUP}": "rose"}
    # Every test and benchmark talks in a few groups at machine speed: no rate limiting here
    # (the limiter has its own tests).
    raw.setdefault("chat", {})["rate_limits"] = {
        "per_shopper": {"messages": 100_000, "seconds": 1},
        "per_group": {"messages": 100_000, "seconds": 1},
    }
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return config


def start_system(
    data_dir: Path, *, endpoints_extra: str | None = None, env: dict[str, str] | None = None
) -> RunningSystem:
    """Rasa + app on free ports; ``endpoints_extra`` replaces the tracker/lock store section."""
    data_dir.mkdir(parents=True, exist_ok=True)
    app_port, rasa_port = free_port(), free_port()
    config = write_config(data_dir)
    settings = load_settings(config, data_dir=data_dir, port=app_port)
    settings.data_dir = data_dir
    orders, known = known_orders(datetime.now(timezone.utc))
    store = SqlCommerce(settings.commerce_url)
    store.add_orders(orders)
    store.close()
    endpoints = data_dir / "endpoints.yml"
    extra = sqlite_tracker_store(data_dir) if endpoints_extra is None else endpoints_extra
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{app_port}/webhook"\n{extra}',
        encoding="utf-8",
    )
    stack = start_stack(
        settings,
        ensure_trained(),
        rasa_port=rasa_port,
        endpoints=endpoints,
        env={"SIYU_CONFIG": str(config), **(env or {})},
    )
    return RunningSystem(
        settings, f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{rasa_port}", stack, known
    )

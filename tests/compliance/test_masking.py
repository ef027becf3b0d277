"""Personal data masking: what is masked, what is never mistaken for it, and every log line."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from assistant.compliance.masking import mask_value, mask_with_kinds
from assistant.logs import JsonFormatter, PersonalDataFilter


@pytest.mark.parametrize(
    ("raw", "masked", "kind"),
    [
        ("我的手机13800003821", "我的手机138****3821", "mobile"),
        ("call +86 139-1234-5678 please", "call 139****5678 please", "mobile"),
        ("电话:138 0000 3821。", "电话:138****3821。", "mobile"),
        ("身份证110101199003071234", "身份证110***********1234", "id_card"),
        ("ID 44030619851231002X.", "ID 440***********002X.", "id_card"),
        ("邮箱 zhang.wei+shop@example.com.cn 收", "邮箱 z***@example.com.cn 收", "email"),
        (
            "寄到浙江省杭州市西湖区文三路123号5幢501室,谢谢",
            "寄到浙江省杭州市西湖区****,谢谢",
            "address",
        ),
        ("上海市浦东新区世纪大道100号", "上海市浦东新区****", "address"),
        ("广东省深圳市南山区科技园南路 8-2 号 A 座", "广东省深圳市南山区**** A 座", "address"),
        ("北京市朝阳区建国路88号", "北京市朝阳区****", "address"),
    ],
)
def test_personal_data_is_masked(raw: str, masked: str, kind: str) -> None:
    assert mask_with_kinds(raw) == (masked, [kind])


@pytest.mark.parametrize(
    "kept",
    [
        "订单 DD202511200015 当前状态:已发货",
        "顺丰速运 SF1234567890123",
        "顺丰 SF13800003821 (a tracking number that looks like a phone)",
        "订单号 202511180042",
        "¥368/50ml,2025-11-20 13:45 已揽收",
        "138000038211 is not a mobile (12 digits)",
        "@澜屿小助手 这款适合油皮吗",
        "【杭州市】顺丰速运 已揽收;快件已到达【武汉转运中心】",
        "每天1-2次,连续观察3天",
    ],
)
def test_codes_and_ordinary_text_are_not_masked(kept: str) -> None:
    assert mask_with_kinds(kept) == (kept, [])


def test_nested_values_are_masked() -> None:
    value = {"a": ["13800003821", ("x@y.com",)], "n": 3, "s": "ok"}
    assert mask_value(value) == {"a": ["138****3821", ["x***@y.com"]], "n": 3, "s": "ok"}


def log_line(handler: logging.Handler, stream: io.StringIO, *args: object, **extra: object) -> str:
    logger = logging.getLogger("tests.compliance.masking")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.info(*args, extra=extra)  # type: ignore[arg-type]
    finally:
        logger.handlers[:] = []
    return stream.getvalue()


def test_every_json_log_line_is_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    line = log_line(
        handler,
        stream,
        "shopper wrote %s",
        "我的电话 13800003821",
        conversation_id="web:g1:u1",
        text="寄到北京市朝阳区建国路88号,邮箱 a.b@example.com",
        replies=["订单 DD202511200015 SF1234567890123", "身份证 110101199003071234"],
        path=Path("/orders/13800003821.json"),
    )
    entry = json.loads(line)
    assert entry["message"] == "shopper wrote 我的电话 138****3821"
    assert entry["text"] == "寄到北京市朝阳区****,邮箱 a***@example.com"
    assert entry["replies"] == ["订单 DD202511200015 SF1234567890123", "身份证 110***********1234"]
    assert entry["conversation_id"] == "web:g1:u1"
    assert entry["path"] == "/orders/138****3821.json"
    assert "13800003821" not in line and "88号" not in line


def test_tracebacks_are_masked_too() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.compliance.traceback")
    logger.handlers[:] = [handler]
    logger.propagate = False
    try:
        raise ValueError("bad phone 13800003821")
    except ValueError:
        logger.exception("failed")
    logger.handlers[:] = []
    assert "13800003821" not in stream.getvalue() and "138****3821" in stream.getvalue()


def test_the_filter_masks_records_for_plain_handlers() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(who)s"))
    handler.addFilter(PersonalDataFilter())
    line = log_line(handler, stream, "call %s", "13912345678", who="x@example.com")
    assert line.strip() == "call 139****5678 x***@example.com"

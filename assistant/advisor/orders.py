"""Order status and return eligibility, worded for the shopper in their language."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from assistant.commerce.models import Order
from assistant.commerce.returns import ReturnAssessment, ReturnRules, assess_return
from assistant.language import Language
from assistant.texts import text

CHINA_OFFSET_HOURS = 8

ORDER_STATUS: dict[str, dict[Language, str]] = {
    "pending_payment": {"zh": "待付款", "en": "awaiting payment"},
    "paid": {"zh": "已付款,待发货", "en": "paid and waiting to ship"},
    "shipped": {"zh": "已发货,运输中", "en": "shipped and on its way"},
    "delivered": {"zh": "已签收", "en": "delivered"},
    "cancelled": {"zh": "已取消", "en": "cancelled"},
    "returned": {"zh": "已退货", "en": "returned"},
}


def status_label(order: Order, language: Language) -> str:
    return ORDER_STATUS.get(order.status, {}).get(language, order.status)


def _local(moment: datetime) -> datetime:
    """Shoppers read dates in China time, whatever the server's zone."""
    return moment.astimezone(timezone(timedelta(hours=CHINA_OFFSET_HOURS)))


def order_status_text(order: Order, language: Language) -> str:
    """Status and the latest logistics event of a verified order."""
    event = order.latest_event
    if event is None:
        latest = text("order_no_events", language)
    else:
        courier = ""
        if order.courier and order.tracking_no:
            courier = (
                f"({order.courier} {order.tracking_no})"
                if language == "zh"
                else f" ({order.courier} {order.tracking_no})"
            )
        description = event.description_zh if language == "zh" else event.description_en
        latest = text(
            "order_latest_event",
            language,
            time=_local(event.time).strftime("%Y-%m-%d %H:%M"),
            event=description,
            courier=courier,
        )
    return text(
        "order_status",
        language,
        order_id=order.order_id,
        status=status_label(order, language),
        latest=latest,
    )


def return_text(order: Order, rules: ReturnRules, now: datetime, language: Language) -> str:
    """Whether a verified order can still be returned, and why."""
    assessment: ReturnAssessment = assess_return(order, rules, now)
    values = {"order_id": order.order_id, "status": status_label(order, language)}
    days_since = None
    if order.delivered_at is not None:
        days_since = (_local(now).date() - _local(order.delivered_at).date()).days
    if assessment.reason == "within_no_reason_window" and assessment.deadline is not None:
        last_day = _local(assessment.deadline - timedelta(seconds=1)).date().isoformat()
        return text(
            "return_eligible",
            language,
            days_since=days_since,
            deadline=last_day,
            days_left=assessment.days_left,
            **values,
        )
    if assessment.reason == "window_expired":
        return text(
            "return_expired",
            language,
            days_since=days_since,
            window=rules.no_reason_days,
            quality_days=rules.quality_issue_days,
            **values,
        )
    if assessment.reason == "opened":
        return text("return_opened", language, **values)
    if assessment.reason in ("not_delivered_yet", "not_paid"):
        return text("return_not_delivered", language, **values)
    return text("return_closed", language, **values)
